"""How a training step is executed: precision, ``torch.compile``, memory format and the Adam kernel.

None of these change the mathematics of a Pix2Pix step (the paper's two
separate ``netD`` passes for real and fake pairs, Adam, the same losses);
they change how fast the same step runs:

* mixed precision, chosen by :func:`course_utils.training.precision.choose_precision`
  (bf16 autocast on CPUs with AMX or AVX512-BF16 and on GPUs with native bf16,
  fp16 + GradScaler on older GPUs, float32 elsewhere);
* ``torch.compile`` of ``netG`` and ``netD`` (TorchInductor fuses BatchNorm,
  activations and the bf16 casts around each convolution); ``auto`` turns it
  on for the CPU when the step runs in bf16 and a C++ compiler works, since
  that is where it was measured to pay (``benchmarks/train_throughput.py``).
  In float32 it gained nothing on a CPU without native bf16 (compiled steps
  0.89x to 1.06x of the plain step's speed, fused Adam alone 1.01x and 1.08x
  in the same runs) and costs 40 to 70 s of compilation per process, so there
  ``auto`` runs eagerly;
* the ``channels_last`` memory format, which oneDNN's bf16 convolutions
  prefer; by default not for float32 on the CPU, where it was measured slower
  at the paper's configuration (1.77 against 1.49 s/step with fused Adam on a
  CPU without native bf16, NCHW as fast or faster in every repetition) and no
  faster at ``cpu-quick``;
* Adam's ``fused`` kernel: one pass over the parameters instead of one small
  kernel per tensor and operation (:func:`adam`; on ``channels_last`` weights
  through :class:`ChannelsLastFusedAdam`, which avoids a copy that PyTorch's CPU
  kernel makes of every such gradient).

The *plain* path turns all four off: float32, NCHW, eager, for-loop Adam,
what a straightforward PyTorch pix2pix does. ``benchmarks/train_throughput.py``
times both in one run.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass

import torch
from torch import nn

from course_utils.errors import CourseError
from course_utils.training.precision import Precision, choose_precision

COMPILE_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class ExecutionPath:
    """The chosen way to run training steps; see the module docstring.

    Attributes:
        device: where the networks run.
        precision: the mixed-precision choice.
        compile: whether ``netG`` and ``netD`` are wrapped in ``torch.compile``.
        compile_note: why compile is off (empty when it is on or was turned off on purpose).
        channels_last: whether networks and batches use the ``channels_last`` memory format.
        fused_adam: whether Adam uses its fused kernel.
    """

    device: torch.device
    precision: Precision
    compile: bool
    compile_note: str
    channels_last: bool
    fused_adam: bool

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def is_plain(self) -> bool:
        return not (self.compile or self.channels_last or self.fused_adam
                    or self.precision.amp != "off")

    def describe(self) -> str:
        """One line, e.g. ``"cpu: bf16 autocast (AMX), channels_last, compiled, fused Adam"``."""
        parts = [self.precision.reason]
        parts.append("channels_last" if self.channels_last else "NCHW")
        parts.append("compiled" if self.compile
                     else ("eager" + (f" ({self.compile_note})" if self.compile_note else "")))
        parts.append("fused Adam" if self.fused_adam else "for-loop Adam")
        label = "plain path: " if self.is_plain else ""
        return f"{self.device.type}: {label}" + ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "device": str(self.device), "amp": self.precision.amp,
            "precision": self.precision.reason,
            "compile": self.compile, "compile_note": self.compile_note,
            "channels_last": self.channels_last, "fused_adam": self.fused_adam,
            "description": self.describe(),
        }

    def prepare(self, netG: nn.Module, netD: nn.Module) -> tuple[nn.Module, nn.Module]:
        """Move both networks to the device and memory format (in place) and return the modules to
        train.

        With ``compile`` the returned modules are ``torch.compile`` wrappers that
        share their parameters with ``netG``/``netD``: save and load the
        originals, train through the wrappers.
        """
        netG.to(self.device, memory_format=self.memory_format)
        netD.to(self.device, memory_format=self.memory_format)
        if not self.compile:
            return netG, netD
        return torch.compile(netG), torch.compile(netD)


@functools.cache
def compiler_problem() -> str:
    """Why ``torch.compile`` cannot run here (``""`` when it can).

    Checks for a C++ compiler (TorchInductor's CPU backend builds C++), then
    compiles and runs a tiny function once per process (a few seconds, cached).
    """
    if sys.platform == "win32":
        return "torch.compile is not used on Windows by the course"
    cxx = os.environ.get("CXX") or next((c for c in ("c++", "g++", "clang++") if shutil.which(c)),
                                        None)
    if not cxx:
        return "no C++ compiler found (install g++ or set CXX)"
    try:
        out = torch.compile(lambda x: torch.relu(x) * 2 + 1)(torch.ones(4))
        if float(out.sum()) != 12.0:
            return "torch.compile gave a wrong result in a self-check"
    except Exception as exc:  # noqa: BLE001 - any failure means "no compiler"
        return (f"torch.compile failed a self-check "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
    return ""


def choose_execution(
    device: torch.device | str = "cpu",
    *,
    amp: str = "auto",
    compile: str = "auto",  # noqa: A002 - the option's name
    channels_last: bool | None = None,
    fused_adam: bool = True,
    distributed: bool = False,
) -> ExecutionPath:
    """Resolve the training options into an :class:`ExecutionPath` for ``device``.

    Args:
        amp: see :func:`course_utils.training.precision.choose_precision`.
        compile: ``"auto"`` (on for the CPU when the precision is bf16 and a
            compiler works; off for float32 on the CPU, where it was measured
            to gain nothing, on CUDA, where the course has not measured it, and
            under DDP), ``"on"`` (required: raise if it cannot run) or ``"off"``.
        channels_last: the ``channels_last`` memory format; ``None`` (default):
            with mixed precision and on GPUs, not for float32 on the CPU.
        fused_adam: Adam's fused kernel.
        distributed: training under DDP (``compile="auto"`` then stays off).

    Raises:
        PrecisionError: for a precision the device cannot run natively.
        CourseError: for an unknown ``compile`` value, or ``compile="on"`` where it cannot run.
    """
    device = torch.device(device)
    precision = choose_precision(device, amp)
    if compile not in COMPILE_CHOICES:
        raise CourseError(f"compile must be one of {', '.join(COMPILE_CHOICES)}, got {compile!r}")
    use, note = False, ""
    if compile == "on":
        problem = compiler_problem()
        if problem:
            raise CourseError(f"--compile: {problem}; run with --no-compile")
        use = True
    elif compile == "auto":
        if distributed:
            note = "not compiled under DDP"
        elif device.type != "cpu":
            note = "compile is opt-in on GPUs: --compile"
        elif precision.amp != "bf16":
            note = "compile pays on the CPU only with bf16 autocast: --compile"
        else:
            note = compiler_problem()
            use = not note
    if channels_last is None:
        # NCHW for float32 on the CPU (measured faster) and on Apple's MPS (not measured there)
        channels_last = device.type == "cuda" or (device.type == "cpu" and precision.amp != "off")
    if fused_adam and device.type not in ("cpu", "cuda"):
        fused_adam = False
    return ExecutionPath(device, precision, use, note, channels_last, fused_adam)


ADAM_STATE_KEYS = ("exp_avg", "exp_avg_sq")


def _as_flat(t: torch.Tensor) -> torch.Tensor:
    """A ``channels_last`` 4-D tensor's memory as a 1-D view (no copy)."""
    return t.permute(0, 2, 3, 1).reshape(-1)


def _as_channels_last(flat: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`_as_flat`: a 4-D ``channels_last`` view shaped like ``like``."""
    n, c, h, w = like.shape
    return flat.view(n, h, w, c).permute(0, 3, 1, 2)


class ChannelsLastFusedAdam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)`` that steps ``channels_last`` 4-D weights without copying
    them.

    The update is Adam's (Kingma & Ba, ICLR 2015, algorithm 1), computed by
    PyTorch's own fused kernel, bit for bit the same as ``Adam(fused=True)``
    (tests/test_execution.py). Why it exists: under ``channels_last`` every
    convolution weight, its gradient and its two moment buffers are
    ``channels_last``, i.e. not "contiguous" in PyTorch's sense, and the fused
    CPU kernel makes a contiguous copy of every such gradient that it then does
    not use (PyTorch 2.14, ``aten/src/ATen/native/cpu/FusedAdamKernel.cpp``):
    ``benchmarks/adam_step.py --config paper`` measured 154 ms per step for
    both optimisers against 53 ms without the copy (one run on a 2-core
    CPU). Elementwise, Adam does not care how the elements are laid out, so
    for the step each such parameter, its gradient and its moments are
    handed to the kernel as 1-D views of the same memory
    (all four have the same strides), then put back. The optimiser's state
    keeps the parameters' shapes and layout, so checkpoints are the same as
    with ``torch.optim.Adam``.

    Parameters in any other layout are stepped as usual. A moment buffer whose
    layout differs from its parameter's (e.g. loaded from a checkpoint of the
    plain path) is copied into the parameter's layout once.
    """

    def __init__(self, params, **kwargs):
        super().__init__(params, fused=True, **kwargs)

    @torch.no_grad()
    def step(self, closure=None, **kwargs):
        """One Adam step; ``closure`` and the GradScaler's keywords as in
        ``torch.optim.Adam.step``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        flattened = []
        for group in self.param_groups:
            for p in group["params"]:
                if (p.grad is None or p.dim() != 4 or p.is_contiguous()
                        or not p.is_contiguous(memory_format=torch.channels_last)
                        or p.grad.stride() != p.stride()):
                    continue
                state = self.state[p]
                for key in ADAM_STATE_KEYS:
                    if key in state and state[key].stride() != p.stride():
                        state[key] = torch.empty_like(p).copy_(state[key])
                data, grad = p.data, p.grad
                p.data = _as_flat(data)
                p.grad = _as_flat(grad)
                for key in ADAM_STATE_KEYS:
                    if key in state:
                        state[key] = _as_flat(state[key])
                flattened.append((p, data, grad))
        try:
            super().step(**kwargs)
        finally:
            for p, data, grad in flattened:
                state = self.state[p]
                for key in ADAM_STATE_KEYS:
                    if key in state:
                        state[key] = _as_channels_last(state[key], data)
                p.grad = None
                p.data = data
                p.grad = grad
        return loss


def adam(params, *, lr: float, betas: tuple[float, float],
         fused: bool = False) -> torch.optim.Adam:
    """The course's Adam: ``torch.optim.Adam`` (for-loop on the CPU), or with ``fused=True``
    :class:`ChannelsLastFusedAdam`.

    Args:
        params: parameters or parameter groups, as for ``torch.optim.Adam``.
        lr, betas: Adam's step size and moment decay rates.
        fused: one fused kernel per step (CPU and CUDA) instead of PyTorch's
            default implementation; the same update either way.
    """
    if fused:
        return ChannelsLastFusedAdam(params, lr=lr, betas=betas)
    return torch.optim.Adam(params, lr=lr, betas=betas)
