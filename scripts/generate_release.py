"""Regenerate the student release notebooks/ from solutions/ with nbgrader.

Every folder ``solutions/<assignment>/`` that holds a notebook is an assignment.
For each, ``nbgrader generate_assignment`` replaces the solution regions with
``# YOUR CODE HERE`` stubs, removes the hidden tests, locks the test cells,
records their checksums, clears the outputs, and registers the assignment in
the gradebook (``<course root>/gradebook.db``). The result is written with
nbformat (sorted keys, one-space indent), so running this twice gives
byte-identical files.

Usage (from anywhere):

    python scripts/generate_release.py                  # all assignments -> notebooks/
    python scripts/generate_release.py 01_unet          # one assignment
    python scripts/generate_release.py --out /tmp/rel   # elsewhere (tests use this)

``--course-root`` is where nbgrader keeps ``gradebook.db`` (default: the
repository, whose ``gradebook.db`` is git-ignored); with ``--out`` and no
``--course-root`` a temporary gradebook is used and thrown away.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"


def find_assignments(solutions: Path = SOLUTIONS) -> list[str]:
    """Names of the folders under ``solutions`` that hold at least one ``.ipynb``, sorted."""
    return sorted(
        p.name for p in solutions.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
    )


def normalise(path: Path) -> None:
    """Rewrite a notebook with nbformat: no outputs or execution counts, stable formatting."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses: this Python's bin folder first on PATH.

    nbgrader runs the ``alembic`` executable to set up its gradebook, and finds it on
    PATH only, which fails when the virtualenv is used without being activated.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate(assignments: list[str], out: Path, course_root: Path) -> list[Path]:
    """Run ``nbgrader generate_assignment`` for each assignment into ``out``; return the notebooks.

    Raises:
        subprocess.CalledProcessError: if nbgrader fails (its log is printed).
    """
    out = out.resolve()
    written = []
    for name in assignments:
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
            f"--CourseDirectory.root={course_root}",
            f"--CourseDirectory.source_directory={SOLUTIONS}",
            f"--CourseDirectory.release_directory={out}",
            "--log-level=WARN",
        ]
        # cwd = the repository, so that nbgrader reads its nbgrader_config.py
        proc = subprocess.run(cmd, cwd=REPO, env=nbgrader_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            proc.check_returncode()
        for path in sorted(target.glob("*.ipynb")):
            normalise(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder under solutions/")
    parser.add_argument("--out", type=Path, default=RELEASE, help="release folder (default: notebooks/)")
    parser.add_argument("--course-root", type=Path, default=None,
                        help="where gradebook.db lives (default: the repo, or a temporary folder with --out)")
    args = parser.parse_args(argv)

    known = find_assignments()
    names = args.assignments or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"no notebook under solutions/ for {unknown}; known: {known}")

    with tempfile.TemporaryDirectory() as tmp:
        if args.course_root is not None:
            root = args.course_root.resolve()
        elif args.out.resolve() == RELEASE.resolve():
            root = REPO
        else:
            root = Path(tmp)
        for path in generate(names, args.out, root):
            print(f"wrote {path}")
    stale = sorted(p.name for p in args.out.iterdir() if p.is_dir() and p.name not in known) \
        if args.out.is_dir() else []
    if stale:
        print(f"warning: {args.out} has folders with no solution: {stale} (left untouched)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
