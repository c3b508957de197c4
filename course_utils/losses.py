"""The Pix2Pix objective (Isola et al., CVPR 2017, section 3.1, equations 1-4).

The conditional GAN loss (equation 1) is written with logits and binary
cross-entropy; ``netD`` returns logits, not probabilities. As in the paper's
section 3.3, the generator maximises ``log D(x, G(x))`` (the non-saturating
form) and the discriminator loss is halved to slow ``netD`` relative to
``netG``. The full generator objective (equation 4) is::

    G* = arg min_G max_D  L_cGAN(G, D) + lambda_L1 * L_L1(G),
    L_L1(G) = E[ ||y - G(x)||_1 ]          (equation 3, a per-pixel mean)

with ``lambda_L1 = 100`` in the paper.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


def gan_loss(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Binary cross-entropy between every patch logit and the label 1 (real) or 0 (fake).

    Args:
        logits: ``(N, 1, H', W')`` raw PatchGAN outputs.
        target_is_real: ``True`` for label 1, ``False`` for label 0.

    Returns:
        A scalar: the mean over all patches and images.
    """
    target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


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
    (``course_utils.train.train_step(..., gan_weight=0)``).
    """
    gan = gan_loss(netD(real_A, fake_B), True)
    l1 = F.l1_loss(fake_B, real_B)
    return GeneratorLoss(gan + lambda_L1 * l1, gan, l1)
