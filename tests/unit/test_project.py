"""Project-level consistency: the conda environment matches pyproject, torch is not pinned."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]


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


def test_make_test_work_units_group_shared_setups_and_run_longest_first():
    from conftest import UNIT_SECONDS, unit_seconds, work_unit

    # Tests that share one expensive setup form one unit (one worker, set up once) ...
    assert (
        work_unit("tests/course/test_browser.py::test_a[01_unet]")
        == work_unit("tests/course/test_browser.py::test_b")
        == "tests/course/test_browser.py"
    )
    assert (
        work_unit(
            "tests/course/test_mistakes.py::test_mistake_costs_exactly_the_listed_points[03_l1_term::no_detach]"
        )
        == work_unit(
            "tests/course/test_mistakes.py::test_harmless_change_keeps_full_marks[03_l1_term::other]"
        )
        == "tests/course/test_mistakes.py[03_l1_term]"
    )
    # ... every other test is a unit of its own.
    assert work_unit("tests/unit/test_losses.py::test_l1") == "tests/unit/test_losses.py::test_l1"
    # The scheduler hands out the longest first: the browser unit, then the rest of the table, then
    # 1 s.
    assert unit_seconds("tests/course/test_browser.py") == max(sec for _, sec in UNIT_SECONDS)
    assert (
        unit_seconds("tests/course/test_mistakes.py[03_l1_term]")
        > unit_seconds("tests/unit/test_losses.py::test_l1")
        == 1
    )
    for prefix, _ in UNIT_SECONDS:  # every prefix still names a test file that exists
        assert (ROOT / prefix.split("::")[0].split("[")[0]).is_file(), (
            f"UNIT_SECONDS names {prefix}: no such file"
        )
