"""Time autograding one student's notebooks (every assignment under solutions/) end to end.

    python benchmarks/grading_time.py            # the reference answers as the submission
    python benchmarks/grading_time.py --blank    # the blank release as the submission

In a temporary course folder: generate the release (this also registers the
assignments in the gradebook), submit one student's notebooks, then time
``nbgrader autograde <assignment> --student=<id>`` for each assignment, which
includes starting nbgrader, the kernel, and running the notebook in fast mode.
Prints JSON: wall seconds and child CPU seconds per notebook, the total, and
whether the total is within the course's target (2 minutes, set when there were four notebooks).
The machine's load average is printed too: other jobs on the same cores slow
the wall-clock times down.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 120.0
STUDENT = "bench"


def _release_module():
    spec = importlib.util.spec_from_file_location(
        "generate_release", REPO / "scripts" / "generate_release.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def submission(assignment: str, release_nb: Path, blank: bool):
    """The release, with the solution cells filled in from solutions/ unless ``blank``."""
    nb = nbformat.read(release_nb, as_version=4)
    if blank:
        return nb
    src = next((REPO / "solutions" / assignment).glob("*.ipynb"))
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
               for c in nbformat.read(src, as_version=4).cells}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blank", action="store_true", help="grade the blank release instead")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course folder")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; no record in results/grading_time.jsonl")
    args = parser.parse_args(argv)

    rel = _release_module()
    env = rel.nbgrader_env()
    env.pop("PIX2PIX_FAST", None)  # fast mode comes from nbgrader's NBGRADER_EXECUTION
    assignments = rel.find_assignments()
    tmp = Path(tempfile.mkdtemp(prefix="grading_time_"))
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_average_before": [round(x, 2) for x in os.getloadavg()]},
              "submission": "blank release" if args.blank else "reference answers",
              "assignments": {}}
    try:
        shutil.copy(REPO / "nbgrader_config.py", tmp / "nbgrader_config.py")
        start = time.perf_counter()
        rel.generate(assignments, tmp / "notebooks", tmp)
        result["generate_release_s"] = round(time.perf_counter() - start, 1)

        for assignment in assignments:
            release_nb = next((tmp / "notebooks" / assignment).glob("*.ipynb"))
            folder = tmp / "submitted" / STUDENT / assignment
            folder.mkdir(parents=True)
            nbformat.write(submission(assignment, release_nb, args.blank), folder / release_nb.name)

        total = 0.0
        for assignment in assignments:
            cpu0, t0 = _child_cpu(), time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nbgrader",
                    "autograde",
                    assignment,
                    f"--student={STUDENT}",
                    "--force",
                ],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
            )
            wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout + proc.stderr)
                raise SystemExit(f"autograde {assignment} failed")
            total += wall
            result["assignments"][assignment] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}
        result["total_autograde_s"] = round(total, 1)
        result["target_s"] = TARGET_S
        result["within_target"] = total <= TARGET_S
        result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if args.keep:
            result["course_folder"] = str(tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if not args.no_record:
        from course_utils.results import append_record

        append_record("grading_time", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
