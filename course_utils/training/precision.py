"""Which numeric precision a training step uses, chosen once for the trainer, the CLI and notebook
4.

Mixed precision runs the convolutions in a 16-bit type while the weights, the
optimiser state and the losses stay in float32 (Micikevicius et al., *Mixed
Precision Training*, ICLR 2018). Whether it pays depends on the hardware:

* **CPU**: bfloat16 autocast only where the CPU computes bf16 natively, i.e.
  has Intel AMX (``amx_bf16``) or AVX512-BF16. Elsewhere PyTorch would emulate
  bf16 and run slower than float32, so ``auto`` stays float32 and an explicit
  ``bf16`` request is refused. fp16 autocast is refused on every CPU.
* **CUDA**: bfloat16 where the GPU supports it natively (compute capability
  8.0 or newer, e.g. A100, H100, RTX 30xx). Older GPUs such as Colab's T4
  (7.5) report bf16 as "supported" through emulation, which is slow; they get
  float16 with a pair of ``GradScaler`` objects instead (fp16's narrow range
  needs loss scaling, bf16's does not).

:func:`choose_precision` makes that choice; :class:`Precision` carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from course_utils.errors import CourseError

AMP_CHOICES = ("auto", "off", "bf16", "fp16")


class PrecisionError(CourseError, ValueError):
    """A precision that this device cannot run natively was asked for."""


def cpu_bf16_support() -> str | None:
    """``"AMX"`` or ``"AVX512-BF16"`` when this CPU computes bfloat16 natively, else ``None``."""
    probes = (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported"))
    for name, fn in probes:
        check = getattr(torch.cpu, fn, None)
        try:
            if check is not None and check():
                return name
        except Exception:  # noqa: BLE001 - a probe that fails means "not supported"
            continue
    return None


def cuda_bf16_native(device: torch.device | str | int | None = None) -> bool:
    """True when the GPU computes bfloat16 natively: compute capability >= 8.0, no emulation.

    ``torch.cuda.is_bf16_supported()`` alone also says yes on older GPUs (a
    T4 is 7.5), where bf16 is emulated and slow; this asks without emulation
    and checks the capability too.
    """
    if not torch.cuda.is_available():
        return False
    try:
        supported = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch without the keyword: the capability decides
        supported = True
    major, minor = torch.cuda.get_device_capability(device)
    return bool(supported) and (major, minor) >= (8, 0)


@dataclass(frozen=True)
class Precision:
    """The precision of a training step.

    Attributes:
        amp: ``"off"`` (float32), ``"bf16"`` or ``"fp16"`` autocast.
        device_type: ``"cpu"`` or ``"cuda"``.
        reason: why, in words, e.g. ``"bf16 autocast (AMX)"`` or
            ``"fp16 autocast + GradScaler (GPU compute capability 7.5 has no native bf16)"``.
    """

    amp: str
    device_type: str
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return {"off": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.amp]

    @property
    def autocast(self):
        """A factory of autocast contexts for ``train_step(..., autocast=...)``, or ``None`` for
        float32."""
        if self.amp == "off":
            return None
        device_type, dtype = self.device_type, self.dtype
        return lambda: torch.autocast(device_type, dtype=dtype)

    @property
    def needs_scaler(self) -> bool:
        return self.amp == "fp16" and self.device_type == "cuda"

    def grad_scalers(self):
        """``(scaler_G, scaler_D)`` for fp16 on CUDA, else ``None``."""
        if not self.needs_scaler:
            return None
        return torch.amp.GradScaler("cuda"), torch.amp.GradScaler("cuda")


def choose_precision(device: torch.device | str = "cpu", amp: str = "auto") -> Precision:
    """Pick the training precision for ``device``.

    Args:
        device: where the networks run.
        amp: ``"auto"`` (the fastest precision this device computes natively,
            see the module docstring), ``"off"`` (float32), ``"bf16"`` or
            ``"fp16"`` (refused where the device would only emulate it).

    Raises:
        PrecisionError: for an unknown ``amp``, ``bf16`` on a CPU or GPU without
            native bf16, or ``fp16`` on a CPU.
    """
    device = torch.device(device)
    if amp not in AMP_CHOICES:
        raise PrecisionError(f"amp must be one of {', '.join(AMP_CHOICES)}, got {amp!r}")
    if amp == "off":
        return Precision("off", device.type, "float32")
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        native = cuda_bf16_native(index)
        cap = "{}.{}".format(*torch.cuda.get_device_capability(index))
        if amp == "bf16" and not native:
            raise PrecisionError(
                f"--amp bf16: this GPU (compute capability {cap}) has no native bfloat16 and would "
                f"emulate it slowly; use --amp fp16 (with loss scaling) or --amp auto"
            )
        if amp == "fp16" or not native:
            why = "" if amp == "fp16" else f" (GPU compute capability {cap} has no native bf16)"
            return Precision("fp16", "cuda", "fp16 autocast + GradScaler" + why)
        return Precision("bf16", "cuda", f"bf16 autocast (GPU compute capability {cap})")
    if device.type != "cpu":
        if amp == "auto":
            return Precision("off", device.type, f"float32 (no mixed precision on {device.type})")
        raise PrecisionError(f"--amp {amp}: mixed precision is only supported on CPU and CUDA "
                             f"here; use --amp off")
    if amp == "fp16":
        raise PrecisionError("--amp fp16: CPUs have no fast float16 training path; "
                             "use --amp bf16 or --amp off")
    unit = cpu_bf16_support()
    if unit is None:
        if amp == "bf16":
            raise PrecisionError(
                "--amp bf16: this CPU has neither AMX nor AVX512-BF16, so bfloat16 would be "
                "emulated and slower than float32; use --amp off (or auto)"
            )
        return Precision("off", "cpu", "float32 (this CPU has no native bf16)")
    return Precision("bf16", "cpu", f"bf16 autocast ({unit})")


def backward_and_step(opt: torch.optim.Optimizer, loss: torch.Tensor, scaler=None,
                      drop_grads=()) -> None:
    """``loss.backward()`` then ``opt.step()``, through ``scaler`` (a ``torch.amp.GradScaler``)
    when given.

    The GradScaler path (fp16 on CUDA) scales the loss before the backward pass, unscales and skips
    the step when gradients overflow, and updates its scale; with ``scaler=None`` (fp32, bf16) it is
    the plain backward and step. ``drop_grads``: parameters whose gradients are set to ``None``
    between the backward pass and the step, so that Adam leaves them unchanged (Pix2PixHD's networks
    that a training stage does not train). Every model's training step uses this one helper.
    """
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
    for p in drop_grads:
        p.grad = None
    if scaler is None:
        opt.step()
    else:
        scaler.step(opt)
        scaler.update()
