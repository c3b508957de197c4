"""The copy audit (course_utils.grading.similarity, `pix2pix audit --copies`): copied answers are
flagged, independently written correct answers are not.

The negatives are tests/course/independent/: three students per notebook who wrote every graded
cell from the released notebook, in their own style. The positives are built from them: a student
who pastes the ``course_utils`` reference into a cell, and a pair where one student hands in
another's answers with the variables renamed, the comments changed and the spacing redone.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import re
import tokenize
from pathlib import Path

import nbformat
import pytest
from helpers import apply_answers, catalogues, solution_cell

from course_utils.cli import main
from course_utils.grading import similarity as S

REPO = Path(__file__).resolve().parents[2]
INDEPENDENT = catalogues("independent")
INSTRUCTORS = REPO / "docs" / "instructors.md"


def release_of(cat) -> Path:
    sol = REPO / cat.NOTEBOOK
    return REPO / "notebooks" / sol.parent.name / sol.name


def write_students(cat, tmp_path: Path, answers: dict | None = None) -> dict[str, Path]:
    """One notebook per student of ``cat`` (or of ``answers``), as nbgrader keeps them:
    submitted/<student>/<assignment>/<notebook>.ipynb."""
    solution = nbformat.read(REPO / cat.NOTEBOOK, as_version=4)
    out = {}
    for author, ans in (answers or cat.ANSWERS).items():
        path = tmp_path / "submitted" / author / Path(cat.NOTEBOOK).parent.name / Path(
            cat.NOTEBOOK).name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(apply_answers(solution, ans), path)
        out[author] = path
    return out


def disguise(code: str) -> str:
    """``code`` as a copier hands it in: local names renamed, comments replaced, blank lines
    added. Attributes, keywords, builtins and imported names stay (the code must still run)."""
    stored = {n.id for n in ast.walk(ast.parse(_dedent(code))) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    stored |= {a.arg for a in ast.walk(ast.parse(_dedent(code))) if isinstance(a, ast.arg)}
    stored -= {"self", "cls"}
    names = {name: f"my_{k}_{name[::-1]}" for k, name in enumerate(sorted(stored))}
    out, prev = [], None
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        string = tok.string
        if tok.type == tokenize.NAME and string in names and prev != ".":
            string = names[string]
        elif tok.type == tokenize.COMMENT:
            string = "# (my own note)"
        out.append((tok.type, string))  # untokenize's compatible mode: its own spacing
        prev = tok.string
    text = tokenize.untokenize(out)
    return re.sub(r"\n(\s*)return ", r"\n\n\1return ", text)


def _dedent(code: str) -> str:
    import textwrap

    text = textwrap.dedent(code)
    try:
        ast.parse(text)
        return text
    except SyntaxError:  # a method body's region: wrap it
        return "def _f():\n" + textwrap.indent(text, "    ")


def judged(cat) -> tuple[int, int]:
    """``(reference comparisons, pair comparisons)`` long enough to be judged, over the
    independent students of ``cat``."""
    release = release_of(cat)
    solution = nbformat.read(REPO / cat.NOTEBOOK, as_version=4)
    texts = {a: {cid: S.student_lines(solution_cell(apply_answers(solution, ans), cid).source,
                                      solution_cell(nbformat.read(release, as_version=4),
                                                    cid).source)
                 for cid in ans} for a, ans in cat.ANSWERS.items()}
    name = Path(cat.NOTEBOOK).parent.name
    ref = sum(S.threshold(S.filtered_length(t[cid])) is not None
              for t in texts.values() for cid in t if S.reference_text(name, cid))
    pairs = sum(S.threshold(min(S.filtered_length(texts[a][cid]),
                                S.filtered_length(texts[b][cid]))) is not None
                for a, b in itertools.combinations(texts, 2) for cid in texts[a])
    return ref, pairs


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_independent_answers_are_not_flagged(name, tmp_path):
    cat = INDEPENDENT[name]
    found = S.find_copies(write_students(cat, tmp_path), release_of(cat))
    assert not found, "\n".join(map(str, found))


def test_false_positive_rate_is_stated_in_the_instructors_guide():
    ref = sum(judged(cat)[0] for cat in INDEPENDENT.values())
    pairs = sum(judged(cat)[1] for cat in INDEPENDENT.values())
    text = " ".join(INSTRUCTORS.read_text().replace("**", "").split())
    want = (f"0 of {ref} comparisons with the reference and 0 of {pairs} comparisons between "
            f"students")
    assert want in text, f"docs/instructors.md must state the measured rate: {want!r}"
    assert len(INDEPENDENT) >= 4, "labs 5-8 each have independent answers"


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_a_disguised_copy_of_another_student_is_flagged(name, tmp_path):
    cat = INDEPENDENT[name]
    first = next(iter(cat.ANSWERS))
    copied = {cid: [disguise(r) for r in regions] for cid, regions in cat.ANSWERS[first].items()}
    students = write_students(cat, tmp_path, {**cat.ANSWERS, "copier": copied})
    found = S.find_copies(students, release_of(cat))
    flagged = {c.cell_id for c in found if {c.student, c.other} == {first, "copier"}}
    long_enough = {cid for cid in copied if S.threshold(S.filtered_length("\n".join(copied[cid])))}
    assert long_enough, f"{name}: no answer long enough to judge"
    assert flagged == long_enough, (
        f"{name}: the copied cells {sorted(long_enough - flagged)} were not flagged")
    others = [c for c in found if "copier" not in (c.student, c.other)]
    assert not others, "\n".join(map(str, others))


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_the_pasted_reference_is_flagged(name, tmp_path):
    """A student pastes the course_utils reference (docstrings dropped, names changed) into the
    first solution region of each cell."""
    cat = INDEPENDENT[name]
    solution = nbformat.read(REPO / cat.NOTEBOOK, as_version=4)
    nb_name = Path(cat.NOTEBOOK).parent.name
    pasted = {}
    for cid, regions in next(iter(cat.ANSWERS.values())).items():
        ref = S.reference_text(nb_name, cid)
        pasted[cid] = [disguise(ref)] + ["pass"] * (len(regions) - 1) if ref else regions
    students = write_students(cat, tmp_path, {"paster": pasted})
    found = {c.cell_id for c in S.find_copies(students, release_of(cat))}
    want = {cid for cid in pasted if S.reference_text(nb_name, cid)
            and S.threshold(S.filtered_length(S.reference_text(nb_name, cid)))}
    assert want and want <= found, f"{name}: pasted reference not flagged in {sorted(want - found)}"
    del solution


def test_the_command_reports_copies_and_exits_1(tmp_path, capsys):
    cat = INDEPENDENT["05_pix2pixhd"] if "05_pix2pixhd" in INDEPENDENT else next(
        iter(INDEPENDENT.values()))
    first = next(iter(cat.ANSWERS))
    copied = {cid: [disguise(r) for r in regions] for cid, regions in cat.ANSWERS[first].items()}
    students = write_students(cat, tmp_path, {first: cat.ANSWERS[first], "copier": copied})
    release = tmp_path / "notebooks" / "05_pix2pixhd"
    release.mkdir(parents=True)
    (release / release_of(cat).name).write_bytes(release_of(cat).read_bytes())
    report = tmp_path / "report.json"
    assert len(students) == 2
    code = main(["audit", "--copies", "--assignment", "05_pix2pixhd", "--course-root",
                 str(tmp_path), "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 1
    assert "copier" in out and "copies:" in out
    copies = json.loads(report.read_text())["copies"]
    assert copies and all({c["student"], c["other"]} == {first, "copier"} for c in copies)


def test_thresholds_fall_with_length():
    assert S.threshold(S.MIN_LENGTH - 1) is None
    values = [S.threshold(n) for n in (S.MIN_LENGTH, 200, 400, 600, 2000)]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(0.9)
    assert values[-1] == pytest.approx(0.6)
