"""Time grading a class: ``pix2pix grade --jobs N`` (sandboxed, parallel) against serial
``nbgrader autograde``.

    python benchmarks/class_grading.py                            # 20 students, every assignment
    python benchmarks/class_grading.py --students 4 --assignments 02_patchgan --jobs 2

In a temporary course folder: generate the release of the chosen assignments (registering them
in the gradebook), submit the reference answers for ``--students`` students, then for each
assignment time (a) ``nbgrader autograde ASSIGNMENT`` (every student, one after the other, stock
executor settings from ``nbgrader_config.py``) and (b) ``pix2pix grade ASSIGNMENT --jobs N``
(audit, scratch copy, sandbox, merge) on a fresh copy of the same course. Prints JSON: seconds per
assignment for both, totals, the speed-up, whether both gave every student full marks, the
isolation used and the machine's load, and appends them as a record to
``results/class_grading.jsonl`` (``--no-record``: print only). The defaults are the issue's class
(20 students, every assignment): on a 2-core machine both modes take well over an hour, so try
smaller numbers first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]


def _release_module():
    spec = importlib.util.spec_from_file_location(
        "generate_release", REPO / "scripts" / "generate_release.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_submission(assignment: str, release_nb: Path):
    nb = nbformat.read(release_nb, as_version=4)
    src = next((REPO / "solutions" / assignment).glob("*.ipynb"))
    answers = {
        c.metadata.get("nbgrader", {}).get("grade_id"): c.source
        for c in nbformat.read(src, as_version=4).cells
    }
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


def full_marks(root: Path, assignment: str, students: list[str]) -> bool:
    os.environ["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for s in students:
            sub = gb.find_submission(assignment, s)
            if sub.score != sub.max_score:
                return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument(
        "--assignments", nargs="*", default=None, help="default: every folder under solutions/"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-serial", action="store_true", help="time only pix2pix grade")
    parser.add_argument(
        "--no-record", action="store_true", help="do not append to results/class_grading.jsonl"
    )
    args = parser.parse_args(argv)

    rel = _release_module()
    env = rel.nbgrader_env()
    env.pop("PIX2PIX_FAST", None)
    assignments = args.assignments or rel.find_assignments()
    students = [f"s{i:03d}" for i in range(args.students)]
    base = Path(tempfile.mkdtemp(prefix="class_grading_"))
    result = {"students": args.students, "assignments": assignments, "jobs": args.jobs,
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_average_before": [round(x, 2) for x in os.getloadavg()]},
              "serial_nbgrader_s": {}, "pix2pix_grade_s": {}}
    try:
        course = base / "course"
        course.mkdir()
        shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
        rel.generate(assignments, course / "notebooks", course)
        for a in assignments:
            release_nb = next((course / "notebooks" / a).glob("*.ipynb"))
            nb = reference_submission(a, release_nb)
            for s in students:
                folder = course / "submitted" / s / a
                folder.mkdir(parents=True)
                nbformat.write(nb, folder / release_nb.name)
        parallel = base / "parallel"
        shutil.copytree(course, parallel)

        from course_utils.grading.grade import grade, isolation_available

        result["isolation"] = "unshare" if isolation_available() else "none"
        ok_serial = ok_parallel = True
        for a in assignments:
            if not args.skip_serial:
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a, "--force"],
                                      cwd=course, env=env, capture_output=True, text=True)
                result["serial_nbgrader_s"][a] = round(time.perf_counter() - t0, 1)
                if proc.returncode != 0:
                    sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                ok_serial &= full_marks(course, a, students)
            t0 = time.perf_counter()
            grade(parallel, a, jobs=args.jobs, log=lambda *x: None)
            result["pix2pix_grade_s"][a] = round(time.perf_counter() - t0, 1)
            ok_parallel &= full_marks(parallel, a, students)
        result["serial_total_s"] = round(sum(result["serial_nbgrader_s"].values()), 1)
        result["pix2pix_grade_total_s"] = round(sum(result["pix2pix_grade_s"].values()), 1)
        if result["serial_total_s"]:
            result["speedup"] = round(result["serial_total_s"] / result["pix2pix_grade_total_s"], 2)
        result["serial_full_marks"] = None if args.skip_serial else ok_serial
        result["pix2pix_grade_full_marks"] = ok_parallel
        result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if not args.no_record:
        from course_utils.results import append_record

        append_record(
            "class_grading",
            result,
            "python benchmarks/class_grading.py " + " ".join(argv or sys.argv[1:]),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
