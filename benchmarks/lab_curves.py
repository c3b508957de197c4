"""Quality against CPU minutes for the comparisons of labs 5-8, each arm trained afresh per budget.

Usage::

    python benchmarks/lab_curves.py --labs nb05 nb06 nb07 nb08 --budgets 1 3 9
    python benchmarks/lab_curves.py --labs nb07 --budgets 1 --fast --no-record   # a smoke run

For every budget (in order), every lab and every arm of that lab's comparison,
this trains a fresh run with exactly the notebook's configuration
(:func:`course_utils.evaluation.curves.lab_arms`) for ``budget`` minutes of the
process's CPU time (all threads; the lr decay follows the budget, so each run
ends fully decayed), scores it with the notebook's held-out protocol
(:func:`course_utils.evaluation.curves.score_lab`) and appends one record per
run to ``results/lab_curves.jsonl``::

    {"lab", "arm", "cpu_minutes", "steps", "train_wall_seconds", "fast", "scores": {...}}

with the date, commit, command and machine (:mod:`course_utils.results`).
The notebooks plot these records, with the student's own run added live
(:func:`course_utils.evaluation.curves.plot_curves`). Records hold numbers
only, no images.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.evaluation.curves import LABS, RECORD_NAME, lab_arms, score_lab  # noqa: E402
from course_utils.results import append_record  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labs", nargs="+", choices=sorted(LABS), default=sorted(LABS))
    p.add_argument("--budgets", nargs="+", type=float, default=[1.0, 3.0, 9.0],
                   help="CPU minutes per run (the process's CPU time, all threads)")
    p.add_argument("--arms", nargs="*", default=None, help="only these arms (default: all)")
    p.add_argument("--fast", action="store_true",
                   help="the notebooks' fast mode: tiny networks, 2 steps, 4 val items")
    p.add_argument("--no-record", action="store_true", help="print the records only")
    args = p.parse_args(argv)

    from course_utils.training import generator_from_checkpoint, train

    command = "python " + shlex.join(sys.argv)
    for minutes in args.budgets:
        for lab in args.labs:
            configs = lab_arms(lab, minutes, fast=args.fast)
            if args.arms:
                configs = {k: v for k, v in configs.items() if k in args.arms}
            if not configs:
                continue
            generators, runs = {}, {}
            with tempfile.TemporaryDirectory(prefix=f"curves_{lab}_") as tmp:
                for arm, cfg in configs.items():
                    t0 = time.time()
                    summary = train(cfg, Path(tmp) / arm.replace(" ", "_"), progress=False)
                    generators[arm], _ = generator_from_checkpoint(
                        Path(tmp) / arm.replace(" ", "_") / "checkpoints" / "latest.pt", "cpu")
                    runs[arm] = {"steps": summary["step"],
                                 "budget_cpu_seconds": round(summary["budget_seconds"], 1),
                                 "train_wall_seconds": round(time.time() - t0, 1)}
                scores = score_lab(lab, generators, configs, fast=args.fast)
            for arm in configs:
                record = {"lab": lab, "arm": arm, "cpu_minutes": minutes, **runs[arm],
                          "fast": args.fast, "scores": scores[arm]}
                print(json.dumps(record), flush=True)
                if not args.no_record:
                    append_record(RECORD_NAME, record, command=command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
