"""Shared fixtures: small synthetic A|B data sets written to a temporary folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image


def write_pairs(folder, n, size=64, seed=0):
    """Write ``n`` JPEG A|B pairs of ``size x size`` halves: B is a colour-quantised copy of A."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(1, n + 1):
        low = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        a = np.asarray(Image.fromarray(low).resize((size, size), Image.BILINEAR))
        b = np.where(a > 127, 230, 40).astype(np.uint8)
        Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f"{i}.jpg", quality=95)
    return folder


@pytest.fixture
def pairs_root(tmp_path):
    """A ``--data`` folder: ``train/`` with 12 pairs and ``val/`` with 4, 64x64 halves."""
    root = tmp_path / "pairs"
    write_pairs(root / "train", 12, seed=1)
    write_pairs(root / "val", 4, seed=2)
    return root


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run two at a time on two cores: one thread each."""
    torch.set_num_threads(1)
