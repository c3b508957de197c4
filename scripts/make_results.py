"""Write ``docs/results.md`` from the measurement records in ``results/*.jsonl``.

Usage (``make results`` runs the first form)::

    python scripts/make_results.py                               # results/ -> docs/results.md
    python scripts/make_results.py --results DIR --out FILE.md   # elsewhere (tests use this)

Each ``NAME.jsonl`` holds one JSON object per line, written by
:func:`course_utils.results.append_record`: ``date``, ``commit``, ``command``,
``machine`` (CPU model, vector units, threads, torch; ``gpu`` when one was used)
and the measured numbers. Every file becomes one section: a title, a sentence on
what was measured, a table of the important numbers (one row per record, with
its provenance: date, short commit, CPU or GPU) and the commands that measured
them. Topics this script does not know get a title from the file name and a
column for every top-level number.

The output depends only on the records: files, rows and commands are sorted, and
the current time appears nowhere, so running it twice gives the same bytes
(``tests/unit/test_results_doc.py`` checks that the committed file is up to date).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROVENANCE_KEYS = ("date", "commit", "command", "machine")


@dataclass(frozen=True)
class Column:
    """One table column: ``key`` is a dotted path into the record (``metrics.iou.road``)."""

    header: str
    key: str
    fmt: str | None = None  # format spec for numbers; None: see fmt_number
    scale: float = 1.0  # multiply numbers by this first (e.g. 1/60 for seconds -> minutes)


@dataclass(frozen=True)
class Topic:
    title: str
    about: str
    columns: tuple[Column, ...]
    sort: Callable[[dict], tuple] = field(default=lambda r: ())


TOPICS: dict[str, Topic] = {
    "demo_fresh_clone": Topic(
        title="`make demo` on a fresh clone",
        about=(
            "`benchmarks/demo_fresh_clone.py` clones the repository, runs `make demo` (install, "
            "maps data from the local mirror by default, training, evaluation) and times the whole "
            "of it. Scores are on the 366 maps val tiles, aerial -> map; one seed."
        ),
        columns=(
            Column("total (min)", "total_seconds", ".1f", 1 / 60),
            Column("within 15 min", "within_15_minutes"),
            Column("preset", "run.preset"),
            Column("steps", "run.steps"),
            Column("mean IoU", "metrics.mean_iou", ".3f"),
            Column("road IoU", "metrics.iou.road", ".3f"),
            Column("acc@δ5", "metrics.acc_delta5", ".3f"),
            Column("acc@δ10", "metrics.acc_delta10", ".3f"),
            Column("RMSE", "metrics.rmse", ".2f"),
            Column("execution", "run.execution"),
        ),
    ),
    "lab_curves": Topic(
        title="Labs 5-8: quality against CPU minutes",
        about=(
            "`benchmarks/lab_curves.py` trains every arm of a lab's comparison afresh for each "
            "budget of the training process's CPU time (the notebooks' configurations, "
            "`course_utils.evaluation.curves.lab_arms`) and scores it with the notebook's held-out "
            "protocol: nb05 and nb08 on maps val (palette IoU, acc@δ10), nb06 with the facades "
            "segmenter (mean IoU), nb07 PSNR on Y and the spectral gap above 0.125 cycles/px. One "
            "seed per row; rows sorted by lab, arm and budget. On an idle 2-core machine the runs "
            "below took 0.7 to 0.9 wall-clock minutes per CPU minute (the `wall min` column); on "
            "a shared machine that ratio rises and a run makes fewer steps in its budget."
        ),
        columns=(
            Column("lab", "lab"),
            Column("arm", "arm"),
            Column("CPU min", "cpu_minutes", "g"),
            Column("steps", "steps"),
            Column("wall min", "train_wall_seconds", ".1f", 1 / 60),
            Column("mean IoU", "scores.mean_iou", ".3f"),
            Column("road IoU", "scores.road_iou", ".3f"),
            Column("acc@δ10", "scores.acc_delta10", ".3f"),
            Column("PSNR-Y", "scores.psnr_y", ".2f"),
            Column("spectral gap", "scores.spectral_gap", "+.2f"),
        ),
        sort=lambda r: (str(r.get("lab", "")), str(r.get("arm", "")), _num(r.get("cpu_minutes"))),
    ),
    "nb05_pix2pix_vs_pix2pixhd": Topic(
        title="Notebook 5's own full run (Pix2Pix against Pix2PixHD)",
        about=(
            "Section 6 of notebook 5 run top to bottom in full mode: each arm trained for the "
            "notebook's CPU minutes and scored on 122 maps val tiles at 512². One seed."
        ),
        columns=(
            Column("CPU min", "cpu_minutes", "g"),
            Column("Pix2Pix steps", "scores.Pix2Pix.steps"),
            Column("Pix2Pix mean IoU", "scores.Pix2Pix.mean_iou", ".3f"),
            Column("HD + L1 steps", "scores.Pix2PixHD + L1.steps"),
            Column("HD + L1 mean IoU", "scores.Pix2PixHD + L1.mean_iou", ".3f"),
            Column("HD paper losses mean IoU", "scores.Pix2PixHD (paper losses).mean_iou", ".3f"),
        ),
    ),
    "nb06_spade_vs_pix2pix": Topic(
        title="Notebook 6's own full run (SPADE against Pix2Pix)",
        about=(
            "Section 5 of notebook 6 run top to bottom in full mode: the segmenter's mean IoU on "
            "the 100 facades val photos, real and generated. One seed."
        ),
        columns=(
            Column("CPU min", "cpu_minutes", "g"),
            Column("real photos", "scores.real photos (reference).mean_iou", ".3f"),
            Column("Pix2Pix steps", "steps.Pix2Pix"),
            Column("Pix2Pix", "scores.Pix2Pix.mean_iou", ".3f"),
            Column("SPADE steps", "steps.SPADE"),
            Column("SPADE", "scores.SPADE.mean_iou", ".3f"),
        ),
    ),
    "nb07_srresnet_vs_srgan": Topic(
        title="Notebook 7's own full run (SRResNet against SRGAN)",
        about=(
            "Section 5 of notebook 7 run top to bottom in full mode: PSNR on Y (dB) and the "
            "spectral gap above 0.125 cycles/px on the 366 maps val crops. One seed."
        ),
        columns=(
            Column("CPU min", "cpu_minutes", "g"),
            Column("bicubic PSNR", "scores.bicubic.psnr_y", ".2f"),
            Column("SRResNet PSNR", "scores.SRResNet (MSE).psnr_y", ".2f"),
            Column("SRGAN PSNR", "scores.SRGAN.psnr_y", ".2f"),
            Column("SRResNet gap", "scores.SRResNet (MSE).spectral_gap", "+.2f"),
            Column("SRGAN gap", "scores.SRGAN.spectral_gap", "+.2f"),
        ),
    ),
    "nb08_beyond": Topic(
        title="Notebook 8's own full run (section 4)",
        about=(
            "Section 4 of notebook 8 run top to bottom in full mode: mean IoU on the 366 maps val "
            "tiles, eval-mode flicker in grey levels, the temporal term's fine-tuning and the "
            "spectral detector's held-out accuracy. One seed."
        ),
        columns=(
            Column("CPU min", "cpu_minutes", "g"),
            Column("Pix2Pix mean IoU", "scores.Pix2Pix (L1 + cGAN).mean_iou", ".3f"),
            Column("CycleGAN mean IoU", "scores.CycleGAN (unpaired).mean_iou", ".3f"),
            Column("flicker L1 + cGAN", "flicker_grey_levels.Pix2Pix L1+cGAN, eval mode", ".2f"),
            Column("flicker L1 only", "flicker_grey_levels.Pix2Pix L1 only, eval mode", ".2f"),
            Column("flicker λ_T = 0", "temporal_term.fine-tuned, lambda_T = 0 (control)"
                   ".flicker_eval", ".2f"),
            Column("flicker λ_T = 100", "temporal_term.fine-tuned, lambda_T = 100.flicker_eval",
                   ".2f"),
            Column("detector acc.", "spectral_detector_accuracy", ".3f"),
        ),
    ),
    "notebook_runtime": Topic(
        title="Notebooks run top to bottom in full mode",
        about=(
            "`benchmarks/notebook_runtime.py` executes a solution notebook with its full "
            "(not fast) settings in a fresh kernel and measures the wall-clock time and the "
            "kernel's CPU time. The load average column says whether the machine was idle."
        ),
        columns=(
            Column("notebook", "notebook"),
            Column("wall (min)", "wall_seconds", ".1f", 1 / 60),
            Column("kernel CPU (min)", "kernel_cpu_seconds", ".1f", 1 / 60),
            Column("load before", "load_before", ".2f"),
            Column("ok", "ok"),
        ),
        sort=lambda r: (str(r.get("notebook", "")),),
    ),
    "quality_per_minute": Topic(
        title="Quality per CPU-minute (Pix2Pix, maps aerial -> map)",
        about=(
            "`benchmarks/quality_per_minute.py` trains a recipe for a fixed wall-clock budget "
            "(the learning rate decays over the budget) and scores it on the 366 maps val tiles: "
            "acc@δ and RMSE (GcGAN protocol) and the map-palette IoU. Each row is one run with "
            "one seed; rows sorted by budget, label and seed."
        ),
        columns=(
            Column("label", "label"),
            Column("budget (min)", "budget_minutes", "g"),
            Column("seed", "seed"),
            Column("steps", "steps"),
            Column("GFLOP", "gflop_total", ".0f"),
            Column("mean IoU", "mean_iou", ".3f"),
            Column("road IoU", "road_iou", ".3f"),
            Column("acc@δ5", "acc_delta5", ".3f"),
            Column("acc@δ10", "acc_delta10", ".3f"),
            Column("RMSE", "rmse", ".2f"),
            Column("execution", "execution"),
        ),
        sort=lambda r: (
            _num(r.get("budget_minutes")),
            str(r.get("label", "")),
            _num(r.get("seed")),
        ),
    ),
    "train_throughput": Topic(
        title="Training throughput",
        about=(
            "`benchmarks/train_throughput.py` times full training steps (netD + netG) on random "
            "batches: the default path of `pix2pix train` against the plain float32 path, in one "
            "run. GFLOP/s as a fraction of the best float32 convolution rate measured in the "
            "same run."
        ),
        columns=(
            Column("config", "config"),
            Column("netG", "netG"),
            Column("batch", "batch_size"),
            Column("crop", "crop_size"),
            Column("images/s", "images_per_second", ".1f"),
            Column("plain images/s", "plain_images_per_second", ".1f"),
            Column("speed-up", "speedup", ".2f"),
            Column("GFLOP/s", "gflops_per_second", ".1f"),
            Column("of peak", "fraction_of_peak", ".0%"),
            Column("default path", "path"),
        ),
    ),
}


def _num(value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def title_from_name(name: str) -> str:
    """``grading_time`` -> ``Grading time``."""
    words = name.replace("-", " ").replace("_", " ").split()
    return " ".join(words).capitalize() if words else name


def generic_topic(name: str, records: list[dict]) -> Topic:
    """A column for every top-level number (not bool) of the records, in sorted key order."""
    keys = sorted(
        {
            k
            for r in records
            for k, v in r.items()
            if k not in PROVENANCE_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
        }
    )
    return Topic(
        title=title_from_name(name),
        about=f"Every number of the records in `results/{name}.jsonl`.",
        columns=tuple(Column(k, k) for k in keys),
    )


def lookup(record: dict, key: str):
    value = record
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def fmt_number(value: float) -> str:
    """Numbers without a column format: integers as they are, floats to about 3-4 digits."""
    if isinstance(value, int):
        return str(value)
    size = abs(value)
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def cell(value, column: Column) -> str:
    if value is None:
        text = "–"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int | float):
        scaled = value * column.scale if column.scale != 1.0 else value
        text = format(scaled, column.fmt) if column.fmt else fmt_number(scaled)
    elif isinstance(value, list | dict):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def short_commit(commit) -> str:
    if not commit:
        return "?"
    head, plus, rest = str(commit).partition("+")
    return head[:7] + plus + rest


def provenance(record: dict) -> str:
    """``2026-12-06, 47a23d7, AMD EPYC (AVX512-BF16), 2 threads`` or ``..., GPU: NVIDIA H100``."""
    date = str(record.get("date") or "?")[:10]
    machine = record.get("machine") or {}
    if machine.get("gpu"):
        where = f"GPU: {machine['gpu']}"
    else:
        where = str(machine.get("cpu_model") or record.get("cpu_model") or "CPU ?")
        units = machine.get("vector_units") or []
        if units:
            where += f" ({units[-1]})"  # the most advanced unit listed, e.g. AVX-512 over AVX2
        threads = machine.get("threads")
        if threads:
            where += f", {threads} thread" + ("s" if threads != 1 else "")
    return f"{date}, `{short_commit(record.get('commit'))}`, {where}"


def read_records(path: Path) -> list[dict]:
    records = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise SystemExit(f"{path}, line {lineno}: not JSON ({err})") from None
        if not isinstance(record, dict):
            raise SystemExit(f"{path}, line {lineno}: expected a JSON object")
        records.append(record)
    return records


def section(name: str, records: list[dict]) -> list[str]:
    topic = TOPICS.get(name) or generic_topic(name, records)
    # stable: the topic's key first, then date, then the order in the file
    rows = sorted(records, key=lambda r: (topic.sort(r), str(r.get("date", ""))))
    commands: list[str] = []
    for r in rows:
        command = str(r.get("command") or "")
        if command and command not in commands:
            commands.append(command)
    headers = [c.header for c in topic.columns] + ["cmd", "date, commit, machine"]
    out = [f"## {topic.title}", "", f"Records: `results/{name}.jsonl`. {topic.about}", ""]
    out.append("| " + " | ".join(headers) + " |")
    out.append("|" + "|".join("---" for _ in headers) + "|")
    for r in rows:
        command = str(r.get("command") or "")
        ref = str(commands.index(command) + 1) if command else "–"
        cells = [cell(lookup(r, c.key), c) for c in topic.columns] + [ref, provenance(r)]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if commands:
        out.append("Commands (the `cmd` column):")
        out.append("")
        out += [f"{i}. `{c}`" for i, c in enumerate(commands, 1)]
        out.append("")
    return out


def render(results: Path) -> str:
    files = sorted(results.glob("*.jsonl"))
    out = [
        "# Measured results",
        "",
        "Written by `make results` (`scripts/make_results.py`) from the records in `results/`;",
        "do not edit by hand. Each benchmark appends one JSON line per measurement",
        "(`course_utils/results.py`); the records also keep the full machine details and",
        "the numbers not shown here.",
        "",
        "The last column is the provenance of each row: the date, the commit (`+dirty`: the",
        "checkout had uncommitted changes), and the CPU model with its most advanced vector "
            "unit and",
        "the torch threads, or the GPU. Numbers from different machines or commits are not",
        "directly comparable.",
        "",
    ]
    if not files:
        out += ["No records yet.", ""]
    for path in files:
        records = read_records(path)
        if records:
            out += section(path.stem, records)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--results", type=Path, default=REPO / "results", help="folder of *.jsonl records"
    )
    p.add_argument(
        "--out", type=Path, default=REPO / "docs" / "results.md", help="Markdown file to write"
    )
    a = p.parse_args(argv)
    text = render(a.results)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
