"""User-facing errors of the course package.

Every error a student or instructor can cause with bad input (a wrong path,
a corrupt image, a checkpoint from elsewhere) derives from :class:`CourseError`.
The ``pix2pix`` command line turns these into a one-line message and exit
code 2 instead of a traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class of the errors caused by bad input rather than by a bug."""


class DataError(CourseError, ValueError):
    """A data set folder or file is missing, unreadable or malformed."""


class BadFilesError(DataError):
    """One or more image files failed the pre-training scan.

    Attributes:
        problems: list of ``(path, reason)`` pairs, one per bad file.
    """

    def __init__(self, folder, problems):
        self.folder = folder
        self.problems = list(problems)
        lines = [f"{len(self.problems)} bad file(s) in {folder}:"]
        lines += [f"  {path}: {reason}" for path, reason in self.problems]
        lines.append("Fix or remove these files, then run again.")
        super().__init__("\n".join(lines))


class ChecksumError(DataError):
    """A downloaded or mirrored file does not match its manifest hash."""


class CheckpointError(CourseError):
    """A checkpoint file is missing, truncated or not a course checkpoint."""


class DeviceError(CourseError, ValueError):
    """A requested device (``--device cuda``, ``--device mps``) does not exist on this machine."""
