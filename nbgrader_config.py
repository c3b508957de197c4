"""nbgrader configuration of the Pix2Pix course (nbgrader 0.9).

Folder flow (run every command from the repository root, see docs/instructors.md):

    solutions/<assignment>/<assignment>.ipynb        instructor version (nbgrader "source")
      -> nbgrader generate_assignment  -> notebooks/<assignment>/          (student release)
      -> students hand in              -> submitted/<student>/<assignment>/
      -> nbgrader autograde            -> autograded/<student>/<assignment>/ + gradebook.db
      -> nbgrader generate_feedback    -> feedback/<student>/<assignment>/ (HTML)

Assignments: nbgrader 0.9 no longer reads a list of assignments from the
configuration (``CourseDirectory.db_assignments`` is gone). An assignment is
registered in the gradebook when ``nbgrader generate_assignment`` first runs
on it (``GenerateAssignment.create_assignment``, on below); ``make release``
(``scripts/generate_release.py``) does that for every folder under
``solutions/``. ``nbgrader db assignment add NAME --duedate=...`` sets a due
date.

Fast mode: during ``nbgrader autograde`` and ``nbgrader validate`` nbgrader
sets the environment variable ``NBGRADER_EXECUTION`` in the kernel
(``autograde`` / ``validate``), and ``course_utils.notebook.fast_mode()`` then
returns True: training cells run a handful of steps, so one notebook grades in
well under a minute on a 2-core CPU.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from course_utils.grading.autograde import GuardedExecute

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# --- course folders --------------------------------------------------------------------
c.CourseDirectory.course_id = "pix2pix-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# --- generating the release ------------------------------------------------------------
c.GenerateAssignment.create_assignment = True  # registers the assignment in gradebook.db
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# --- executing notebooks (validate, autograde) -----------------------------------------
# nbgrader's default is 30 s per cell. In fast mode no cell of the course takes more than a
# few seconds, but a loaded grading machine can be much slower than a laptop; a cell that is
# still running after 120 s is interrupted (KeyboardInterrupt in the kernel), recorded as an
# error, and grading goes on with the next cell, so a student's infinite loop costs only the
# points of the tests that need that cell.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120  # kernel start (imports torch) on a busy machine
# Tracebacks in graded notebooks show only "ErrorType: message" (IPython's Minimal mode): the
# default mode prints the source lines around the failing line, which would reveal the hidden
# tests in the feedback. The course's test messages say what is wrong without them.
# (The first argument is nbgrader's default for Python kernels.)
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--InteractiveShell.xmode=Minimal",
    # nbgrader gives 0 points to a test cell with ANY output on stderr, so a harmless warning
    # (e.g. from torch) or a progress bar would cost a correct answer its points. Failures in
    # this course are exceptions, never stderr text: send stderr to stdout in graded kernels.
    # Then, before any student cell, course_utils.grading.integrity snapshots torch, numpy, the builtins
    # and the grading helpers (see section 7 of docs/instructors.md).
    "--IPKernelApp.exec_lines=import sys; sys.stderr = sys.stdout; import course_utils.grading.integrity",
]

# --- collecting hand-ins from an LMS (nbgrader zip_collect) -----------------------------
# Students download their notebook from Colab (File > Download > Download .ipynb), rename it
# STUDENTID_ASSIGNMENT.ipynb (e.g. s123456_01_unet.ipynb) and upload it to the LMS. The LMS's
# archives go to downloaded/ASSIGNMENT/archive/; `nbgrader zip_collect ASSIGNMENT` extracts them and
# applies this pattern to each file's absolute path: whatever the LMS put in front (a folder, or a
# prefix ending in "_" or a space) is ignored, the student id is the last token before "_NN_name",
# and a browser's " (1)" before ".ipynb" is accepted. Student ids: letters, digits, ".", "-", "@"
# (no "_"). Checked by tests/test_instructors_doc.py.
c.FileNameCollectorPlugin.named_regexp = (
    r".*[/\\_ ](?P<student_id>[A-Za-z0-9.@-]+)_(?P<file_id>[0-9][0-9]_[a-z0-9_]+?)(?: ?\(\d+\))?\.ipynb$"
)

# --- autograding -----------------------------------------------------------------------
# Test cells are locked and overwritten with the instructor's version during autograding;
# a test cell that a student deleted is put back too, so it still runs (and still counts).
c.OverwriteCells.add_missing_cells = True
c.Autograde.create_student = True
# nbgrader's own list, with Execute replaced by the course's GuardedExecute (same settings, read
# from the Execute section above): before every test cell it verifies that the kernel was not
# tampered with (course_utils.grading.integrity), and when the kernel dies (os._exit, a segfault, out of
# memory) the remaining cells score 0 instead of the notebook going ungraded.
c.Autograde.autograde_preprocessors = [
    GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# --- feedback --------------------------------------------------------------------------
# The feedback HTML keeps every test's score and failure message but not the code of the
# hidden tests, so that they can be used again with the next cohort.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
