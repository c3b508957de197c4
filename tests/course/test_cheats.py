"""The cheat catalogue: submissions that try to fool the autograder must gain nothing, and be
flagged.

Every ``tests/course/cheats/<notebook folder>.py`` lists cheats (format in its docstring). For each:

* the static audit (``course_utils.grading.audit``, against the release notebook) flags the cheating
  cell with one of the cheat's ``rules``;
* the notebook is executed the way ``nbgrader autograde`` executes it: by the course's
  ``GuardedExecute`` preprocessor with the settings of ``nbgrader_config.py`` (a fresh kernel,
  ``course_utils.grading.integrity`` imported before any cell, the integrity check before each test
  cell, ``NBGRADER_EXECUTION=autograde`` so fast mode is on), in an empty scratch folder;
* every test cell that the same wrong answer *without* the trick loses (its ``fails`` in the
  mistake catalogue, which tests/test_mistakes.py verifies) also fails here, so the cheat scores
  no more than the honest wrong answer; and when the cheat names ``detect``, a failing cell's
  error says so (e.g. ``torch.allclose was replaced``).

Cheats that touch files (the gradebook, another student's folder, the solutions) are harmless
here because the scratch folder has none of them; that they cannot reach the real ones is what
``pix2pix grade``'s sandbox provides (tests/test_grade.py). Only the cells up to the last test cell
run: later cells cannot change a grade.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from helpers import apply_mistake, catalogues, load_catalogue, nbgrader_meta, solution_cell

REPO = Path(__file__).resolve().parents[2]
CHEATS_DIR = REPO / "tests" / "course" / "cheats"
MISTAKES_DIR = REPO / "tests" / "course" / "mistakes"
CELL_TIMEOUT = 30  # seconds per cell (see execute_like_autograde)

pytestmark = pytest.mark.slow


CATALOGUES = catalogues("cheats")
CASES = [pytest.param(name, cheat, id=f"{name}::{cheat['id']}")
         for name, cat in CATALOGUES.items() for cheat in cat.CHEATS]


def mistake_of(name: str, cheat: dict) -> dict | None:
    if cheat.get("mistake") is None:
        return None
    mistakes = {m["id"]: m for m in load_catalogue("mistakes", name).MISTAKES}
    return mistakes[cheat["mistake"]]


def cheating_notebook(name: str, cheat: dict):
    """The reference solution with the cheat's wrong answer and its trick applied."""
    nb = nbformat.read(REPO / CATALOGUES[name].NOTEBOOK, as_version=4)
    mistake = mistake_of(name, cheat)
    if mistake is not None:
        nb = apply_mistake(nb, mistake)
    cell = solution_cell(nb, cheat["cell"])
    if "find" in cheat:
        assert cell.source.count(cheat["find"]) == 1, (
            f"{cheat['id']}: find occurs {cell.source.count(cheat['find'])} times"
        )
        cell.source = cell.source.replace(cheat["find"], cheat["replace"])
    if "append" in cheat:
        cell.source = cell.source.rstrip("\n") + "\n\n\n" + cheat["append"]
    return nb


def lost_by_the_honest_answer(name: str, cheat: dict) -> set[str]:
    mistake = mistake_of(name, cheat)
    return set(mistake["fails"] if mistake is not None else cheat["fails"])


def execute_like_autograde(nb, workdir: Path, monkeypatch) -> dict[str, str | None]:
    """Run ``nb`` (up to its last test cell) with GuardedExecute;
    {test cell: error text or None}."""
    from traitlets.config.loader import PyFileConfigLoader

    from course_utils.grading.autograde import GuardedExecute

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    # A cheat that hangs the kernel (e.g. ``builtins.isinstance`` always True) is interrupted
    # after CELL_TIMEOUT instead of nbgrader's 120 s: the interrupted cell is an error either way,
    # and no cell of a notebook in fast mode needs more than a few seconds.
    config.Execute.timeout = CELL_TIMEOUT
    tests = [
        i
        for i, c in enumerate(nb.cells)
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    ]
    nb = copy.deepcopy(nb)
    nb.cells = nb.cells[: max(tests) + 1]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PIX2PIX_FAST", raising=False)
    executor = GuardedExecute(config=config)
    executor.preprocess(nb, {"metadata": {"path": str(workdir)}})
    results = {}
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution"):
            errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
            errors += [
                f"stderr: {o.text}"
                for o in cell.outputs
                if o.output_type == "stream" and o.name == "stderr"
            ]
            results[nbgrader_meta(cell)["grade_id"]] = "\n".join(errors) or None
    return results


# --- the catalogue itself ----------------------------------------------------------------------

def test_catalogue_has_at_least_12_cheats():
    assert len(CASES) >= 12, (
        f"the cheat catalogue has {len(CASES)} cheats; the course promises at least 12"
    )


@pytest.mark.parametrize(("name", "cheat"), CASES)
def test_cheat_is_well_formed_and_flagged_by_the_audit(name, cheat, tmp_path):
    from course_utils.grading.audit import audit_notebook

    allowed = {"id", "mistake", "cell", "append", "find", "replace", "rules", "detect", "fails"}
    assert set(cheat) <= allowed, f"{cheat['id']}: unknown keys {sorted(set(cheat) - allowed)}"
    assert ("fails" in cheat) == (cheat.get("mistake") is None), \
        f"{cheat['id']}: give either a mistake of the catalogue or, with no mistake, fails"
    nb = cheating_notebook(name, cheat)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    findings = audit_notebook(path, REPO / "notebooks" / name / f"{name}.ipynb")
    in_cell = [f for f in findings if f.cell_id == cheat["cell"]]
    rules = {f.rule for f in in_cell}
    assert rules & set(cheat["rules"]), (
        f"{cheat['id']}: the audit does not flag the cheat with {cheat['rules']}; "
        f"it found {[str(f) for f in findings]}"
    )


@pytest.mark.parametrize(("name", "cheat"), CASES)
def test_cheat_scores_no_more_than_the_honest_wrong_answer(name, cheat, tmp_path, monkeypatch):
    workdir = tmp_path / "submitted" / "cheater" / name
    workdir.mkdir(parents=True)
    results = execute_like_autograde(cheating_notebook(name, cheat), workdir, monkeypatch)
    must_fail = lost_by_the_honest_answer(name, cheat)
    passed = sorted(k for k in must_fail if results.get(k) is None)
    assert not passed, (
        f"{cheat['id']}: {passed} pass with the trick but fail without it: the cheat gains points. "
        f"results: {results}"
    )
    if cheat.get("detect"):
        messages = "\n".join(v for v in results.values() if v)
        assert cheat["detect"] in messages, (
            f"{cheat['id']}: no failing test says {cheat['detect']!r}:\n{messages[:2000]}"
        )
