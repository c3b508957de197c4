"""The models' whole objectives: Pix2Pix (Isola et al., CVPR 2017, section 3.1, equations 1-4) and
SRGAN's perceptual loss (Ledig et al., CVPR 2017, equations 3-6).

Pix2Pix's conditional GAN loss (equation 1) is written with logits and binary cross-entropy;
``netD`` returns logits, not probabilities. As in the paper's section 3.3, the generator maximises
``log D(x, G(x))`` (the non-saturating form) and the discriminator loss is halved to slow ``netD``
relative to ``netG``. The full generator objective (equation 4) is::

    G* = arg min_G max_D  L_cGAN(G, D) + lambda_L1 * L_L1(G),
    L_L1(G) = E[ ||y - G(x)||_1 ]          (equation 3, a per-pixel mean)

with ``lambda_L1 = 100`` in the paper.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.losses.gan import adversarial_loss, gan_loss
from course_utils.losses.pixel import pixel_mse

LAMBDA_ADV = 1e-3


class DiscriminatorLoss(NamedTuple):
    """``total = 0.5 * (real + fake)``; ``real`` is D_real, ``fake`` is D_fake."""

    total: torch.Tensor
    real: torch.Tensor
    fake: torch.Tensor


class GeneratorLoss(NamedTuple):
    """``total = gan + lambda_L1 * l1``; ``gan`` is G_GAN, ``l1`` is G_L1 (unweighted)."""

    total: torch.Tensor
    gan: torch.Tensor
    l1: torch.Tensor


def discriminator_loss(
    netD: nn.Module, real_A: torch.Tensor, real_B: torch.Tensor, fake_B: torch.Tensor
) -> DiscriminatorLoss:
    """The PatchGAN's loss: real pairs towards 1, fake pairs towards 0, halved (section 3.3).

    ``fake_B`` is detached here, so this loss never sends gradients into the
    generator. All tensors are ``(N, 3, H, W)`` in ``[-1, 1]``.
    """
    real = gan_loss(netD(real_A, real_B), True)
    fake = gan_loss(netD(real_A, fake_B.detach()), False)
    return DiscriminatorLoss(0.5 * (real + fake), real, fake)


def generator_loss(
    netD: nn.Module,
    real_A: torch.Tensor,
    real_B: torch.Tensor,
    fake_B: torch.Tensor,
    lambda_L1: float = 100.0,
) -> GeneratorLoss:
    """The generator's objective, paper equation 4: fool ``netD`` plus ``lambda_L1`` times L1.

    ``fake_B`` is *not* detached: gradients flow through ``netD`` into
    ``netG``. ``G_L1`` is the mean absolute difference over all pixels and
    channels, in the ``[-1, 1]`` units of the tensors. With
    ``lambda_L1 = 0`` this is the cGAN alone; for L1 alone, drop the GAN term
    (``course_utils.training.loop.train_step(..., gan_weight=0)``).
    """
    gan = gan_loss(netD(real_A, fake_B), True)
    l1 = F.l1_loss(fake_B, real_B)
    return GeneratorLoss(gan + lambda_L1 * l1, gan, l1)


def srgan_generator_loss(netD, fake_B: torch.Tensor, real_B: torch.Tensor, content=pixel_mse,
                         lambda_adv: float = LAMBDA_ADV
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The perceptual loss of the generator (paper equation 3):
    ``content + lambda_adv * (-log D(G(I_LR))``.

    Args:
        netD: the discriminator (its parameters should be frozen by the caller);
            ``fake_B`` is NOT detached, so the adversarial gradient reaches ``netG``.
        fake_B, real_B: ``(N, 3, H, W)`` in ``[-1, 1]``.
        content: ``content(fake_B, real_B)`` -> scalar: :func:`pixel_mse` (SRGAN-MSE) or a
            :class:`VGG54Loss`.
        lambda_adv: the adversarial weight (paper: 1e-3).

    Returns:
        ``(total, content_term, adversarial_term)``; the adversarial term is unweighted.
    """
    content_term = content(fake_B, real_B)
    adv = adversarial_loss(netD(fake_B), True)
    return content_term + lambda_adv * adv, content_term, adv


def srgan_discriminator_loss(netD, fake_B: torch.Tensor,
                             real_B: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``netD``'s loss: ``BCE(D(real_B), 1) + BCE(D(fake_B.detach()), 0)``; returns
    ``(total, real, fake)``.

    ``fake_B`` is detached, so this step sends no gradient into ``netG``.
    """
    d_real = adversarial_loss(netD(real_B), True)
    d_fake = adversarial_loss(netD(fake_B.detach()), False)
    return d_real + d_fake, d_real, d_fake
