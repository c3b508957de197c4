"""Quality per CPU-minute: train a Pix2Pix recipe (aerial -> map) for several time budgets, score
each on maps val.

Usage::

    python benchmarks/quality_per_minute.py --recipe cpu-quick --budgets 3 6 10.5 [--seeds 0 1]
        [--set ema=0 --set l1_warmup=0 ...] [--amp off --no-compile] [--label NAME]
    python benchmarks/quality_per_minute.py --plot docs/quality_per_minute.png [--labels old new]

Each (seed, budget) trains a fresh run for ``budget`` minutes of wall-clock
time (the lr decay follows the budget, so each run ends fully decayed), then
scores its generator (the EMA when the recipe keeps one) on the 366 held-out
maps val tiles with the GcGAN protocol and the map-palette IoU, and prints
one JSON line::

    {"label", "recipe", "overrides", "seed", "budget_minutes", "steps", "gan_steps",
     "gflop_per_step", "gflop_per_l1_step", "gflop_total", "acc_delta5", "acc_delta10",
     "rmse", "mean_iou", "road_iou", "execution", "cpu_model", "date"}

and appends it to ``results/quality_per_minute.jsonl`` with the commit, the
command and the machine (:mod:`course_utils.results`). GFLOP are counted by
``torch.utils.flop_counter`` on one training step of the recipe (forward,
backward; a GAN step and an L1-only step); ``gflop_total`` adds them over the
run's steps of each kind.

``--recipe`` is a Pix2Pix preset: ``cpu-quick``, or ``cpu-quick-v1``, the
``cpu-quick`` recipe before the quality-per-minute work (70x70 PatchGAN of
width 32, no EMA), so that both curves can be measured again side by side.
``--plot`` draws road IoU and acc@delta10 against the budget from the records,
one curve (mean over seeds) per label.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from course_utils.cli import add_execution_options, execution_overrides
from course_utils.results import append_record, machine, results_dir

RECORD = "quality_per_minute"
# What `make demo` must reach on the 366 val tiles (acc@delta5 >= 0.30 too, not drawn).
DEMO_BAR = {"acc_delta5": 0.30, "acc_delta10": 0.60, "rmse": 26.0, "road_iou": 0.25}

def config(recipe: str, overrides: dict):
    from course_utils.training.config import config_from_preset

    return config_from_preset(recipe, **overrides)


def gflop_per_step(cfg) -> tuple[float, float]:
    """GFLOP of one GAN step and one L1-only step of ``cfg`` (counted, not timed)."""
    from course_utils.training.optim import make_optimizers
    from course_utils.training.recipes.pix2pix import build_networks, train_step

    torch.manual_seed(0)
    netG, netD = build_networks(cfg)
    optG, optD = make_optimizers(netG, netD, cfg.lr, cfg.beta1)
    shape = (cfg.batch_size, cfg.in_channels, cfg.crop_size, cfg.crop_size)
    real_A, real_B = torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1
    out = []
    for gan_weight in (cfg.gan_weight, 0.0):
        with FlopCounterMode(display=False) as counter:
            train_step(
                netG,
                netD,
                optG,
                optD,
                real_A,
                real_B,
                lambda_L1=cfg.lambda_L1,
                gan_weight=gan_weight,
            )
        out.append(counter.get_total_flops() / 1e9)
    return out[0], out[1]


def run_one(cfg, out_dir: Path, palette) -> dict:
    from course_utils.data.datasets import dataset_folder
    from course_utils.evaluation.evaluate import evaluate
    from course_utils.training.checkpoint import generator_from_checkpoint
    from course_utils.training.loop import eval_dataset, train

    if out_dir.exists():
        shutil.rmtree(out_dir)
    summary = train(cfg, out_dir, progress=False)
    rows = [
        json.loads(line)
        for line in (out_dir / "losses.jsonl").read_text().splitlines()
        if line.strip()
    ]
    gan_steps = sum(1 for r in rows if r["D_real"] != 0.0 or r["D_fake"] != 0.0)
    netG, _ = generator_from_checkpoint(out_dir / "checkpoints" / "latest.pt")
    val = eval_dataset(dataset_folder("maps", "val"), cfg, progress=False)
    metrics = evaluate(
        netG, val, device=torch.device("cpu"), mode="eval", palette=palette, progress=False
    )
    return {"steps": summary["step"], "gan_steps": gan_steps, "execution": summary["execution"],
            "train_seconds": round(summary["seconds"], 1), **metrics}


def plot(out: Path, labels: list[str] | None) -> Path:
    from matplotlib.figure import Figure

    path = results_dir() / f"{RECORD}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = defaultdict(lambda: defaultdict(list))
    for r in records:
        if labels is None or r["label"] in labels:
            by[r["label"]][r["budget_minutes"]].append(r)
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 3)
    for label in labels or sorted(by):
        points = sorted(by[label].items())
        x = [b for b, _ in points]
        for ax, key in zip(axes, ("road_iou", "acc_delta10", "rmse")):
            ys = [[r[key] for r in rs] for _, rs in points]
            ax.plot(x, [sum(y) / len(y) for y in ys], "o-", label=label)
            for xi, y in zip(x, ys):
                ax.plot([xi] * len(y), y, ".", color=ax.lines[-1].get_color(), alpha=0.5)
    for ax, title, bar in zip(
        axes,
        ("road IoU (higher is better)", "acc@δ10 (higher is better)", "RMSE (lower is better)"),
        (DEMO_BAR["road_iou"], DEMO_BAR["acc_delta10"], DEMO_BAR["rmse"]),
    ):
        ax.axhline(bar, color="k", ls="--", lw=0.8, label="make demo's bar")
        ax.set_title(title)
        ax.set_xlabel("training minutes")
        ax.grid(alpha=0.3)
        ax.legend()
    cpu = {
        r["machine"]["cpu_model"] + " " + r["machine"].get("cpu_family_model", "")
        for rs in by.values()
        for v in rs.values()
        for r in v
    }
    fig.suptitle(
        f"Pix2Pix aerial → map, maps val (366 tiles); {', '.join(sorted(cpu))}; dots: seeds",
        fontsize=9,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: write KEY=VALUE, e.g. --set ema=0.999")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--recipe",
        default="cpu-quick",
        help="a Pix2Pix preset, e.g. cpu-quick or cpu-quick-v1 (the earlier recipe)",
    )
    p.add_argument("--budgets", type=float, nargs="+", default=[3, 6, 10.5], metavar="MINUTES")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig override"
    )
    p.add_argument(
        "--label", default=None, help="the curve's name (default: the recipe and the overrides)"
    )
    p.add_argument("--out", default="runs/quality_per_minute", help="folder for the run folders")
    p.add_argument(
        "--no-record", action="store_true", help="print only; append nothing to results/"
    )
    p.add_argument(
        "--plot", type=Path, default=None, help="draw the recorded curves to this PNG and exit"
    )
    p.add_argument("--labels", nargs="+", default=None, help="with --plot: the curves to draw")
    add_execution_options(p)
    a = p.parse_args(argv)
    if a.plot:
        print(plot(a.plot, a.labels))
        return 0

    from course_utils.evaluation.palette import maps_palette

    overrides = parse_overrides(a.set)
    exec_overrides = {k: v for k, v in execution_overrides(a).items() if v is not None}
    label = a.label or " ".join([a.recipe, *a.set])
    palette = maps_palette()
    gflop, gflop_l1 = gflop_per_step(config(a.recipe, overrides))
    command = shlex.join(
        [
            "python",
            "benchmarks/quality_per_minute.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    for seed in a.seeds:
        for budget in a.budgets:
            cfg = config(
                a.recipe,
                {
                    **overrides,
                    **exec_overrides,
                    "seed": seed,
                    "time_budget": budget,
                    "epochs": 1000,
                    "dataset": "maps",
                    "direction": "AtoB",
                },
            )
            slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
            r = run_one(cfg, Path(a.out) / f"{slug}_seed{seed}_{budget:g}min", palette)
            l1_steps = r["steps"] - r["gan_steps"]
            rec = {
                "label": label, "recipe": a.recipe, "overrides": overrides, "seed": seed,
                "budget_minutes": budget, "steps": r["steps"], "gan_steps": r["gan_steps"],
                "gflop_per_step": round(gflop, 2), "gflop_per_l1_step": round(gflop_l1, 2),
                "gflop_total": round(r["gan_steps"] * gflop + l1_steps * gflop_l1, 1),
                "acc_delta5": round(r["acc_delta5"], 4), "acc_delta10": round(r["acc_delta10"], 4),
                "rmse": round(r["rmse"], 3), "mean_iou": round(r["mean_iou"], 4),
                "road_iou": round(r["iou"]["road"] or 0.0, 4), "iou": r["iou"],
                "train_seconds": r["train_seconds"], "execution": r["execution"],
                "cpu_model": machine()["cpu_model"], "date": date.today().isoformat(),
            }
            print(json.dumps(rec), flush=True)
            if not a.no_record:
                append_record(RECORD, rec, command=command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
