"""Helpers that every course notebook uses: fast mode and environment detection."""

from __future__ import annotations

import os
import sys

FAST_ENV_VARS = ("PIX2PIX_FAST", "NBGRADER_EXECUTION")


def fast_mode() -> bool:
    """True when long cells (training) must be cut short.

    Fast mode is on when ``PIX2PIX_FAST`` is set to anything but ``""``/``"0"``,
    or when nbgrader is autograding (it sets ``NBGRADER_EXECUTION``). CI and
    ``make test`` set ``PIX2PIX_FAST=1``.
    """
    for name in FAST_ENV_VARS:
        value = os.environ.get(name, "")
        if value not in ("", "0"):
            return True
    return False


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules
