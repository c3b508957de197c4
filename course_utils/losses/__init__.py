"""The losses of every model, each in one home.

- :mod:`~course_utils.losses.gan`: :class:`GANLoss` (``bce``, ``lsgan``, ``hinge``) and its
  named uses;
- :mod:`~course_utils.losses.objectives`: Pix2Pix's equation 4 (``discriminator_loss``,
  ``generator_loss``) and SRGAN's perceptual loss;
- :mod:`~course_utils.losses.pixel`: pixel MSE, cycle-consistency, identity, KL;
- :mod:`~course_utils.losses.perceptual`: feature matching and the VGG19 losses.
"""

from course_utils.losses.gan import (
    GANLoss,
    adversarial_loss,
    gan_loss,
    hinge_d_loss,
    hinge_g_loss,
    lsgan,
    lsgan_loss,
)
from course_utils.losses.objectives import (
    LAMBDA_ADV,
    DiscriminatorLoss,
    GeneratorLoss,
    discriminator_loss,
    generator_loss,
    srgan_discriminator_loss,
    srgan_generator_loss,
)
from course_utils.losses.perceptual import VGG54Loss, VGGLoss, feature_matching_loss
from course_utils.losses.pixel import (
    cycle_consistency_loss,
    identity_loss,
    kl_divergence,
    pixel_mse,
)

__all__ = [
    "LAMBDA_ADV",
    "DiscriminatorLoss",
    "GANLoss",
    "GeneratorLoss",
    "VGG54Loss",
    "VGGLoss",
    "adversarial_loss",
    "cycle_consistency_loss",
    "discriminator_loss",
    "feature_matching_loss",
    "gan_loss",
    "generator_loss",
    "hinge_d_loss",
    "hinge_g_loss",
    "identity_loss",
    "kl_divergence",
    "lsgan",
    "lsgan_loss",
    "pixel_mse",
    "srgan_discriminator_loss",
    "srgan_generator_loss",
]
