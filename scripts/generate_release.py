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

The repository URL. ``course.toml`` (at the repository root) names the public
repository and branch of the course. Before generating, every solution
notebook's "Open in Colab" badge and Colab setup cell (``git clone``), and the
clone command of ``README.md``, are rewritten from it (``write_repository``),
so that a fork only changes ``course.toml`` and runs ``make release``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
SETTINGS = REPO / "course.toml"
README = REPO / "README.md"

# What the release writes from course.toml (the parts in braces come from it):
BADGE = "https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/notebooks/"
CLONE = "git clone --depth 1 --branch {branch} {repository} pix2pix-course"
BADGE_RE = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/notebooks/")
CLONE_RE = re.compile(r"git clone --depth 1(?: --branch \S+)? https://\S+? pix2pix-course(?=[\"'\s])")
README_CLONE_RE = re.compile(r"git clone (?:--branch \S+ )?https://\S+")


def repository_settings(path: Path = SETTINGS) -> dict[str, str]:
    """``{"repository", "branch", "owner", "name"}`` from ``course.toml``.

    Raises:
        SystemExit: naming the file and the fix when it is missing or the URL is not a GitHub one
            (Colab opens notebooks from GitHub only).
    """
    try:  # `key = "value"` lines and comments: the subset of TOML that course.toml uses (Python 3.10 has no tomllib)
        settings = dict(re.findall(r'(?m)^\s*(\w+)\s*=\s*"([^"]*)"\s*(?:#.*)?$', path.read_text()))
    except FileNotFoundError:
        raise SystemExit(f"{path} is missing: it names the course's repository (see README, 'Publishing a fork')") from None
    repository = str(settings.get("repository", "")).rstrip("/")
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?", repository)
    if not match:
        raise SystemExit(f"{path}: repository = {repository!r} must look like https://github.com/OWNER/NAME "
                         "(Colab's badge opens notebooks from GitHub)")
    branch = str(settings.get("branch", "main"))
    return {"repository": repository, "branch": branch, "owner": match[1], "name": match[2]}


def write_repository(text: str, settings: dict[str, str], readme: bool = False) -> str:
    """``text`` with every badge and clone command pointing at the repository of ``settings``."""
    text = BADGE_RE.sub(BADGE.format(**settings).replace("\\", "\\\\"), text)
    text = CLONE_RE.sub(CLONE.format(**settings).replace("\\", "\\\\"), text)
    if readme:
        text = README_CLONE_RE.sub(f"git clone --branch {settings['branch']} {settings['repository']}", text)
    return text


def write_repository_everywhere(assignments: list[str], settings: dict[str, str]) -> list[Path]:
    """Rewrite the badges and clone commands of the solution notebooks and the README in place.

    Returns the files that changed. The notebooks are edited cell by cell through nbformat, so
    their formatting and cell ids stay as they were.
    """
    changed = []
    for name in assignments:
        for path in sorted((SOLUTIONS / name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            dirty = False
            for cell in nb.cells:
                new = write_repository(cell.source, settings)
                if new != cell.source:
                    cell.source, dirty = new, True
            if dirty:
                nbformat.write(nb, path)
                changed.append(path)
    if README.is_file():
        old = README.read_text()
        new = write_repository(old, settings, readme=True)
        if new != old:
            README.write_text(new)
            changed.append(README)
    return changed


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

    if args.out.resolve() == RELEASE.resolve():  # the real release: sources follow course.toml first
        for path in write_repository_everywhere(known, repository_settings()):
            print(f"repository URL updated in {path}")
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
