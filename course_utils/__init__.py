"""course_utils: the helper package of the Pix2Pix course.

The folders follow the flow of the work, each importing only those before it:

- ``course_utils.data``: ``pix2pix data fetch`` (``download``: pooch, sha256 manifests, mirrors),
  ``datasets.PairedImageDataset`` for the pix2pix A|B format, ``isbi`` (notebook 1's EM stacks)
  and ``images`` (the one list of image extensions).
- ``course_utils.models``: networks only. ``unet`` (Ronneberger et al. 2015), ``generator``
  (``define_G``, the Pix2Pix ``netG``), ``discriminator`` (``define_D``, the PatchGAN ``netD``),
  ``pix2pixhd``, ``spade``, ``srgan``, ``cyclegan``, ``vgg``, ``published`` (the authors' key
  names).
- ``course_utils.losses``: one ``GANLoss`` (bce, lsgan, hinge), Pix2Pix's equation 4, SRGAN's
  perceptual loss, feature matching, the VGG losses, cycle/identity, KL.
- ``course_utils.training``: ``train`` (the one loop), ``TrainConfig`` and ``config_from_preset``,
  checkpoints, ``export``, precision and execution, and ``recipes/``, one per model
  (``train_step``, presets, options). ``from course_utils.training import train_step`` works.
- ``course_utils.evaluation``: ``evaluate``/``translate``, ``metrics`` (the GcGAN protocol, PSNR,
  SSIM), ``palette`` (map-palette IoU), ``segmenter``, ``spectrum``, ``video``, ``architecture``.
- ``course_utils.grading``: the checks the notebooks' tests call (``check_close``...), their
  integrity snapshot, nbgrader's executor, ``pix2pix audit`` and ``pix2pix grade``.
- ``cli`` (the ``pix2pix`` command), ``demo`` (``make demo``), ``errors``, ``device``, ``paths``,
  ``notebook`` (fast mode) and ``results`` (measurement records).
"""

__version__ = "0.1.0"
