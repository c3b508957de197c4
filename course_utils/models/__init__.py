"""Reference networks of the course.

- :mod:`course_utils.models.unet`: the original U-Net of Ronneberger et al.
  (2015), used in notebook 1 on the ISBI 2012 EM stacks.
- :mod:`course_utils.models.generator`: the Pix2Pix U-Net generator ``netG``
  (Isola et al. 2017, appendix 6.1.1) and :func:`define_G`.
- :mod:`course_utils.models.discriminator`: the conditional PatchGAN ``netD``
  (appendix 6.1.2), :func:`define_D` and :func:`receptive_field`.
- :mod:`course_utils.models.pix2pixhd`: Pix2PixHD (Wang et al. 2018): the
  global generator G1, the local enhancer G2, the multi-scale discriminator,
  LSGAN, feature matching, the VGG loss and instance boundary maps.
"""

from course_utils.models.discriminator import PatchGANDiscriminator, define_D, receptive_field
from course_utils.models.generator import UnetGenerator, define_G
from course_utils.models.init import count_parameters, init_weights
from course_utils.models.unet import UNet

__all__ = [
    "PatchGANDiscriminator",
    "UNet",
    "UnetGenerator",
    "count_parameters",
    "define_D",
    "define_G",
    "init_weights",
    "receptive_field",
]
