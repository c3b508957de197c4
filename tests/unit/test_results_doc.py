"""scripts/make_results.py: docs/results.md is what the records in results/ produce."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "make_results.py"


def _module():
    spec = importlib.util.spec_from_file_location("make_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


def test_committed_results_doc_is_up_to_date(tmp_path):
    out = tmp_path / "results.md"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True
    )
    committed = (REPO / "docs" / "results.md").read_bytes()
    assert out.read_bytes() == committed, "docs/results.md is out of date: run `make results`"


MACHINE = {
    "cpu_model": "Test CPU",
    "threads": 2,
    "vector_units": ["AVX2", "AVX-512"],
    "torch": "2.0",
}


def _write(folder: Path, name: str, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + "\n")


def test_synthetic_records(tmp_path):
    results = tmp_path / "results"
    _write(results, "train_throughput", [
        {"date": "2026-01-02T10:11:12+00:00", "commit": "0123456789ab+dirty", "command": "b | c",
         "machine": MACHINE, "config": "big", "images_per_second": 12.345, "fraction_of_peak": 0.5},
        {"date": "2026-01-01T09:00:00+00:00", "commit": "fedcba987654", "command": "a",
         "machine": {**MACHINE, "gpu": "Some GPU"}, "config": "small", "images_per_second": 100.0},
    ])
    _write(results, "my_new_bench", [
        {"date": "2026-03-04", "commit": None, "command": "x", "machine": MACHINE,
         "seconds": 3, "ok": True, "name": "n", "nested": {"a": 1}, "ratio": 0.12345},
    ])
    mod = _module()
    text = mod.render(results)
    assert text == mod.render(results)  # deterministic
    assert "T10:11" not in text and "10:11:12" not in text  # no clock times
    lines = text.splitlines()
    # files sorted by name: the unknown topic first, with a title from its name
    assert lines.index("## My new bench") < lines.index("## Training throughput")
    generic = next(line for line in lines if line.startswith("| ratio"))
    assert generic == "| ratio | seconds | cmd | date, commit, machine |"  # numbers only, sorted
    assert "| 0.123 | 3 | 1 | 2026-03-04, `?`, Test CPU (AVX-512), 2 threads |" in lines
    # a known topic: its columns, rows sorted by date, GPU or CPU provenance, escaped pipes
    small = next(line for line in lines if line.startswith("| small"))
    big = next(line for line in lines if line.startswith("| big"))
    assert lines.index(small) < lines.index(big)
    assert small.endswith("| 1 | 2026-01-01, `fedcba9`, GPU: Some GPU |")
    assert "| 12.3 |" in big and "| 50% |" in big
    assert big.endswith("| 2 | 2026-01-02, `0123456+dirty`, Test CPU (AVX-512), 2 threads |")
    assert "2. `b | c`" in lines and "1. `a`" in lines

    out = tmp_path / "doc.md"
    assert mod.main(["--results", str(results), "--out", str(out)]) == 0
    assert out.read_text() == text


def test_empty_results_folder(tmp_path):
    assert "No records yet." in _module().render(tmp_path)
