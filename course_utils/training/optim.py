"""Optimisers of the training loop: Adam for ``netG`` and ``netD`` and the moving average of
``netG``."""

from __future__ import annotations

import torch
from torch import nn

from course_utils.training.execution import adam


def make_optimizers(netG: nn.Module, netD: nn.Module, lr: float = 2e-4, beta1: float = 0.5,
                    fused: bool = False):
    """Adam optimisers for ``netG`` and ``netD`` (paper section 3.3: lr 2e-4, betas (0.5, 0.999)).

    ``fused=True`` uses Adam's fused kernel (same update, one pass over the
    parameters; CPU and CUDA; :func:`course_utils.training.execution.adam`). The
    default is PyTorch's plain Adam.
    """
    optG = adam(netG.parameters(), lr=lr, betas=(beta1, 0.999), fused=fused)
    optD = adam(netD.parameters(), lr=lr, betas=(beta1, 0.999), fused=fused)
    return optG, optD

def make_ema(netG: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``netG`` (weights and BatchNorm statistics), or ``None``
    for ``decay <= 0``.

    ``ema.update_parameters(netG)`` after each step sets every floating-point
    tensor ``avg <- avg + (1 - d) * (current - avg)`` with
    ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates (the first update
    copies); integer buffers (BatchNorm's batch counter) are copied. ``ema.module``
    is the averaged generator. Built on :class:`torch.optim.swa_utils.AveragedModel`.

    Raises:
        ValueError: for ``decay >= 1``.
    """
    if decay <= 0:
        return None
    if decay >= 1:
        raise ValueError(f"ema must be in [0, 1) (0: off; e.g. 0.999), got {decay!r}")

    def ema_update(averaged: list[torch.Tensor], current: list[torch.Tensor],
                   n: torch.Tensor) -> None:
        if not averaged[0].is_floating_point():
            torch._foreach_copy_(averaged, current)
            return
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        torch._foreach_lerp_(averaged, current, 1.0 - d)

    return torch.optim.swa_utils.AveragedModel(netG, multi_avg_fn=ema_update, use_buffers=True)
