"""Time full Pix2Pix training steps (netD + netG) with the data already in memory.

Usage::

    python benchmarks/train_throughput.py --config paper|cpu-quick [--amp off|bf16] [--steps 10]
    python benchmarks/train_throughput.py --config paper --compare

Prints one JSON object with ``images_per_second`` and ``seconds_per_step``.
``--compare`` also times the plain setting (fp32, contiguous NCHW memory,
i.e. what a straightforward PyTorch pix2pix does) and the fast one
(``channels_last`` + bf16 autocast where the CPU supports it) and prints the
speed-up.
The batches are random tensors in ``[-1, 1]`` of the configuration's crop
size, so only the networks' forward/backward passes and the optimiser steps
are timed (no JPEG decoding). Reference point: a published plain PyTorch
pix2pix takes about 0.91 s per step at batch 1 and 256x256 on the course's
2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from course_utils.train import (
    _autocast_factory,
    build_networks,
    config_from_preset,
    make_optimizers,
    train_step,
)


def measure(config: str, amp: str | None, channels_last: bool | None, steps: int, warmup: int, device: str) -> dict:
    cfg = config_from_preset(config, amp=amp, channels_last=channels_last)
    dev = torch.device(device)
    torch.manual_seed(0)
    netG, netD = build_networks(cfg)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    netG.to(dev, memory_format=fmt).train()
    netD.to(dev, memory_format=fmt).train()
    optG, optD = make_optimizers(netG, netD, cfg.lr, cfg.beta1)
    autocast, _ = _autocast_factory(cfg.amp, dev)
    shape = (cfg.batch_size, 3, cfg.crop_size, cfg.crop_size)
    real_A = (torch.rand(shape, device=dev) * 2 - 1).contiguous(memory_format=fmt)
    real_B = (torch.rand(shape, device=dev) * 2 - 1).contiguous(memory_format=fmt)

    def one():
        train_step(netG, netD, optG, optD, real_A, real_B, lambda_L1=cfg.lambda_L1, autocast=autocast)

    for _ in range(warmup):
        one()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    sec = (time.perf_counter() - t0) / steps
    return {
        "config": config, "netG": cfg.netG, "ngf": cfg.ngf, "crop_size": cfg.crop_size,
        "batch_size": cfg.batch_size, "amp": cfg.amp, "channels_last": cfg.channels_last,
        "device": str(dev), "threads": torch.get_num_threads(), "steps": steps,
        "seconds_per_step": round(sec, 4), "images_per_second": round(cfg.batch_size / sec, 3),
        "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", choices=("paper", "cpu-quick", "cpu", "smoke"), default="paper")
    p.add_argument("--amp", choices=("auto", "off", "bf16", "fp16"), default=None,
                   help="default: the preset's (auto = off on CPU)")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--compare", action="store_true", help="time plain fp32/NCHW against channels_last + bf16")
    a = p.parse_args()
    if a.compare:
        plain = measure(a.config, "off", False, a.steps, a.warmup, a.device)
        fast = measure(a.config, "bf16", True, a.steps, a.warmup, a.device)
        print(json.dumps({
            "plain": plain, "fast": fast,
            "speedup": round(plain["seconds_per_step"] / fast["seconds_per_step"], 2),
            "images_per_second": fast["images_per_second"],
        }))
        return
    print(json.dumps(measure(a.config, a.amp, False if a.no_channels_last else None, a.steps, a.warmup, a.device)))


if __name__ == "__main__":
    main()
