"""Time one Adam step over netG's and netD's parameters: the course's fused Adam against PyTorch's.

Usage::

    python benchmarks/adam_step.py --config paper|cpu-quick [--rounds 5]

The networks of the configuration are built in ``channels_last`` (as the default training path
runs them) and given random gradients; then, alternating, in one run:

* ``course``: :class:`course_utils.training.execution.ChannelsLastFusedAdam` (what
  ``pix2pix train`` uses);
* ``torch_fused``: ``torch.optim.Adam(fused=True)``, whose CPU kernel copies every
  ``channels_last`` gradient (PyTorch 2.14);
* ``for_loop``: ``torch.optim.Adam()``, the plain path's optimiser.

Prints one JSON line: the median milliseconds per step (all parameters of both networks) of each,
and the largest difference of the parameters between ``course`` and ``torch_fused`` afterwards
(0.0: the same update).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date

import torch

from course_utils.training.config import config_from_preset
from course_utils.training.execution import ChannelsLastFusedAdam
from course_utils.training.recipes.pix2pix import build_networks

BETAS = (0.5, 0.999)


def parameters(config: str) -> list[torch.nn.Parameter]:
    """netG's and netD's parameters in ``channels_last``, with seeded random gradients."""
    torch.manual_seed(0)
    netG, netD = build_networks(config_from_preset(config))
    params = []
    for net in (netG, netD):
        net.to(memory_format=torch.channels_last)
        params += list(net.parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    return params


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", choices=("paper", "cpu-quick", "cpu", "smoke"), default="paper")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--no-record", action="store_true",
                   help="print only; no record in results/adam_step.jsonl")
    a = p.parse_args()
    makers = {
        "course": lambda ps: ChannelsLastFusedAdam(ps, lr=2e-4, betas=BETAS),
        "torch_fused": lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=BETAS, fused=True),
        "for_loop": lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=BETAS),
    }
    params = {name: parameters(a.config) for name in makers}
    opts = {name: make(params[name]) for name, make in makers.items()}
    for opt in opts.values():
        opt.step()  # allocate the moments
    times = {name: [] for name in makers}
    for _ in range(a.rounds):
        for name, opt in opts.items():
            t0 = time.perf_counter()
            opt.step()
            times[name].append(time.perf_counter() - t0)
    diff = max((x - y).abs().max().item() for x, y in zip(params["course"], params["torch_fused"]))
    numbers = {
        "config": a.config,
        "parameters": sum(p.numel() for p in params["course"]),
        "ms_per_step": {k: round(1000 * statistics.median(v), 1) for k, v in times.items()},
        "rounds_ms": {k: [round(1000 * x, 1) for x in v] for k, v in times.items()},
        "max_param_difference_course_vs_torch_fused": diff,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": date.today().isoformat(),
    }
    print(json.dumps(numbers))
    if not a.no_record:
        from course_utils.results import append_record

        append_record("adam_step", numbers)

if __name__ == "__main__":
    main()
