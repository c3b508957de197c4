"""Time full Pix2Pix training steps (netD + netG): the course's default path against the plain
step, in one run.

Usage::

    python benchmarks/train_throughput.py --config paper|cpu-quick [--rounds 3] [--steps 5]

Prints one JSON line::

    {"config": ..., "images_per_second": <default path>, "plain_images_per_second": ...,
     "speedup": ..., "path": "<what the default path used>", "compile_seconds": ...,
     "gflop_per_step": ..., "gflops_per_second": ..., "fraction_of_peak": ..., ...}

and appends it to ``results/train_throughput.jsonl`` (:mod:`course_utils.results`).
``gflop_per_step`` is counted by ``torch.utils.flop_counter`` (forward and
backward of every convolution and matmul); ``fraction_of_peak`` divides the
default path's GFLOP/s by ``peak_gflops_per_second``, the best float32 rate
of a large convolution measured in the same run (:func:`conv_peak_gflops`):
how much of this machine's convolution ceiling a training step uses.

* **plain**: float32, contiguous NCHW memory, eager, PyTorch's for-loop Adam,
  the paper's separate ``netD`` passes for real and fake pairs: what a
  straightforward PyTorch pix2pix does (``pix2pix train --plain``).
* **default**: what ``pix2pix train`` uses on this machine
  (:func:`course_utils.training.execution.choose_execution`): bf16 autocast where the
  CPU or GPU computes bf16 natively, with ``channels_last`` and, on the CPU,
  ``torch.compile`` when a compiler works; fused Adam. Same step, same
  mathematics. Without native bf16 the CPU's default path is float32, NCHW and
  eager like the plain one, with fused Adam, so expect little difference
  there: ``cpu_model`` and ``cpu_bf16`` in the output say which CPU ran.

Both paths are built in the same process from the same initial weights and
time the same ``course_utils.training.loop.train_step`` on the same random batches in
``[-1, 1]`` of the configuration's crop size (no JPEG decoding: only forward,
backward and optimiser steps are timed). The paths alternate, ``--rounds``
rounds of ``--steps`` steps each after warm-up; each path's figure is the
median over its rounds, so a burst of load on a shared machine hits both.
``compile_seconds`` is the extra time of the compiled path's warm-up steps
(TorchInductor's compilation), reported apart from the step time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date

import torch

from course_utils.device import cpu_model
from course_utils.results import append_record
from course_utils.training.config import config_from_preset
from course_utils.training.execution import choose_execution
from course_utils.training.optim import make_optimizers
from course_utils.training.precision import cpu_bf16_support
from course_utils.training.recipes.pix2pix import build_networks, train_step


def build(config: str, device: str, plain: bool, compile: str = "auto"):  # noqa: A002
    """A ready-to-time step function for one path, and the path."""
    cfg = config_from_preset(config)
    dev = torch.device(device)
    if plain:
        exe = choose_execution(dev, amp="off", compile="off", channels_last=False, fused_adam=False)
    else:
        exe = choose_execution(dev, amp=cfg.amp, compile=compile, channels_last=cfg.channels_last,
                               fused_adam=cfg.fused_adam)
    torch.manual_seed(0)
    netG, netD = build_networks(cfg)
    netG_t, netD_t = exe.prepare(netG, netD)
    netG_t.train()
    netD_t.train()
    optG, optD = make_optimizers(netG, netD, cfg.lr, cfg.beta1, fused=exe.fused_adam)
    g = torch.Generator().manual_seed(1)
    shape = (cfg.batch_size, 3, cfg.crop_size, cfg.crop_size)
    real_A = (torch.rand(shape, generator=g) * 2 - 1).to(dev, memory_format=exe.memory_format)
    real_B = (torch.rand(shape, generator=g) * 2 - 1).to(dev, memory_format=exe.memory_format)
    autocast, scalers = exe.precision.autocast, exe.precision.grad_scalers()

    def step():
        train_step(netG_t, netD_t, optG, optD, real_A, real_B, lambda_L1=cfg.lambda_L1,
                   gan_weight=cfg.gan_weight, autocast=autocast, scalers=scalers)

    return cfg, exe, step


def timed(step, n: int, device: torch.device) -> float:
    """Seconds per step over ``n`` steps."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


