"""The mistake catalogue: each typical student mistake must cost exactly the points it should.

Every ``tests/mistakes/<notebook folder>.py`` defines::

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

Speed: one IPython kernel per pytest worker is reused for all notebooks
(``%reset -f`` between runs, so torch is imported once), figures are not
rendered (``MPLBACKEND=Agg``), and only the code cells up to the last test
cell run: later cells cannot change a grade.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import queue
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CATALOGUE_DIR = REPO / "tests" / "mistakes"
CELL_TIMEOUT = 120  # seconds, as in nbgrader_config.py

pytestmark = pytest.mark.slow


def load_catalogue(path: Path):
    spec = importlib.util.spec_from_file_location(f"mistakes_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalogues() -> dict[str, object]:
    return {p.stem: load_catalogue(p) for p in sorted(CATALOGUE_DIR.glob("[!_]*.py"))}


CATALOGUES = catalogues()
CASES = [
    pytest.param(name, m, id=f"{name}::{m['id']}")
    for name, cat in CATALOGUES.items()
    for m in cat.MISTAKES
]
HARMLESS_CASES = [
    pytest.param(name, m, id=f"{name}::{m['id']}")
    for name, cat in CATALOGUES.items()
    for m in getattr(cat, "HARMLESS", [])
]
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_cells(nb) -> list[str]:
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]


def solution_cell(nb, grade_id: str):
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") == grade_id:
            assert meta.get("solution"), f"cell {grade_id!r} is not a solution cell"
            return cell
    raise AssertionError(f"no cell with grade_id {grade_id!r}")


def mutate(nb, mistake: dict):
    """A copy of ``nb`` with the mistake applied; asserts the text occurs exactly once."""
    nb = copy.deepcopy(nb)
    cell = solution_cell(nb, mistake["cell"])
    count = cell.source.count(mistake["find"])
    assert count == 1, f"{mistake['id']}: {mistake['find']!r} occurs {count} times in cell {mistake['cell']!r}"
    cell.source = cell.source.replace(mistake["find"], mistake["replace"])
    return nb


class KernelRunner:
    """Runs notebooks' code cells in one long-lived IPython kernel and reports test-cell results."""

    def __init__(self):
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        env.update(PIX2PIX_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONWARNINGS="ignore")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env, cwd=str(REPO))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def execute(self, code: str, timeout: float = CELL_TIMEOUT) -> tuple[bool, str]:
        """Run ``code``; ``(True, "")`` on success, ``(False, "Name: message")`` on an error or a timeout."""
        try:
            reply = self.kc.execute_interactive(code, timeout=timeout, store_history=False,
                                                allow_stdin=False, output_hook=lambda msg: None)
        except TimeoutError:
            self.km.interrupt_kernel()
            self._drain(timeout=60)
            return False, f"CellTimeoutError: no reply within {timeout} s"
        content = reply["content"]
        if content["status"] == "ok":
            return True, ""
        return False, f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"

    def _drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["msg_type"] == "execute_reply":
                return
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=120)

    def run_tests(self, nb, notebook_dir: Path) -> dict[str, tuple[bool, str]]:
        """Run the code cells up to the last test cell in a fresh namespace; results per test cell."""
        ok, err = self.execute(
            "%reset -f\nimport os, matplotlib.pyplot as plt\nplt.close('all')\n"
            f"os.chdir({str(notebook_dir)!r})"
        )
        assert ok, f"could not reset the kernel: {err}"
        tests = grade_cells(nb)
        last = max(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == tests[-1])
        results = {}
        for cell in nb.cells[: last + 1]:
            if cell.cell_type != "code":
                continue
            ok, err = self.execute(cell.source)
            meta = nbgrader_meta(cell)
            if meta.get("grade"):
                results[meta["grade_id"]] = (ok, err)
        return results

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="session")
def runner():
    r = KernelRunner()
    yield r
    r.close()


# --- the catalogue itself --------------------------------------------------------------------

def test_every_solution_notebook_has_a_catalogue():
    missing = [str(p.relative_to(REPO)) for p in SOLUTION_NOTEBOOKS if p.parent.name not in CATALOGUES]
    assert not missing, f"write tests/mistakes/<folder>.py for: {missing}"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_catalogue_is_well_formed(name):
    cat = CATALOGUES[name]
    path = REPO / cat.NOTEBOOK
    assert path.is_file(), f"tests/mistakes/{name}.py: NOTEBOOK {cat.NOTEBOOK} does not exist"
    assert path.parent.name == name, f"tests/mistakes/{name}.py must describe solutions/{name}/"
    nb = nbformat.read(path, as_version=4)
    tests = set(grade_cells(nb))
    ids = [m["id"] for m in cat.MISTAKES]
    assert len(ids) == len(set(ids)), f"duplicate mistake ids in {name}: {ids}"
    assert len(ids) >= 3, f"{name}: at least 3 mistakes per notebook"
    for m in cat.MISTAKES:
        assert set(m) == {"id", "cell", "find", "replace", "fails"}, f"{m['id']}: keys {sorted(m)}"
        assert m["fails"], f"{m['id']}: a mistake that no test catches does not belong in the catalogue"
        unknown = set(m["fails"]) - tests
        assert not unknown, f"{m['id']}: {sorted(unknown)} are not test cells of {cat.NOTEBOOK}"
        mutate(nb, m)  # the text occurs exactly once in that solution cell
    harmless = getattr(cat, "HARMLESS", [])
    assert len({m["id"] for m in harmless} | set(ids)) == len(ids) + len(harmless), f"duplicate ids in {name}"
    for m in harmless:
        assert set(m) == {"id", "cell", "find", "replace"}, f"{m['id']}: keys {sorted(m)} (no 'fails')"
        mutate(nb, m)


def test_course_has_at_least_15_mistakes():
    if len(SOLUTION_NOTEBOOKS) < 4:
        pytest.skip(f"only {len(SOLUTION_NOTEBOOKS)} of the 4 notebooks exist so far")
    total = sum(len(c.MISTAKES) for c in CATALOGUES.values())
    assert total >= 15, f"the catalogue has {total} mistakes; the course promises at least 15"


# --- running them ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_reference_solution_passes_every_test_cell(name, runner):
    path = REPO / CATALOGUES[name].NOTEBOOK
    results = runner.run_tests(nbformat.read(path, as_version=4), path.parent)
    failed = {k: v[1] for k, v in results.items() if not v[0]}
    assert not failed, f"the solution of {name} fails its own tests: {failed}"


@pytest.mark.parametrize(("name", "mistake"), CASES)
def test_mistake_costs_exactly_the_listed_points(name, mistake, runner):
    path = REPO / CATALOGUES[name].NOTEBOOK
    nb = mutate(nbformat.read(path, as_version=4), mistake)
    results = runner.run_tests(nb, path.parent)
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
    results = runner.run_tests(mutate(nbformat.read(path, as_version=4), change), path.parent)
    failed = {k: v[1][:300] for k, v in results.items() if not v[0]}
    assert not failed, f"{change['id']} is a correct answer but loses points: {failed}"
