"""Device choice shared by the CLI, the notebooks and the benchmarks."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from course_utils.errors import DeviceError


def mps_available() -> bool:
    """Whether Apple's Metal (MPS) GPU backend can run here (macOS on Apple silicon, a torch built
    with MPS)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` if given, else CUDA, else Apple's MPS, else the CPU, whichever is
    available first.

    On MPS the training precision is float32
    (:func:`course_utils.training.precision.choose_precision`).

    Raises:
        DeviceError: (a ``ValueError``) if ``requested`` is not a device name, or names CUDA or MPS
            where none is available (the message says what is).
    """
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError:
            raise DeviceError(f"--device {requested!r} is not a device; "
                              "use cpu, cuda, cuda:1 or mps") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            alt = "mps" if mps_available() else "cpu"
            raise DeviceError(f"--device {requested}: CUDA is not available on this machine; "
                              f"use --device {alt}")
        if dev.type == "mps" and not mps_available():
            built = (getattr(torch.backends, "mps", None) is not None
                     and torch.backends.mps.is_built())
            why = ("this torch has MPS but the machine cannot run it "
                   "(it needs macOS 12.3+ on Apple silicon)"
                   if built else "this machine or torch build has no Apple GPU support")
            raise DeviceError(f"--device mps: {why}; use --device cpu"
                             f"{' or --device cuda' if torch.cuda.is_available() else ''}")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("mps" if mps_available() else "cpu")


def cpu_model() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC"`` (Linux: ``/proc/cpuinfo``), else what
    ``platform`` knows.

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
