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
repository, its ``branch`` (the README's clone command) and the ``release``, the
tag that the notebooks' "Open in Colab" badges open and their Colab set-up cells
check out (default: the branch). Before generating, every solution notebook's
badge and Colab set-up cell, and the clone command of ``README.md``, are
rewritten from it (``write_repository``), so that a fork only changes
``course.toml`` and runs ``make release``.

The Colab set-up cell is written whole from ``COLAB_SETUP`` (``colab_setup_cell``);
only the data sets it fetches come from the notebook (its ``pix2pix data fetch``
line). The cell stops with an error naming the step that failed (clone, update,
install, data), can be run twice (an existing clone is fetched and checked out
at the release again; the install and the data fetch check what is there), and
installs ``course_utils`` without ``--upgrade``, so packages that Colab ships and
that already satisfy the requirements (torch, ipywidgets) are kept.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
SETTINGS = REPO / "course.toml"
README = REPO / "README.md"

# What the release writes from course.toml (the parts in braces come from it):
BADGE = "https://colab.research.google.com/github/{owner}/{name}/blob/{release}/notebooks/"
CLONE = "git clone --depth 1 --branch {release} {repository} pix2pix-course"
BADGE_RE = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/notebooks/")
CLONE_RE = re.compile(
    r"git clone --depth 1(?: --branch \S+)? https://\S+? pix2pix-course(?=[\"'\s])"
)
README_CLONE_RE = re.compile(r"git clone (?:--branch \S+ )?https://\S+")


def repository_settings(path: Path = SETTINGS) -> dict[str, str]:
    """``{"repository", "branch", "release", "owner", "name"}`` from ``course.toml``.

    ``release`` (the tag that the badges open and the Colab set-up cells check out) defaults to
    ``branch``, and ``branch`` to ``"main"``.

    Raises:
        SystemExit: naming the file and the fix when it is missing, the URL is not a GitHub one
            (Colab opens notebooks from GitHub only), or a branch or tag name is malformed.
    """
    # `key = "value"` lines and comments: the subset of TOML that course.toml uses (Python 3.10 has
    # no tomllib)
    try:
        settings = dict(re.findall(r'(?m)^\s*(\w+)\s*=\s*"([^"]*)"\s*(?:#.*)?$', path.read_text()))
    except FileNotFoundError:
        raise SystemExit(
            f"{path} is missing: it names the course's repository (see README, 'Publishing a fork')"
        ) from None
    repository = str(settings.get("repository", "")).rstrip("/")
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?", repository)
    if not match:
        raise SystemExit(
            f"{path}: repository = {repository!r} must look like https://github.com/OWNER/NAME "
            "(Colab's badge opens notebooks from GitHub)"
        )
    branch = str(settings.get("branch", "main"))
    release = str(settings.get("release", branch))
    for key, value in (("branch", branch), ("release", release)):
        if not re.fullmatch(r"[\w.-]+(?:/[\w.-]+)*", value):
            raise SystemExit(f"{path}: {key} = {value!r} is not a git branch or tag name")
    return {
        "repository": repository,
        "branch": branch,
        "release": release,
        "owner": match[1],
        "name": match[2],
    }


# The Colab set-up cell of every notebook. Its parts in braces come from course.toml and from the
# data sets the notebook names (the header comment says which); `make release` rewrites the whole
# cell, so edit it here. Its lines longer than 100 characters are split in two, the quotes closed
# and reopened mid-line: the pieces join into the cell's text unchanged.
COLAB_SETUP = ('''\
{header}
import os
import subprocess
import sys

IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    def setup_step(step, command):
        """Run one set-up command, show its output, and stop with a clear message if it fails."""
        print(f"[setup] {{step}}: {{command}}", flush=True)
        quiet_git = dict(os.environ, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="advice.detachedHead",
                         GIT_CONFIG_VALUE_0="false")  # a tag is checked out detached: '''
'''no advice text
        proc = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, '''
'''stderr=subprocess.STDOUT, text=True,
                                env=quiet_git)
        lines = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        if proc.wait() != 0:
            raise RuntimeError(f"Colab set-up failed at the step '{{step}}' (exit status '''
'''{{proc.returncode}}); "
                               f"its last lines:\\n{{''.join(lines[-15:])}}\\nFix the cause '''
'''(often the network) and "
                               "run this cell again.")

    if os.path.isdir("pix2pix-course/.git"):  # a second run: put the existing clone back '''
'''on the release
        setup_step("update the course code", "git -C pix2pix-course fetch --depth 1 '''
'''origin {release} "
                   "&& git -C pix2pix-course checkout --quiet --force FETCH_HEAD")
    elif os.path.exists("pix2pix-course"):
        raise RuntimeError("Colab set-up: pix2pix-course/ exists but is not a git clone. Delete it "
                           "(!rm -rf pix2pix-course) and run this cell again.")
    else:
        setup_step("clone the course code", "{clone}")
    # No --upgrade: what Colab ships (torch, ipywidgets) is kept where it satisfies '''
'''course_utils' requirements.
    setup_step("install course_utils", f"{{sys.executable}} -m pip install -q -e pix2pix-course")
    if os.path.abspath("pix2pix-course") not in sys.path:
        sys.path.insert(0, os.path.abspath("pix2pix-course"))  # the editable install needs '''
'''a restart otherwise
    setup_step("fetch the data", "pix2pix data fetch {datasets} --root pix2pix-course/data")
    os.environ["PIX2PIX_DATA_ROOT"] = os.path.abspath("pix2pix-course/data")''')
COLAB_MARK = 'IN_COLAB = "google.colab" in sys.modules'
DATA_SIZES = {"maps": "the maps data (about 250 MB)", "facades": "the facades data (about 30 MB)",
              "isbi2012": "the ISBI 2012 data (about 23 MB)"}
DATASETS_RE = re.compile(r"pix2pix data fetch ([\w ]+?) --root")


def colab_setup_cell(source: str, settings: dict[str, str]) -> str:
    """The Colab set-up cell written from ``COLAB_SETUP`` for the data sets that ``source`` fetches.

    Raises:
        SystemExit: when ``source`` names no ``pix2pix data fetch ... --root`` line or an unknown
            data set.
    """
    match = DATASETS_RE.search(source)
    if not match:
        raise SystemExit(
            "a Colab set-up cell must fetch its data with `pix2pix data fetch NAMES --root ...`"
        )
    names = match[1].split()
    unknown = sorted(set(names) - set(DATA_SIZES))
    if unknown:
        raise SystemExit(
            f"Colab set-up cell: unknown data sets {unknown}; known: {sorted(DATA_SIZES)}"
        )
    parts = [f"the course code (release {settings['release']})"] + [DATA_SIZES[n] for n in names]
    fetched = ", ".join(parts[:-1]) + " and " + parts[-1]
    header = textwrap.fill(
        f"Setup. On Google Colab this fetches {fetched}; "
        "anywhere else it does nothing (run `make setup` once in the repository instead). "
        "Running it again is safe: the clone is put back on the release, the install and the data "
        "are checked.",
        width=100,
        initial_indent="# ",
        subsequent_indent="# ",
    )
    return COLAB_SETUP.format(
        header=header, datasets=" ".join(names), clone=CLONE.format(**settings), **settings
    )


def write_repository(text: str, settings: dict[str, str], readme: bool = False) -> str:
    """``text`` with every badge and clone command pointing at the repository of ``settings``.

    A notebook's Colab set-up cell (the code cell that defines ``IN_COLAB``) is written whole from
    ``COLAB_SETUP``.
    """
    if COLAB_MARK in text:
        text = colab_setup_cell(text, settings)
    text = BADGE_RE.sub(BADGE.format(**settings).replace("\\", "\\\\"), text)
    text = CLONE_RE.sub(CLONE.format(**settings).replace("\\", "\\\\"), text)
    if readme:
        text = README_CLONE_RE.sub(
            f"git clone --branch {settings['branch']} {settings['repository']}", text
        )
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
    parser.add_argument(
        "--out", type=Path, default=RELEASE, help="release folder (default: notebooks/)"
    )
    parser.add_argument(
        "--course-root",
        type=Path,
        default=None,
        help="where gradebook.db lives (default: the repo, or a temporary folder with --out)",
    )
    args = parser.parse_args(argv)

    known = find_assignments()
    names = args.assignments or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"no notebook under solutions/ for {unknown}; known: {known}")

    if (
        args.out.resolve() == RELEASE.resolve()
    ):  # the real release: sources follow course.toml first
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
        print(
            f"warning: {args.out} has folders with no solution: {stale} (left untouched)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
