"""course_utils: the helper package of the Pix2Pix course.

Where to find things:

- ``course_utils.models``: the networks. ``models.unet`` is the original U-Net
  (Ronneberger et al. 2015, notebook 1); ``models.generator`` the Pix2Pix U-Net
  generator ``netG`` (``define_G``); ``models.discriminator`` the PatchGAN ``netD``
  (``define_D``, ``receptive_field``).
- ``course_utils.losses``: the Pix2Pix objective (paper equations 1-4).
- ``course_utils.training.loop``: ``train_step``, the presets and the resumable training loop.
- ``course_utils.data.datasets``: ``PairedImageDataset`` for the pix2pix A|B format.
- ``course_utils.data.isbi``: the ISBI 2012 EM stacks for notebook 1.
- ``course_utils.data.download``: ``pix2pix data fetch`` (pooch, sha256 manifests, mirrors).
- ``course_utils.evaluation.evaluate`` / ``metrics`` / ``palette``: evaluation, the GcGAN
  protocol, the map-palette IoU, and ``translate``.
- ``course_utils.training.checkpoint``: atomic checkpoint files.
- ``course_utils.grading`` / ``notebook``: helpers for the notebooks' tests and fast mode.
- ``course_utils.cli``: the ``pix2pix`` command; ``course_utils.demo``: ``make demo``.
"""

__version__ = "0.1.0"
