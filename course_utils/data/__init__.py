"""The data: ``pix2pix data fetch`` (:mod:`~course_utils.data.download`), the pix2pix A|B datasets
(:mod:`~course_utils.data.datasets`), the ISBI 2012 EM stacks (:mod:`~course_utils.data.isbi`) and
the one list of image extensions with the one image lister (:mod:`~course_utils.data.images`)."""
