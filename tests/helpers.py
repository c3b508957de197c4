"""What the test tiers share: synthetic data, the ``pix2pix`` command, the kill-mid-run check, and
the mistake, cheat and independent-answer catalogues of ``tests/course/``."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CATALOGUE_DIRS = {
    "mistakes": REPO / "tests" / "course" / "mistakes",
    "cheats": REPO / "tests" / "course" / "cheats",
    "independent": REPO / "tests" / "course" / "independent",
}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ---------------------------------------------------------------------- synthetic data


def write_pairs(folder, n, size=64, seed=0):
    """Write ``n`` JPEG A|B pairs of ``size x size`` halves: B is a colour-quantised copy of A."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(1, n + 1):
        low = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        a = np.asarray(Image.fromarray(low).resize((size, size), Image.BILINEAR))
        b = np.where(a > 127, 230, 40).astype(np.uint8)
        Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f"{i}.jpg", quality=95)
    return folder


def _facades_classes() -> int:
    from course_utils.evaluation.palette import FACADES_CLASSES

    return len(FACADES_CLASSES)


def random_layout(h, w, seed=0, n_rects=6) -> np.ndarray:
    """A facade-like class map ``(h, w)``: facade background, background band on top, random
    rectangles."""
    rng = np.random.default_rng(seed)
    lab = np.full((h, w), 1, dtype=np.int64)
    lab[: h // 6] = 0
    for _ in range(n_rects):
        y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
        lab[y : y + rng.integers(2, max(3, h // 3)), x : x + rng.integers(2, max(3, w // 3))] = (
            rng.integers(2, _facades_classes())
        )
    return lab


def jpeg(rgb: np.ndarray, quality=90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def write_facades(folder, n, size=64, seed=0):
    """``n`` JPEG ``photo | label map`` pairs (the facades layout): the photo is a smooth function
    of the labels."""
    from course_utils.evaluation.palette import labels_to_rgb

    folder.mkdir(parents=True, exist_ok=True)
    shades = np.random.default_rng(99).integers(30, 230, size=(_facades_classes(), 3))
    for i in range(1, n + 1):
        lab = random_layout(size, size, seed + i)
        photo = shades[lab].astype(np.uint8)
        Image.fromarray(np.concatenate([photo, labels_to_rgb(lab)], axis=1)).save(
            folder / f"{i}.jpg", quality=90
        )
    return folder


# ---------------------------------------------------------------------- the command line and runs


def cli(*args, timeout=240, **kw):
    """``pix2pix ARGS`` in a subprocess (one thread): the ``CompletedProcess``."""
    return subprocess.run(
        [sys.executable, "-m", "course_utils.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=ENV, **kw,
    )


def smoke(pairs_root, **kw):
    """The Pix2Pix ``smoke`` preset on a synthetic ``--data`` folder."""
    from course_utils.training.config import config_from_preset

    return config_from_preset("smoke", dataset=None, data=str(pairs_root), **kw)


def read_log(run):
    """The rows of ``RUN/losses.jsonl``."""
    return [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]


def kill_mid_run_then_resume(args: list, tmp_path, *, kill_after: int, steps: int, save_every: int,
                             timeout: float = 180):
    """Run ``pix2pix ARGS`` to the end in ``tmp_path/ref``; in ``tmp_path/killed`` SIGKILL it once
    ``kill_after`` steps are logged, check that it died mid-way with a checkpoint at most one
    ``save_every`` interval old, then ``--resume`` it to the end.

    Returns ``(ref, killed, done)``: the two run folders and the steps logged before the kill.
    """
    from course_utils.training.checkpoint import load_checkpoint

    ref = cli(*args, "--out", tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "course_utils.cli", *map(str, args), "--out", str(run)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = run / "losses.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= kill_after:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(log.read_text().splitlines())
    assert kill_after <= done < steps, "the run should have been killed mid-way"
    ckpt_step = load_checkpoint(run / "checkpoints" / "latest.pt")["step"]
    assert done - save_every <= ckpt_step <= done  # at most one --save-every interval is redone
    res = cli(*args, "--out", run, "--resume")
    assert res.returncode == 0, res.stderr
    assert [r["step"] for r in read_log(run)] == list(range(1, steps + 1))
    return tmp_path / "ref", run, done


# ---------------------------------------------------------------------- catalogues


def load_catalogue(kind: str, name: str):
    """``tests/course/<kind>/<name>.py`` (``kind``: a key of ``CATALOGUE_DIRS``) as a module."""
    path = CATALOGUE_DIRS[kind] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{kind}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalogues(kind: str) -> dict[str, object]:
    """Every catalogue of ``kind``, by notebook folder name."""
    return {
        p.stem: load_catalogue(kind, p.stem) for p in sorted(CATALOGUE_DIRS[kind].glob("[!_]*.py"))
    }


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cell(nb, grade_id: str):
    """The solution cell of ``nb`` with nbgrader ``grade_id``."""
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") == grade_id:
            assert meta.get("solution"), f"cell {grade_id!r} is not a solution cell"
            return cell
    raise AssertionError(f"no cell with grade_id {grade_id!r}")


def apply_mistake(nb, mistake: dict):
    """A copy of ``nb`` with a catalogue entry applied; asserts its ``find`` text occurs exactly
    once."""
    nb = copy.deepcopy(nb)
    cell = solution_cell(nb, mistake["cell"])
    count = cell.source.count(mistake["find"])
    assert count == 1, (
        f"{mistake['id']}: {mistake['find']!r} occurs {count} times in cell {mistake['cell']!r}"
    )
    cell.source = cell.source.replace(mistake["find"], mistake["replace"])
    return nb


def solution_regions(source: str) -> list[tuple[int, int]]:
    """``(first, last)`` line indices (exclusive of the markers) of each ``### BEGIN SOLUTION`` /
    ``### END SOLUTION`` region of a cell's source."""
    lines = source.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION"]
    ends = [i for i, line in enumerate(lines) if line.strip() == "### END SOLUTION"]
    assert len(begins) == len(ends), "unbalanced BEGIN/END SOLUTION markers"
    return [(b + 1, e) for b, e in zip(begins, ends)]


def apply_answers(nb, answers: dict[str, list[str]]):
    """A copy of ``nb`` (a solution notebook) with the solution regions of the named cells replaced:
    ``{grade_id: [region text, ...]}``, one text per ``### BEGIN SOLUTION`` region, in order,
    with its own indentation. The skeleton around the regions stays as released."""
    nb = copy.deepcopy(nb)
    for grade_id, regions in answers.items():
        cell = solution_cell(nb, grade_id)
        spans = solution_regions(cell.source)
        assert len(spans) == len(regions), (
            f"cell {grade_id!r} has {len(spans)} solution regions, the answer gives {len(regions)}"
        )
        lines = cell.source.split("\n")
        for (first, last), text in reversed(list(zip(spans, regions))):
            lines[first:last] = text.rstrip("\n").split("\n")
        cell.source = "\n".join(lines)
    return nb
