"""nbgrader executor of the course: integrity checks before every test cell, dead kernels score 0.

``nbgrader_config.py`` puts :class:`GuardedExecute` in place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors``. It behaves like ``Execute`` (same settings: timeout,
interrupt on timeout, extra kernel arguments), and in addition:

* before the code of every autograded test cell (nbgrader ``grade`` and not ``solution``), the
  kernel runs :func:`course_utils.grading.integrity.verify` with the notebook's globals and
  ``full=True``. A tampered kernel makes the test cell fail with an ``IntegrityError`` saying
  why, so the cell scores 0. The check is prepended to the source only while the cell runs: the
  saved notebook, its checksums and the feedback show the instructor's test as written.
* ipywidgets' ``Output`` widget is not emulated: nbclient's stand-in for a front end sends comm
  messages on the shell channel while it waits for the cell's reply on that channel, and now and
  then the reply is then only seen when the cell's timeout (120 s) runs out (nbclient issue #312;
  measured here on notebook 3's widget cell, in parallel grading and under ``make test``). A graded
  notebook does not need the widget: what the widget would show goes to the cell's outputs.
* when the kernel dies (``os._exit``, a segfault, the out-of-memory killer) or stops sending
  output altogether (its builtins replaced), nbclient raises
  ``DeadKernelError`` and stock nbgrader would not record the notebook's grades. Here the cell
  that was running and every later code cell get an error output instead (``DeadKernelError: the
  kernel died ...``), without being run: every remaining test scores 0, never "passed", and the
  notebook's scores are saved.

Limits: the check runs in the student's kernel (see :mod:`course_utils.grading.integrity`); a
student who edits a test cell's nbgrader metadata so that it no longer looks like a test cell is
handled by nbgrader's own ``OverwriteCells``/``CheckCellMetadata``, which run before this
executor.
"""

from __future__ import annotations

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

GUARD = ('__import__("course_utils.grading.integrity", fromlist=["verify"])'
         '.verify(globals(), full=True)'
         '  # course_utils: integrity check\n')


def is_test_cell(cell) -> bool:
    """Whether nbgrader grades ``cell`` automatically as a test (``grade`` true, ``solution``
    false)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def guarded_source(source: str) -> str:
    """``source`` with the integrity check in front (used by the executor and by the tests'
    harness).

    A test cell that starts with a ``%%`` cell magic keeps it on the first line.
    """
    if source.lstrip().startswith("%%"):
        first, _, rest = source.partition("\n")
        return first + "\n" + GUARD + rest
    return GUARD + source


def _dead_output(reason: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="DeadKernelError", evalue=reason,
                        traceback=[f"DeadKernelError: {reason}"])


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with an integrity check before each test cell and dead-kernel
    scoring."""

    def on_comm_open_jupyter_widget(self, msg):
        return None  # no Output-widget emulation: see the module docstring

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_died = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        if self._kernel_died:
            cell.outputs = [_dead_output("not run: the kernel died or stopped responding in an "
                                         f"earlier cell ({self._kernel_died}), "
                                         "so this cell scores 0")]
            return cell, self.resources
        original = cell.source
        if is_test_cell(cell):
            cell.source = guarded_source(original)
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as err:
            # CellTimeoutError escapes only when the kernel stops sending output (IOPub) at all,
            # e.g. after its builtins were replaced; a slow cell is interrupted by nbclient
            # instead.
            what = "died" if isinstance(err, DeadKernelError) else "stopped responding"
            self._kernel_died = f"cell {index}"
            self.log.warning("The kernel %s while running cell %s: later cells are not run and "
                             "score 0", what, index)
            first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
            cell.outputs = list(cell.get("outputs", [])) + [_dead_output(
                f"the kernel {what} while running this cell ({first_line}); "
                "every later cell scores 0")]
            return cell, self.resources
        finally:
            cell.source = original
