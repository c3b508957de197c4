"""Project-level consistency: the conda environment matches pyproject, torch is not pinned."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    proj = data["project"]
    return proj["dependencies"] + proj["optional-dependencies"]["dev"]


def test_environment_yml_names_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(d) for d in dep["pip"] if not d.startswith("-")}
        else:
            names.add(_name(dep))
    names -= {"python", "pip"}
    assert names == {_name(r) for r in _pyproject_requirements()}


def test_lower_bounds_only_and_torch_never_pinned():
    for req in _pyproject_requirements():
        assert "==" not in req and "<" not in req, f"{req}: use lower bounds only"
    text = (ROOT / "environment.yml").read_text() + (ROOT / "Makefile").read_text()
    assert "torch==" not in text


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
