"""The static audit (course_utils.grading.audit, `pix2pix audit`): every trick flagged, no honest
answer flagged."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from helpers import catalogues

from course_utils.cli import main
from course_utils.grading.audit import audit_notebook, audit_source

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((REPO / "solutions").glob("*/*.ipynb"))


def release_of(path: Path) -> Path:
    return REPO / "notebooks" / path.parent.name / path.name


MISTAKE_CASES = [
    pytest.param(name, m, id=f"{name}::{m['id']}")
    for name, cat in catalogues("mistakes").items()
    for m in cat.MISTAKES + getattr(cat, "HARMLESS", [])
]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_reference_answers_are_not_flagged(path):
    findings = audit_notebook(path, release_of(path))
    assert not findings, "\n".join(map(str, findings))
    # and every answer cell on its own, without the release to compare with
    nb = nbformat.read(path, as_version=4)
    answer_cells = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("solution")}
    findings = [f for f in audit_notebook(path) if f.cell_id in answer_cells]
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize(("name", "change"), MISTAKE_CASES)
def test_mistake_catalogue_is_not_flagged(name, change, tmp_path):
    """Wrong (and harmlessly different) honest answers are not cheating: no finding."""
    src = REPO / "solutions" / name / f"{name}.ipynb"
    nb = copy.deepcopy(nbformat.read(src, as_version=4))
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == change["cell"]
    )
    cell.source = cell.source.replace(change["find"], change["replace"])
    path = tmp_path / src.name
    nbformat.write(nb, path)
    findings = audit_notebook(path, release_of(src))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("import torch\ntorch.allclose = lambda *a, **k: True", "module-attribute"),
        ("import numpy as np\nsetattr(np, 'allclose', print)", "module-attribute"),
        ("import torch\ndel torch.Tensor.__eq__", "module-attribute"),
        ("x = object()\nx.__class__ = int", "dunder-attribute"),
        ("from course_utils.grading import check_close\ncheck_close = print", "rebinds-helper"),
        ("globals()['check_close'] = print", "rebinds-helper"),
        ("import builtins\nbuiltins.len = lambda x: 0", "builtins"),
        ("__builtins__.len = None", "builtins"),
        ("import sys\nsys.modules['torch'] = None", "sys-modules"),
        ("import sys\nf = sys._getframe(1).f_locals", "frame-access"),
        ("import inspect\ninspect.stack()", "frame-access"),
        ("exec('print(1)')", "dynamic-code"),
        ("eval('1')", "dynamic-code"),
        ("import importlib\nimportlib.import_module('os')", "dynamic-code"),
        ("m = __import__('os')", "dynamic-code"),
        ("import ctypes", "process"),
        ("import os\nos._exit(0)", "process"),
        ("import signal", "process"),
        ("!ls ../..", "shell"),
        ("import subprocess", "shell"),
        ("open('../../gradebook.db', 'wb')", "file-access"),
        (
            "from pathlib import Path\nPath('/home/instructor/course/solutions').glob('*')",
            "file-access",
        ),
        ("import sqlite3", "file-access"),
        ("import os\nos.chdir('..')", "file-access"),
        ("import socket", "network"),
        ("import urllib.request", "network"),
        ("class T(torch.Tensor):\n    pass", "suspicious-class"),
        ("class A:\n    def __eq__(self, other):\n        return True", "suspicious-class"),
        ("def receptive_field(n_layers=3, kernel_size=4):\n    return 70", "ignores-arguments"),
        ("def f(:\n    pass", "unparsable"),
    ],
)
def test_each_rule(code, rule):
    found = {r for _, r, _ in audit_source(code)}
    assert rule in found, f"{code!r}: expected [{rule}], found {found}"


@pytest.mark.parametrize("code", [
    "self.conv = nn.Conv2d(3, 8, 3)",
    "import os\nos.environ['PIX2PIX_DATA_ROOT'] = 'data'",
    "x = torch.cat([a, b], dim=1)\nloss = F.l1_loss(x, y)",
    "def f(x):\n    return x * 2",
    "def stub(x):\n    raise NotImplementedError()",
    "class Net(nn.Module):\n    def forward(self, x):\n        return self.body(x)",
    "with torch.no_grad():\n    y = net(x)",
    "print(f'{loss:.3f}')",
    "for p in net.parameters():\n    p.requires_grad_(False)",
])
def test_ordinary_code_is_not_flagged(code):
    assert audit_source(code) == []


def test_command_names_cell_and_line(tmp_path, capsys):
    src = REPO / "solutions" / "02_patchgan" / "02_patchgan.ipynb"
    nb = nbformat.read(src, as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "receptive_field"
    )
    cell.source += "\nimport torch\ntorch.allclose = lambda *a, **k: True\n"
    index = nb.cells.index(cell)
    line = cell.source.splitlines().index("torch.allclose = lambda *a, **k: True") + 1
    path = tmp_path / src.name
    nbformat.write(nb, path)
    assert (
        main(
            [
                "audit",
                str(path),
                "--release",
                str(release_of(src).parent),
                "--json",
                str(tmp_path / "a.json"),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert f"cell {index} (receptive_field), line {line}: [module-attribute]" in out, out
    assert "torch.allclose = lambda" in out and "1 flagged for manual review" in out
    assert (tmp_path / "a.json").is_file()
    assert main(["audit", str(src), "--release", str(release_of(src))]) == 0
