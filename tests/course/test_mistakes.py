"""The mistake catalogue: each typical student mistake must cost exactly the points it should.

Every ``tests/course/mistakes/<notebook folder>.py`` defines::

    NOTEBOOK = "solutions/02_patchgan/02_patchgan.ipynb"
    MISTAKES = [
        dict(id="no-detach", cell="train_step", find="fake_B.detach()", replace="fake_B",
             fails=["test_train_step"]),
    ]

For each mistake this harness copies the solution notebook, replaces ``find``
(which must occur exactly once) by ``replace`` in the solution cell whose
nbgrader ``grade_id`` is ``cell``, executes the notebook in fast mode with
errors allowed (as ``nbgrader autograde`` does), and asserts that the test
cells listed in ``fails`` raise and that every other test cell passes. A
sanity test checks that the unmodified solution passes every test cell.

A catalogue may also define ``HARMLESS``: changes written the same way but
without ``fails``, which a correct answer may contain (a comment that names
``course_utils``, another but equivalent formulation). Every test cell must
still pass with them: a grader that fails them is too strict.

``tests/course/independent/<notebook folder>.py`` holds correct answers written independently of
the reference (at least three "students" per notebook, each answering every graded cell in their
own style): each student's notebook must keep full marks. The copy audit measures its false
positives on them (tests/course/test_similarity.py).

Speed: the cells before the changed one are the reference's, so they run once
per notebook and each change runs in a process forked from there
(tests/course/notebook_fork_server.py; an IPython shell, not a kernel); figures are
not rendered (``MPLBACKEND=Agg``), and only the code cells up to the last test
cell run: later cells cannot change a grade.
"""

from __future__ import annotations

import functools
import os
import pickle
import select
import struct
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import apply_answers, apply_mistake, catalogues, nbgrader_meta, solution_regions

REPO = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = REPO / "tests" / "course" / "mistakes"
CELL_TIMEOUT = 120  # seconds, as in nbgrader_config.py

pytestmark = pytest.mark.slow


CATALOGUES = catalogues("mistakes")
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))


def grade_cells(nb) -> list[str]:
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]


@functools.cache
def solution(path: Path):
    """The solution notebook at ``path``, read once per test process. Read-only:
    :func:`helpers.apply_mistake` copies it."""
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list[tuple[str, str | None]]:
    """``(source, test id or None)`` for the code cells up to the notebook's last test cell."""
    cells = [(c.source, nbgrader_meta(c).get("grade_id") if nbgrader_meta(c).get("grade") else None)
             for c in nb.cells if c.cell_type == "code"]
    last = max(i for i, (_, test_id) in enumerate(cells) if test_id)
    return cells[: last + 1]


def first_changed_cell(nb, reference) -> int:
    """Index (among ``code_cells``) of the first code cell that differs from the reference; 0 if
    none."""
    for k, (cell, ref) in enumerate(zip(code_cells(nb), code_cells(reference))):
        if cell[0] != ref[0]:
            return k
    return 0


class ForkRunner:
    """Runs a changed solution notebook up to its last test cell and reports each test cell's
    result.

    The reference cells before the change run once, in tests/course/notebook_fork_server.py; each
    variant runs from its changed cell on in a process forked from there, so a catalogue of
    twenty mistakes costs about one full run of the notebook plus twenty tails, instead of twenty
    full runs. One server per pytest worker, for one notebook at a time; it is restarted when a
    variant changes a cell that it has already run past (the cases are sorted by cell to avoid it).
    """

    def __init__(self):
        self.proc = None
        self.notebook = None

    def _start(self, path: Path, cells) -> None:
        self.close()
        env = dict(os.environ)
        env.update(PIX2PIX_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONWARNINGS="ignore")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "course" / "notebook_fork_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        self.notebook = path
        self._send(("cells", str(path.parent), cells, CELL_TIMEOUT))

    def _send(self, obj) -> None:
        data = pickle.dumps(obj)
        self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
        self.proc.stdin.flush()

    def _receive(self, timeout: float):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        header = self.proc.stdout.read(8) if ready else b""
        if len(header) < 8:
            self.close()
            raise AssertionError(
                f"the notebook server gave no answer within {timeout:.0f} s (or it died)"
            )
        (n,) = struct.unpack("<Q", header)
        return pickle.loads(self.proc.stdout.read(n))

    def run_tests(self, nb, path: Path) -> dict[str, tuple[bool, str]]:
        """Results per test cell of ``nb``, a changed copy of the solution notebook at ``path``."""
        reference = solution(path)
        cells = code_cells(nb)
        k = first_changed_cell(nb, reference)
        timeout = CELL_TIMEOUT * len(cells)
        for _ in range(2):
            if self.notebook != path or self.proc is None or self.proc.poll() is not None:
                self._start(path, code_cells(reference))
            ref_cells = code_cells(reference)
            changes = {i: src for i, (src, _) in enumerate(cells) if src != ref_cells[i][0]}
            self._send(("run", k, changes or {k: cells[k][0]}))
            answer = self._receive(timeout)
            if answer != "behind":
                return answer
            self.notebook = None  # it has run past cell k: start again from the top
        raise AssertionError("the notebook server ran past the changed cell twice")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.notebook = None


@pytest.fixture(scope="session")
def runner():
    r = ForkRunner()
    yield r
    r.close()


def sorted_cases(key: str) -> list:
    """The catalogue's changes as pytest params, per notebook in the order of the cell they
    change."""
    cases = []
    for name, cat in CATALOGUES.items():
        reference = solution(REPO / cat.NOTEBOOK)
        changes = getattr(cat, key, [])
        order = {
            m["id"]: first_changed_cell(apply_mistake(reference, m), reference) for m in changes
        }
        cases += [pytest.param(name, m, id=f"{name}::{m['id']}")
                  for m in sorted(changes, key=lambda m: order[m["id"]])]
    return cases


