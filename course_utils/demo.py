"""The course's main job (``make demo``): train aerial -> map on the real maps data, evaluate, show.

1. trains Pix2Pix AtoB (aerial photo -> map) with the ``cpu-quick`` recipe
   for ``DEMO_MINUTES`` minutes into ``RUN_DIR`` (resuming if a run is already
   there), on the fastest execution path of this machine (see
   :mod:`course_utils.training.execution`; ``--plain`` for float32 eager);
2. evaluates the generator on the held-out maps val split into
   ``RUN_DIR/metrics.json`` (GcGAN acc@delta and RMSE, L1, PSNR, SSIM,
   map-palette IoU);
3. writes ``RUN_DIR/samples.png`` (aerial | generated | real map).

Run it with ``python -m course_utils.demo --out runs/demo``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import torch

from course_utils.cli import add_execution_options, execution_overrides
from course_utils.device import cpu_model
from course_utils.errors import CourseError
from course_utils.results import append_record

# `make demo` must finish within 15 minutes on a 2-core CPU from a fresh clone: about 2.5 minutes of
# install and data, half a minute of scanning the training tiles, DEMO_MINUTES of training
# (torch.compile's compilation included where the CPU has native bf16: about a minute with an empty
# compile cache) and under a minute of evaluation. Measured fresh-clone times: results/demo.jsonl.
# The run is time-boxed: DEMO_EPOCHS is only an upper bound, and a faster step buys more steps
# in the same minutes.
DEMO_MINUTES = 10.5
DEMO_EPOCHS = 60


def run_demo(out_dir="runs/demo", preset="cpu-quick", direction="AtoB", n_samples=6,
             **overrides) -> dict:
    """Train, evaluate and draw samples; returns the metrics dict (also written to
    ``metrics.json``)."""
    from course_utils.data.datasets import dataset_folder
    from course_utils.evaluation.evaluate import evaluate
    from course_utils.evaluation.palette import maps_palette
    from course_utils.training.checkpoint import generator_from_checkpoint
    from course_utils.training.config import config_from_preset
    from course_utils.training.loop import eval_dataset, train
    from course_utils.training.plots import save_sample_grid

    out = Path(out_dir)
    cfg = config_from_preset(preset, dataset="maps", direction=direction, **overrides)
    t0 = time.time()
    summary = train(cfg, out, resume=True)
    train_seconds = time.time() - t0

    netG, cfg = generator_from_checkpoint(out / "checkpoints" / "latest.pt")
    val = eval_dataset(dataset_folder("maps", "val"), cfg)
    palette = maps_palette() if direction == "AtoB" else None
    t1 = time.time()
    metrics = evaluate(netG, val, device=torch.device("cpu"), mode="eval", palette=palette)
    eval_seconds = time.time() - t1

    picks = [round(i * (len(val) - 1) / max(1, n_samples - 1)) for i in range(n_samples)]
    batch = torch.utils.data.default_collate([val[i] for i in picks])
    save_sample_grid(netG, batch, out / "samples.png", torch.device("cpu"))

    record = {
        **metrics,
        "run": {
            "preset": preset, "direction": direction, "steps": summary["step"],
            "seed": cfg.seed, "execution": summary["execution"],
            "first_step_seconds": summary["first_step_seconds"],
            "train_seconds_this_session": round(train_seconds, 1),
            "eval_seconds": round(eval_seconds, 1), "date": date.today().isoformat(),
            "machine": f"{cpu_model()} ({platform.machine()}), "
                       f"{torch.get_num_threads()} threads",
            "torch": torch.__version__,
        },
    }
    (out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
    append_record("demo", {"metrics": metrics, "run": record["run"]})
    return record


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="Train aerial->map Pix2Pix on CPU, evaluate on val, write samples.")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--preset", default="cpu-quick")
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"))
    p.add_argument("--gan-weight", type=float, default=None, help="0 trains the L1 term alone")
    p.add_argument("--lambda-l1", type=float, default=None,
                   help="weight of the L1 term (cpu-quick: 200; paper: 100)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--epochs", type=int, default=DEMO_EPOCHS,
                   help=f"upper bound on the run's length (default {DEMO_EPOCHS}: "
                        "the time budget ends it first)")
    p.add_argument("--time-budget", type=float, default=DEMO_MINUTES, metavar="MINUTES",
                   help="training (compilation included) stops after this many minutes; "
                        "the lr decay follows time, so the run still ends fully decayed "
                        f"(default {DEMO_MINUTES:g})")
    p.add_argument("--seed", type=int, default=None)
    add_execution_options(p)
    a = p.parse_args(argv)
    try:
        rec = run_demo(a.out, a.preset, a.direction, gan_weight=a.gan_weight,
                       lambda_L1=a.lambda_l1, max_steps=a.max_steps, epochs=a.epochs,
                       time_budget=a.time_budget, seed=a.seed, **execution_overrides(a))
    except CourseError as exc:
        print(f"demo: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    keys = ("n_images", "acc_delta5", "acc_delta10", "rmse", "l1", "psnr", "ssim", "mean_iou")
    print("\nmaps val, aerial -> map, GcGAN protocol:")
    for k in keys:
        if k in rec:
            print(f"  {k:12s} {rec[k]:.4f}" if isinstance(rec[k], float) else f"  {k:12s} {rec[k]}")
    print(f"wrote {a.out}/metrics.json, {a.out}/samples.png, {a.out}/losses.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
