"""The instructor's grading machinery, and the checks the notebooks' test cells call.

- :mod:`~course_utils.grading.checks`: ``check_close``, ``check_shape``, ``copy_weights``...
  (re-exported here: ``from course_utils.grading import check_close``);
- :mod:`~course_utils.grading.integrity`: the tamper-resistance snapshot those checks verify;
- :mod:`~course_utils.grading.autograde`: nbgrader's guarded executor;
- :mod:`~course_utils.grading.audit`: ``pix2pix audit``, static checks of submissions;
- :mod:`~course_utils.grading.grade`: ``pix2pix grade``, sandboxed parallel grading of a class.
"""

import sys

from course_utils.grading import integrity as _integrity
from course_utils.grading.checks import (
    check_close,
    check_no_reference_calls,
    check_not_reference,
    check_same_function,
    check_shape,
    copy_weights,
    plain_number,
    randomise_weights,
    relative_error,
)

__all__ = [
    "check_close",
    "check_no_reference_calls",
    "check_not_reference",
    "check_same_function",
    "check_shape",
    "copy_weights",
    "plain_number",
    "randomise_weights",
    "relative_error",
]

_integrity.register_module(sys.modules[__name__])
