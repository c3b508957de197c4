"""docs/instructors.md: its points table matches the notebooks, and zip_collect reads the hand-in
names it gives."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "instructors.md"


def _points(path: Path) -> tuple[int, float]:
    """(number of graded test cells, their points) from the nbgrader metadata."""
    cells = json.loads(path.read_text())["cells"]
    graded = [
        c["metadata"]["nbgrader"]
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]
    return len(graded), sum(float(m.get("points") or 0) for m in graded)


def test_points_table_matches_the_notebooks():
    rows = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| \d \| `(\d\d_\w+)` \| [^|]+ \| (\d+) \| (\d+) \|", line)
        if m:
            rows[m[1]] = (int(m[2]), float(m[3]))
    expected = {p.parent.name: _points(p) for p in sorted(REPO.glob("solutions/*/*.ipynb"))}
    assert rows == expected, (
        "docs/instructors.md: the points table disagrees with solutions/*/*.ipynb"
    )
    total = re.search(
        r"\| \| \*\*total\*\* \| \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|", DOC.read_text()
    )
    assert total, "docs/instructors.md: the total row is missing"
    assert (int(total[1]), float(total[2])) == tuple(map(sum, zip(*expected.values(), strict=True)))


def _collector():
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    return FileNameCollectorPlugin(config=config)


# (file name as the LMS delivers it, expected (student_id, file_id) or None: skipped)
NAMES = [
    ("s123456_01_unet.ipynb", ("s123456", "01_unet")),
    (
        "Doe Jane_4711_assignsubmission_file_/s123456_04_pix2pix_maps.ipynb",
        ("s123456", "04_pix2pix_maps"),
    ),
    ("doejane_12345_678_s123456_02_patchgan (1).ipynb", ("s123456", "02_patchgan")),
    ("jane.doe@uni.example_08_beyond.ipynb", ("jane.doe@uni.example", "08_beyond")),
    ("s-42_05_pix2pixhd(2).ipynb", ("s-42", "05_pix2pixhd")),
    (
        "s1_01_unet_final.ipynb",
        ("s1", "01_unet_final"),
    ),  # collected with a warning (--strict: skipped)
    ("01_unet.ipynb", None),
    ("Copy of 01_unet.ipynb", None),
    ("s123456_01_unet.ipynb.zip", None),
]


@pytest.mark.parametrize("name, expected", NAMES)
def test_named_regexp_reads_the_documented_names(name, expected):
    collector = _collector()
    assert collector.named_regexp, "nbgrader_config.py sets no FileNameCollectorPlugin.named_regexp"
    info = collector.collect(f"/course/downloaded/01_unet/extracted/{name}")
    got = (info["student_id"], info["file_id"]) if info else None
    assert got == expected


def test_zip_collect_end_to_end(tmp_path):
    """A real `nbgrader zip_collect` on an LMS zip and a loose file, with the course's config."""
    course = tmp_path / "course"
    (course / "notebooks" / "01_unet").mkdir(parents=True)
    release = REPO / "notebooks" / "01_unet" / "01_unet.ipynb"
    shutil.copy(release, course / "notebooks" / "01_unet")
    shutil.copy(REPO / "nbgrader_config.py", course)
    archive = course / "downloaded" / "01_unet" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms.zip", "w") as z:
        z.write(release, "Doe Jane_4711_assignsubmission_file_/s123456_01_unet.ipynb")
        z.write(release, "Copy of 01_unet.ipynb")
    shutil.copy(release, archive / "s7_01_unet (1).ipynb")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", "01_unet"], cwd=course,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = sorted(
        str(p.relative_to(course / "submitted")) for p in (course / "submitted").rglob("*.ipynb")
    )
    assert got == ["s123456/01_unet/01_unet.ipynb", "s7/01_unet/01_unet.ipynb"]
