"""The course's nbgrader executor (``course_utils.grading.autograde.GuardedExecute``) beyond the
cheats.

tests/test_cheats.py runs the catalogue of cheating submissions through this executor; here:
ipywidgets' ``Output`` widget, whose emulation by nbclient stalled notebook 3's widget cell for
the whole cell timeout under parallel grading (nbclient issue #312, see the module docstring).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_utils.grading.autograde import GuardedExecute, is_test_cell

REPO = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 30  # seconds; each cell below needs well under one


def autograde_config():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.Execute.timeout = CELL_TIMEOUT
    return config


def widget_notebook():
    cells = [
        nbformat.v4.new_code_cell("import ipywidgets\nfrom IPython.display import display\n"
                                  "out = ipywidgets.Output()\ndisplay(out)"),
        nbformat.v4.new_code_cell("with out:\n    print('written inside the Output widget')"),
        nbformat.v4.new_code_cell("assert 1 + 1 == 2"),
    ]
    cells[-1].metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "grade_id": "test_after_widget",
        "points": 1,
        "locked": True,
        "schema_version": 3,
    }
    return nbformat.v4.new_notebook(cells=cells)


def test_executor_does_not_emulate_the_output_widget():
    executor = GuardedExecute(config=autograde_config())
    assert (
        executor.on_comm_open_jupyter_widget(
            {"content": {"data": {"state": {"_model_name": "OutputModel"}}}}
        )
        is None
    )


@pytest.mark.slow
def test_output_widget_cell_runs_and_its_output_lands_in_the_cell(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = widget_notebook()
    start = time.monotonic()
    GuardedExecute(config=autograde_config()).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    seconds = time.monotonic() - start

    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"a cell failed: {errors}"
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "written inside the Output widget" in text, (
        "what the Output widget captures should go to the cell's own outputs when graded "
        f"(no widget emulation); the cell's outputs were {nb.cells[1].outputs}"
    )
    assert is_test_cell(nb.cells[2])
    # A stall would show as a cell that waits for its timeout (CELL_TIMEOUT); kernel start-up
    # and the integrity check take a few seconds.
    assert seconds < CELL_TIMEOUT, (
        f"the notebook took {seconds:.0f} s: a cell waited for its timeout"
    )
