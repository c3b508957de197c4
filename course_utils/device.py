"""Device choice shared by the CLI, the notebooks and the benchmarks."""

from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` if given, else CUDA when available, else the CPU.

    Raises:
        ValueError: if ``requested`` names CUDA but none is available.
    """
    if requested:
        dev = torch.device(requested)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {requested}: CUDA is not available on this machine; use --device cpu")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
