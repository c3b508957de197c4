"""Where the course keeps its data and runs.

The data root holds one folder per data set, laid out exactly like
``../shared/data`` (``maps/train/*.jpg``, ``facades/val/*.jpg``,
``isbi2012/train-volume.tif``...).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT_ENV = "PIX2PIX_DATA_ROOT"


def data_root() -> Path:
    """The data root: ``$PIX2PIX_DATA_ROOT`` if set, else the repository's ``data/`` folder."""
    env = os.environ.get(DATA_ROOT_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "data"


def manifests_dir() -> Path:
    """The committed sha256 manifests, ``data/manifests/`` in the repository."""
    return REPO_ROOT / "data" / "manifests"


def cache_dir() -> Path:
    """Derived, regenerable files (e.g. the maps palette): ``$PIX2PIX_CACHE_DIR`` or
    ``<repo>/data/cache``.

    Kept apart from the data root, which may be a read-only mirror. Git ignores it.
    """
    env = os.environ.get("PIX2PIX_CACHE_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "data" / "cache"