def conv_peak_gflops(device: torch.device, repeats: int = 5) -> dict:
    """This machine's float32 convolution ceiling: the best GFLOP/s of a few large convolutions
    (forward).

    Each candidate is a convolution of the size that dominates a Pix2Pix step
    (4x4 stride 2 as in the U-Net and PatchGAN, and a 3x3 stride 1), batch 8,
    64x64 inputs, 256 -> 512 channels; FLOPs are ``2 * N * H_out * W_out * C_in
    * C_out * k * k``. The best time of ``repeats`` runs after one warm-up.
    """
    shapes = {
        "4x4 stride 2, 256->512, 8x64x64": (4, 2, 1),
        "3x3 stride 1, 256->512, 8x64x64": (3, 1, 1),
    }
    best = {}
    for name, (k, stride, pad) in shapes.items():
        x = torch.randn(8, 256, 64, 64, device=device)
        w = torch.randn(512, 256, k, k, device=device)
        out = torch.nn.functional.conv2d(x, w, stride=stride, padding=pad)
        flop = 2 * out.numel() * 256 * k * k
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            torch.nn.functional.conv2d(x, w, stride=stride, padding=pad)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        best[name] = round(flop / min(times) / 1e9, 1)
    return best


def count_gflop(step) -> float:
    """GFLOP of one call of ``step`` (``torch.utils.flop_counter``: convolutions and matmuls,
    forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=("paper", "cpu-quick", "cpu", "smoke"), default="paper")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per path (at least 2)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per round")
    p.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="untimed steps per path first (compilation happens here)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="torch.compile on the default path (auto: as `pix2pix train` decides)")
    p.add_argument(
        "--no-record", action="store_true", help="print only; append nothing to results/"
    )
    a = p.parse_args()
    if a.rounds < 2:
        p.error("--rounds must be at least 2")
    dev = torch.device(a.device)

    cfg, plain_exe, plain_step = build(a.config, a.device, plain=True)
    gflop = count_gflop(plain_step)  # the same mathematics on both paths
    _, exe, fast_step = build(a.config, a.device, plain=False, compile=a.compile)
    warm = {}
    for name, step in (("plain", plain_step), ("default", fast_step)):
        t0 = time.perf_counter()
        for _ in range(a.warmup):
            step()
        warm[name] = time.perf_counter() - t0
    rounds = {"plain": [], "default": []}
    for _ in range(a.rounds):
        rounds["plain"].append(timed(plain_step, a.steps, dev))
        rounds["default"].append(timed(fast_step, a.steps, dev))
    sec_plain = statistics.median(rounds["plain"])
    sec_fast = statistics.median(rounds["default"])
    compile_seconds = max(0.0, warm["default"] - a.warmup * sec_fast) if exe.compile else 0.0
    peaks = conv_peak_gflops(dev)
    peak = max(peaks.values())
    record = {
        "config": a.config,
        "netG": cfg.netG,
        "ngf": cfg.ngf,
        "batch_size": cfg.batch_size,
        "crop_size": cfg.crop_size,
        "images_per_second": round(cfg.batch_size / sec_fast, 3),
        "plain_images_per_second": round(cfg.batch_size / sec_plain, 3),
        "speedup": round(sec_plain / sec_fast, 2),
        "path": exe.describe(),
        "plain_path": plain_exe.describe(),
        "compile_seconds": round(compile_seconds, 1),
        "seconds_per_step": round(sec_fast, 4),
        "plain_seconds_per_step": round(sec_plain, 4),
        "rounds_seconds_per_step": {k: [round(v, 4) for v in vs] for k, vs in rounds.items()},
        "steps_per_round": a.steps,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_bf16": cpu_bf16_support(),
        "date": date.today().isoformat(),
        "gflop_per_step": round(gflop, 2),
        "gflops_per_second": round(gflop / sec_fast, 1),
        "plain_gflops_per_second": round(gflop / sec_plain, 1),
        "peak_gflops_per_second": peak,
        "peak_convolutions": peaks,
        "fraction_of_peak": round(gflop / sec_fast / peak, 3),
        "plain_fraction_of_peak": round(gflop / sec_plain / peak, 3),
    }
    print(json.dumps(record))
    if not a.no_record:
        append_record("train_throughput", record)


if __name__ == "__main__":
    main()
