"""The learning-rate schedule and the per-epoch sample order (pure functions of their arguments)."""

from __future__ import annotations

import torch


def lr_lambda(total_steps: int, decay_fraction: float, time_progress=None):
    """Per-step lr factor: 1 for the first ``1 - decay_fraction`` of the run, then linear to 0.

    The paper's maps schedule is 100 epochs constant + 100 decaying
    (``decay_fraction=0.5``). ``time_progress``, an optional callable returning
    the fraction of a time budget used so far, makes the schedule follow
    whichever is further along, steps or time, so that a run cut short by
    ``--time-budget`` still ends with a fully decayed lr.
    """

    def f(step: int) -> float:
        progress = step / max(1, total_steps)
        if time_progress is not None:
            progress = max(progress, time_progress())
        if progress < 1.0 - decay_fraction:
            return 1.0
        return max(0.0, (1.0 - progress) / max(decay_fraction, 1e-12))

    return f

def epoch_indices(n: int, epoch: int, seed: int, rank: int = 0, world: int = 1) -> list[int]:
    """This rank's shuffled sample order for ``epoch``; a pure function of its arguments."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)[rank::world].tolist()
