"""Device choice shared by the CLI, the notebooks and the benchmarks."""

from __future__ import annotations

import platform
from pathlib import Path

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


def cpu_model() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC"`` (Linux: ``/proc/cpuinfo``), else what ``platform`` knows.

    Benchmarks and the demo record it: the same code runs at very different speeds,
    and picks a different precision, on different CPUs.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