CASES = sorted_cases("MISTAKES")
HARMLESS_CASES = sorted_cases("HARMLESS")


# --- the catalogue itself --------------------------------------------------------------------

def test_every_solution_notebook_has_a_catalogue():
    missing = [
        str(p.relative_to(REPO)) for p in SOLUTION_NOTEBOOKS if p.parent.name not in CATALOGUES
    ]
    assert not missing, f"write tests/course/mistakes/<folder>.py for: {missing}"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_catalogue_is_well_formed(name):
    cat = CATALOGUES[name]
    path = REPO / cat.NOTEBOOK
    assert path.is_file(), (
        f"tests/course/mistakes/{name}.py: NOTEBOOK {cat.NOTEBOOK} does not exist"
    )
    assert path.parent.name == name, (
        f"tests/course/mistakes/{name}.py must describe solutions/{name}/"
    )
    nb = nbformat.read(path, as_version=4)
    tests = set(grade_cells(nb))
    ids = [m["id"] for m in cat.MISTAKES]
    assert len(ids) == len(set(ids)), f"duplicate mistake ids in {name}: {ids}"
    assert len(ids) >= 3, f"{name}: at least 3 mistakes per notebook"
    for m in cat.MISTAKES:
        assert set(m) == {"id", "cell", "find", "replace", "fails"}, f"{m['id']}: keys {sorted(m)}"
        assert m["fails"], (
            f"{m['id']}: a mistake that no test catches does not belong in the catalogue"
        )
        unknown = set(m["fails"]) - tests
        assert not unknown, f"{m['id']}: {sorted(unknown)} are not test cells of {cat.NOTEBOOK}"
        apply_mistake(nb, m)  # the text occurs exactly once in that solution cell
    harmless = getattr(cat, "HARMLESS", [])
    assert len({m["id"] for m in harmless} | set(ids)) == len(ids) + len(harmless), (
        f"duplicate ids in {name}"
    )
    for m in harmless:
        assert set(m) == {"id", "cell", "find", "replace"}, (
            f"{m['id']}: keys {sorted(m)} (no 'fails')"
        )
        apply_mistake(nb, m)


def test_course_has_at_least_15_mistakes():
    if len(SOLUTION_NOTEBOOKS) < 4:
        pytest.skip(f"only {len(SOLUTION_NOTEBOOKS)} of the 4 notebooks exist so far")
    total = sum(len(c.MISTAKES) for c in CATALOGUES.values())
    assert total >= 15, f"the catalogue has {total} mistakes; the course promises at least 15"


# --- running them ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_reference_solution_passes_every_test_cell(name, runner):
    path = REPO / CATALOGUES[name].NOTEBOOK
    results = runner.run_tests(solution(path), path)
    failed = {k: v[1] for k, v in results.items() if not v[0]}
    assert not failed, f"the solution of {name} fails its own tests: {failed}"


@pytest.mark.parametrize(("name", "mistake"), CASES)
def test_mistake_costs_exactly_the_listed_points(name, mistake, runner):
    path = REPO / CATALOGUES[name].NOTEBOOK
    nb = apply_mistake(solution(path), mistake)
    results = runner.run_tests(nb, path)
    failed = {k for k, (ok, _) in results.items() if not ok}
    expected = set(mistake["fails"])
    not_caught = expected - failed
    assert not not_caught, f"{mistake['id']}: {sorted(not_caught)} still pass with this mistake"
    extra = {k: results[k][1][:300] for k in sorted(failed - expected)}
    assert not extra, (
        f"{mistake['id']}: these test cells also fail (list them in fails, or make the tests "
        f"independent): {extra}"
    )


@pytest.mark.parametrize(("name", "change"), HARMLESS_CASES)
def test_harmless_change_keeps_full_marks(name, change, runner):
    path = REPO / CATALOGUES[name].NOTEBOOK
    results = runner.run_tests(apply_mistake(solution(path), change), path)
    failed = {k: v[1][:300] for k, v in results.items() if not v[0]}
    assert not failed, f"{change['id']} is a correct answer but loses points: {failed}"


# --- answers written independently of the reference ------------------------------------------

INDEPENDENT = catalogues("independent")
INDEPENDENT_CASES = [pytest.param(name, author, id=f"{name}::{author}")
                     for name, cat in INDEPENDENT.items() for author in cat.ANSWERS]


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_independent_catalogue_is_well_formed(name):
    cat = INDEPENDENT[name]
    nb = solution(REPO / cat.NOTEBOOK)
    graded = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
              if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    assert len(cat.ANSWERS) >= 3, f"{name}: at least three independent students"
    for author, answers in cat.ANSWERS.items():
        assert set(answers) == set(graded), (
            f"{name}/{author}: answer every graded cell; missing "
            f"{sorted(set(graded) - set(answers))}"
        )
        for grade_id, regions in answers.items():
            assert len(regions) == len(solution_regions(graded[grade_id].source)), (
                f"{name}/{author}/{grade_id}: one text per solution region"
            )


@pytest.mark.parametrize(("name", "author"), INDEPENDENT_CASES)
def test_independent_answers_keep_full_marks(name, author, runner):
    cat = INDEPENDENT[name]
    path = REPO / cat.NOTEBOOK
    results = runner.run_tests(apply_answers(solution(path), cat.ANSWERS[author]), path)
    failed = {k: v[1][:300] for k, v in results.items() if not v[0]}
    assert not failed, f"{name}/{author}: a correct answer loses points: {failed}"
