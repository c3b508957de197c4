"""Shared fixtures (small synthetic A|B data sets) and how pytest-xdist shares the tests out."""

from __future__ import annotations

import functools
import re

import pytest
import torch
from helpers import write_facades, write_pairs


@pytest.fixture
def pairs_root(tmp_path):
    """A ``--data`` folder: ``train/`` with 12 pairs and ``val/`` with 4, 64x64 halves."""
    root = tmp_path / "pairs"
    write_pairs(root / "train", 12, seed=1)
    write_pairs(root / "val", 4, seed=2)
    return root


@pytest.fixture
def facades_root(tmp_path):
    root = tmp_path / "facades"
    write_facades(root / "train", 8, seed=1)
    write_facades(root / "val", 4, seed=50)
    return root


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run two at a time on two cores: one thread each."""
    torch.set_num_threads(1)


def pytest_configure(config):
    """Under ``--nbmake``, nbclient does not emulate ipywidgets' ``Output`` widget either.

    The graded executor's change (``course_utils.grading.autograde``, nbclient issue #312), applied
    to the ``NotebookClient`` that nbmake uses: notebook 3's widget cell could otherwise wait for
    its timeout.
    """
    if config.getoption("nbmake", default=False):
        from nbclient.client import NotebookClient

        from course_utils.grading.autograde import GuardedExecute

        NotebookClient.on_comm_open_jupyter_widget = GuardedExecute.on_comm_open_jupyter_widget


def pytest_collection_modifyitems(config, items):
    """Run each solution notebook once, in the browser when the browser test runs.

    ``pytest --nbmake solutions`` executes every solution notebook in fast mode; the browser test
    (tests/course/test_browser.py) executes the same code (the release with the solutions filled in,
    fast mode, every cell) in a real JupyterLab, and the autograde round trips run it a third time.
    When the browser test is collected and can run (Playwright and Chromium present), the nbmake
    items of ``solutions/`` are deselected to keep ``make test`` within its time budget; without a
    browser they run as before.
    """
    browser = [
        it
        for it in items
        if it.nodeid.startswith("tests/course/test_browser.py::test_release_runs_in_jupyterlab")
    ]
    if not browser:
        return
    nbmake = [
        it for it in items if it.nodeid.startswith("solutions/") and it.nodeid.endswith(".ipynb")
    ]
    if nbmake:
        config.hook.pytest_deselected(items=nbmake)
        items[:] = [it for it in items if it not in nbmake]


# --- work units for pytest-xdist --------------------------------------------------------------
#
# Some tests share an expensive module-scoped fixture or process, and must run one after the other
# on one worker: the browser test (a course folder graded by nbgrader, JupyterLab and Chromium:
# about a minute to set up), the class-grading test (a class graded by `pix2pix grade`) and each
# notebook's mistake catalogue (tests/course/test_mistakes.py computes the notebook's unchanged
# prefix once and forks). pytest-xdist's own way, ``@pytest.mark.xdist_group`` with
# ``--dist loadgroup``, does nothing with pytest 9 (measured with pytest 9.2 / pytest-xdist 3.8:
# xdist tags the group onto ``item._nodeid``, which pytest 9 no longer reads), so every such test
# set its fixture up on both workers. This scheduler groups them by node id instead; every other
# test is its own unit, as with ``--dist load``.


def work_unit(nodeid: str) -> str:
    """The work unit (scope) of a test: tests with the same unit run in order on one worker."""
    if nodeid.startswith(("tests/course/test_browser.py::", "tests/course/test_grade.py::")):
        return nodeid.split("::", 1)[0]
    match = re.match(r"tests/course/test_mistakes\.py::\w+\[(\d\d_\w+?)(::|\])", nodeid)
    if match:
        return f"tests/course/test_mistakes.py[{match.group(1)}]"
    return nodeid


# Rough seconds of a work unit on one worker (from `make test`'s --durations list, 2026-12-01). The
# scheduler hands units out longest first: a worker that is given a long unit near the end would
# leave the other worker idle, and `make test` would take that much longer.
UNIT_SECONDS = (
    ("tests/course/test_browser.py", 480),
    ("tests/course/test_grade.py", 150),
    ("tests/course/test_mistakes.py[", 90),
    ("tests/course/test_nbgrader.py::test_autograde", 70),
    ("tests/course/test_nbgrader.py::test_validate", 30),
    ("tests/course/test_cheats.py::test_cheat_scores", 20),
    ("tests/integration/test_train.py::test_sigkill", 30),
    ("tests/integration/test_train.py::test_ddp", 30),
    ("tests/integration/test_pix2pixhd.py::test_ddp", 30),
)


@functools.cache
def unit_seconds(unit: str) -> int:
    """The expected length of a work unit: from the table above, else 1 s."""
    return next((sec for prefix, sec in UNIT_SECONDS if unit.startswith(prefix)), 1)


@pytest.hookimpl(optionalhook=True)  # pytest -p no:xdist still works
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class WorkUnitScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            # Longest unit first (the first of equals, in xdist's order).
            longest = max(self.workqueue, key=unit_seconds)
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return WorkUnitScheduling(config, log)
