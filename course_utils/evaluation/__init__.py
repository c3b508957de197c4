"""Scoring and looking at generators: :mod:`~course_utils.evaluation.evaluate` (``evaluate``,
``translate``), :mod:`~course_utils.evaluation.metrics` (GcGAN protocol, PSNR, SSIM),
:mod:`~course_utils.evaluation.palette` (map and facades palettes, IoU),
:mod:`~course_utils.evaluation.segmenter` (facades FCN-style score),
:mod:`~course_utils.evaluation.spectrum`, :mod:`~course_utils.evaluation.video` and
:mod:`~course_utils.evaluation.architecture` (figures drawn from the networks)."""
