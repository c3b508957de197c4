"""`pix2pix grade`: a class graded in parallel sandboxes, merged into the course's gradebook.

One temporary course with the release of notebook 2 and four students, graded with ``--jobs 2``:

* ``honest``: the reference answers, full marks;
* ``vandal``: a wrong answer (costs test_discriminator_loss) plus code that, by absolute path,
  rewrites the course's ``gradebook.db``, overwrites ``honest``'s submission and copies the
  solutions folder; with the sandbox none of it reaches the course, and it is flagged;
* ``patcher``: ``torch.allclose = lambda *a, **k: True`` with a wrong answer: scores no more than
  the wrong answer, and is flagged;
* ``quitter``: ``os._exit(0)`` at the end of the receptive_field answer: the test cells after it
  score 0, the one before keeps its points.

Then ``nbgrader generate_feedback`` and ``nbgrader export`` run on the course as after a plain
``nbgrader autograde``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grading.grade import grade, isolation_available

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "02_patchgan"

pytestmark = pytest.mark.slow


def _env():
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PIX2PIX_FAST", None)
    return env


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    from course_utils.paths import data_root

    if not (data_root() / "facades").is_dir():
        pytest.skip(f"no facades data under {data_root()}: run `make setup`")
    root = tmp_path_factory.mktemp("grade_course")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "generate_release.py"),
            ASSIGNMENT,
            "--out",
            str(root / "notebooks"),
            "--course-root",
            str(root),
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    release = root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solution = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)

    def submission(edit=None):
        nb = nbformat.read(release, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = _cell(solution, meta["grade_id"]).source
        if edit:
            edit(nb)
        return nb

    def wrong_label(nb):
        c = _cell(nb, "discriminator_loss")
        c.source = c.source.replace("torch.ones_like(pred_real)", "torch.zeros_like(pred_real)")
        return c

    def vandal(nb):
        c = wrong_label(nb)
        honest = root / "submitted" / "honest" / ASSIGNMENT / (ASSIGNMENT + ".ipynb")
        c.source += (
            "\n\nimport shutil, sqlite3\n"
            "for _attempt in (\n"
            f"    lambda: sqlite3.connect({str(root / 'gradebook.db')!r}).executescript("
            "'UPDATE grade SET auto_score = 0; UPDATE grade SET manual_score = 0;'),\n"
            f"    lambda: open({str(honest)!r}, 'w').write('{{}}'),\n"
            f"    lambda: shutil.copytree({str(root / 'solutions')!r}, 'stolen'),\n"
            "):\n"
            "    try:\n        _attempt()\n    except Exception:\n        pass\n"
        )

    def patcher(nb):
        c = wrong_label(nb)
        c.source += "\n\ntorch.allclose = lambda *args, **kwargs: True\n"

    def quitter(nb):
        _cell(nb, "receptive_field").source += "\n\nimport os\nos._exit(0)\n"

    for student, edit in [
        ("honest", None),
        ("vandal", vandal),
        ("patcher", patcher),
        ("quitter", quitter),
    ]:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(edit), folder / release.name)
    honest_file = root / "submitted" / "honest" / ASSIGNMENT / release.name
    before = hashlib.sha256(honest_file.read_bytes()).hexdigest()
    results = grade(root, ASSIGNMENT, jobs=2, memory_mb=8192, time_limit=900)
    return root, {r.student: r for r in results}, before, honest_file


def _scores(root, student):
    from course_utils.grading.grade import _gradebook

    with _gradebook(root / "gradebook.db") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return ({g.name: g.score for g in nb.grades}, any(g.needs_manual_grade for g in nb.grades))


def test_every_student_is_graded_into_the_course_gradebook(graded_course):
    root, results, _, _ = graded_course
    assert set(results) == {"honest", "vandal", "patcher", "quitter"}
    honest, flagged = _scores(root, "honest")
    assert honest == {
        "test_patchgan": 4.0,
        "test_receptive_field": 2.0,
        "test_discriminator_loss": 3.0,
    }
    assert not flagged and not results["honest"].flagged


def test_a_vandal_changes_nothing_outside_its_sandbox(graded_course):
    root, results, before, honest_file = graded_course
    if not isolation_available():
        pytest.skip("unshare namespaces are not available here: pix2pix grade runs unisolated "
                    "(documented fallback: run it in a container)")
    assert hashlib.sha256(honest_file.read_bytes()).hexdigest() == before, (
        "the vandal overwrote honest's submission"
    )
    vandal, flagged = _scores(root, "vandal")
    assert vandal == {
        "test_patchgan": 4.0,
        "test_receptive_field": 2.0,
        "test_discriminator_loss": 0.0,
    }
    assert flagged and any("file-access" in f for f in results["vandal"].flagged)
    stolen = root / "autograded" / "vandal" / ASSIGNMENT / "stolen"
    assert not list(stolen.rglob("*.ipynb")), "the vandal copied the solutions out of the course"


def test_a_patched_kernel_gains_nothing(graded_course):
    root, results, _, _ = graded_course
    scores, flagged = _scores(root, "patcher")
    assert scores["test_discriminator_loss"] == 0.0 and sum(scores.values()) <= 6.0
    assert flagged and any("module-attribute" in f for f in results["patcher"].flagged)


def test_a_dead_kernel_scores_the_remaining_tests_zero(graded_course):
    root, _, _, _ = graded_course
    scores, _ = _scores(root, "quitter")
    assert scores == {
        "test_patchgan": 4.0,
        "test_receptive_field": 0.0,
        "test_discriminator_loss": 0.0,
    }
    nb = nbformat.read(
        root / "autograded" / "quitter" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    errors = [o.evalue for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert any("the kernel died" in e for e in errors), errors


def test_feedback_and_export_work_as_after_nbgrader_autograde(graded_course):
    root, _, _, _ = graded_course
    for args in (["generate_feedback", ASSIGNMENT, "--force"], ["export"]):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=_env(),
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    html = (root / "feedback" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "9.0 / 9.0" in html or "Score: 9.0" in html or "9 / 9" in html, html[:3000]
    assert "HIDDEN TESTS" not in html
    rows = {
        r["student_id"]: float(r["score"]) for r in csv.DictReader((root / "grades.csv").open())
    }
    assert rows["honest"] == 9.0 and rows["quitter"] == 4.0
