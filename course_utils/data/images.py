"""Image files: the one list of extensions the course reads and the one way to list a folder's
images."""

from __future__ import annotations

import re
from pathlib import Path

from course_utils.errors import DataError

# What PIL decodes and the course accepts, everywhere: data sets, palettes, translate.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif",
                              ".ppm"})

_KNOWN = ("maps", "facades")


def _natural_key(path: Path) -> list:
    """Sort key: ``2.jpg`` before ``10.jpg``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _fetch_hint(folder: Path) -> str:
    """Suggest the fetch command when ``folder`` looks like ``ROOT/NAME/SPLIT``."""
    name = folder.parent.name
    if name in _KNOWN:
        return f"run `pix2pix data fetch {name}` (data root: {folder.parent.parent})"
    return ("for the course data run `pix2pix data fetch maps` (or facades); "
            "otherwise check the path")


def list_images(folder: str | Path, max_items: int | None = None) -> list[Path]:
    """The image files of ``folder`` (by :data:`IMAGE_EXTENSIONS`, hidden files skipped), in
    natural order.

    Raises:
        DataError: the folder is missing, is a file, or holds no images (the message says how to
            fetch the course data when the path looks like one of its splits).
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder {folder} does not exist; {_fetch_hint(folder)}")
    if not folder.is_dir():
        raise DataError(
            f"{folder} is a file, not a folder of A|B images; pass the folder that holds them"
        )
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    ]
    if not files:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images ({exts}) in {folder}; {_fetch_hint(folder)}")
    files.sort(key=_natural_key)
    return files[:max_items] if max_items is not None else files
