"""The adversarial losses of every model, in one place: :class:`GANLoss` with the ``bce``,
``lsgan`` and ``hinge`` objectives, for one discriminator or several (multi-scale) at once.

- ``bce``: binary cross-entropy on logits, the GAN of Goodfellow et al. 2014 in the
  non-saturating form (Pix2Pix, section 3.1 and 3.3; SRGAN equation 6).
- ``lsgan``: least squares, ``mean (D - t)^2`` with ``t = 1`` for real, ``0`` for fake (Mao et
  al. 2017; CycleGAN section 4, Pix2PixHD's code).
- ``hinge``: ``mean relu(1 - D)`` on real, ``mean relu(1 + D)`` on fake, and ``-mean D`` for the
  generator (Lim and Ye 2017; SPADE section 4).

The named functions below (``gan_loss``, ``lsgan_loss``, ``hinge_d_loss``...) are what the notebooks
and recipes call; each is one :class:`GANLoss`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_MODES = ("bce", "lsgan", "hinge")


def _scores(outputs) -> list[torch.Tensor]:
    """The patch scores of each scale: the last element of each list, or the tensors themselves."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [o[-1] if isinstance(o, (list, tuple)) else o for o in outputs]


class GANLoss:
    """One adversarial objective, applied to the patch scores of one or several discriminators.

    Args:
        mode: ``"bce"``, ``"lsgan"`` or ``"hinge"`` (see the module docstring).
        scales: how the per-discriminator terms combine: ``"sum"`` (Pix2PixHD, the single PatchGAN)
            or ``"mean"`` (SPADE's hinge loss).

    Calling it: ``loss(outputs, target_is_real)`` for a discriminator's term, ``loss(outputs,
    generator=True)`` for the generator's (``bce`` and ``lsgan``: the real target; ``hinge``:
    ``-mean D``). ``outputs``: one logits tensor ``(N, 1, H', W')``, a list of them, or a
    multi-scale discriminator's list of feature lists (the last element of each is used).
    Scores are computed in float32. Returns a scalar.

    Raises:
        ValueError: for an unknown ``mode`` or ``scales``.
    """

    def __init__(self, mode: str = "bce", scales: str = "sum"):
        if mode not in GAN_MODES:
            raise ValueError(f"GAN loss mode must be one of {GAN_MODES}, got {mode!r}")
        if scales not in ("sum", "mean"):
            raise ValueError(f"scales must be 'sum' or 'mean', got {scales!r}")
        self.mode, self.scales = mode, scales

    def term(self, score: torch.Tensor, target_is_real: bool, generator: bool) -> torch.Tensor:
        """The loss of one discriminator's scores."""
        score = score.float()
        if self.mode == "hinge":
            if generator:
                return -score.mean()
            return F.relu(1.0 + (-1.0 if target_is_real else 1.0) * score).mean()
        target = torch.full_like(score, 1.0 if (target_is_real or generator) else 0.0)
        if self.mode == "lsgan":
            return F.mse_loss(score, target)
        return F.binary_cross_entropy_with_logits(score, target)

    def __call__(self, outputs, target_is_real: bool = True, *,
                 generator: bool = False) -> torch.Tensor:
        terms = [self.term(s, target_is_real, generator) for s in _scores(outputs)]
        total = sum(terms)
        return total / len(terms) if self.scales == "mean" else total


def gan_loss(logits, target_is_real: bool) -> torch.Tensor:
    """Binary cross-entropy between every patch logit and the label 1 (real) or 0 (fake).

    Args:
        logits: ``(N, 1, H', W')`` raw PatchGAN outputs.
        target_is_real: ``True`` for label 1, ``False`` for label 0.

    Returns:
        A scalar: the mean over all patches and images. With ``target_is_real=True`` on
        ``D(G(x))`` it is the generator's non-saturating loss ``-log D(G(x))`` (SRGAN equation 6).
    """
    return GANLoss("bce")(logits, target_is_real)


adversarial_loss = gan_loss  # SRGAN's name for the same loss


def lsgan_loss(outputs, target_is_real: bool) -> torch.Tensor:
    """The least-squares GAN loss, summed over the discriminators.

    For each scale ``k``, the mean over patches of ``(D_k - t)^2`` with ``t = 1`` for real and
    ``0`` for fake (Mao et al. 2017; the objective of Pix2PixHD's code for its equation 2 and of
    CycleGAN). ``outputs``: one score tensor or a
    :class:`~course_utils.models.pix2pixhd.MultiscaleDiscriminator` output. Returns a scalar.
    """
    return GANLoss("lsgan")(outputs, target_is_real)


lsgan = lsgan_loss  # CycleGAN's name for the same loss on one discriminator


def hinge_d_loss(outputs, target_is_real: bool) -> torch.Tensor:
    """The discriminator's hinge loss, averaged over the scales (Lim and Ye 2017; SPADE section 4).

    Real: ``mean(relu(1 - D(m, x)))``; fake: ``mean(relu(1 + D(m, G(m))))``; the mean runs over
    patches and the batch, then over the scales. Returns a scalar.
    """
    return GANLoss("hinge", "mean")(outputs, target_is_real)


def hinge_g_loss(outputs) -> torch.Tensor:
    """The generator's hinge loss: ``-mean(D(m, G(m)))``, averaged over the scales. Returns a
    scalar."""
    return GANLoss("hinge", "mean")(outputs, generator=True)
