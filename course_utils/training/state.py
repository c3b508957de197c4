"""The random state of a run: seeding, and saving and restoring it in checkpoints for exact
resumes."""

from __future__ import annotations

import random

import numpy as np
import torch


def rng_state() -> dict:
    """The Python, NumPy, torch (and CUDA) random states, as tensors and plain types only.

    NumPy's MT19937 key goes in as an int64 tensor, so a checkpoint holding the state
    loads with ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state

def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` saved (also the NumPy arrays of checkpoints written before
    it)."""
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else keys
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
