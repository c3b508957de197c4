"""Per-pixel and distribution terms: SRResNet's MSE, CycleGAN's cycle-consistency and identity
losses, and the KL term of SPADE's VAE encoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pixel_mse(fake_B: torch.Tensor, real_B: torch.Tensor) -> torch.Tensor:
    """The pixel-wise MSE (paper equation 4), the loss of SRResNet: ``mean (fake_B - real_B)^2`` in
    ``[-1, 1]`` units."""
    return F.mse_loss(fake_B.float(), real_B.float())


def cycle_consistency_loss(real_A: torch.Tensor, rec_A: torch.Tensor, real_B: torch.Tensor,
                           rec_B: torch.Tensor, lambda_cyc: float = 10.0) -> torch.Tensor:
    """Weighted cycle-consistency loss, CycleGAN equation 2:
    ``lambda_cyc * (mean|rec_A - real_A| + mean|rec_B - real_B|)``.

    ``rec_A = G_BA(G_AB(real_A))`` and ``rec_B = G_AB(G_BA(real_B))``; all
    ``(N, 3, H, W)`` in ``[-1, 1]``. The means are over every element (the
    paper's L1 norm divided by the number of elements). Returns a scalar that
    back-propagates into both generators (nothing is detached).
    """
    return lambda_cyc * (F.l1_loss(rec_A.float(), real_A.float())
                         + F.l1_loss(rec_B.float(), real_B.float()))


def identity_loss(real_A: torch.Tensor, same_A: torch.Tensor, real_B: torch.Tensor,
                  same_B: torch.Tensor, lambda_cyc: float = 10.0,
                  lambda_idt: float = 0.5) -> torch.Tensor:
    """Weighted identity loss (Taigman et al. 2017; CycleGAN section 5.2):
    ``lambda_idt * lambda_cyc * (mean|same_B - real_B| + mean|same_A - real_A|)``.

    ``same_B = G_AB(real_B)`` (a B given to the A-to-B generator should come out
    unchanged) and ``same_A = G_BA(real_A)``. With the paper's ``lambda_idt =
    0.5`` and ``lambda_cyc = 10`` the weight is 5. Returns a scalar.
    """
    w = lambda_idt * lambda_cyc
    return w * (F.l1_loss(same_B.float(), real_B.float())
                + F.l1_loss(same_A.float(), real_A.float()))


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, sigma^2) || N(0, 1)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))``, summed over
    the batch and ``z`` (as the official code; weighted by ``lambda_KLD = 0.05``). Returns a
    scalar."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
