"""course_utils.evaluation.curves: the labs' quality-against-CPU-minutes records and verdicts."""

from __future__ import annotations

import json

import pytest

from course_utils.errors import CourseError
from course_utils.evaluation import curves as C
from tests.helpers import REPO


def _rec(lab, arm, minutes, fast=False, **scores):
    return {"lab": lab, "arm": arm, "cpu_minutes": minutes, "fast": fast, "scores": scores}


def test_load_curves_averages_records_of_one_budget_and_skips_others():
    records = [
        _rec("nb06", "SPADE", 1, mean_iou=0.1),
        _rec("nb06", "SPADE", 1, mean_iou=0.3),  # a second seed: averaged
        _rec("nb06", "SPADE", 3, mean_iou=0.2, note="text is ignored"),
        _rec("nb06", "SPADE", 1, fast=True, mean_iou=9.0),  # fast mode: left out
        _rec("nb05", "SPADE", 1, mean_iou=9.0),  # another lab: left out
    ]
    curves = C.load_curves("nb06", records)
    assert set(curves) == {"SPADE"} and sorted(curves["SPADE"]) == [1.0, 3.0]
    assert curves["SPADE"][1.0]["mean_iou"] == pytest.approx(0.2)
    assert curves["SPADE"][1.0]["n_records"] == 2
    assert "note" not in curves["SPADE"][3.0]


def test_verdict_says_where_the_method_overtakes():
    spec = C.LABS["nb06"]
    method, base = spec["method"], spec["baseline"]
    records = [_rec("nb06", base, m, mean_iou=v) for m, v in ((1, 0.2), (3, 0.2), (9, 0.2))]
    records += [_rec("nb06", method, m, mean_iou=v) for m, v in ((1, 0.1), (3, 0.25), (9, 0.3))]
    curves = C.load_curves("nb06", records)
    assert C.overtakes(curves, "nb06") == 3.0
    assert C.verdict(curves, "nb06") == (f"{method} scores better than {base} on mean_iou at 3/9 "
                                         "CPU minutes, not at 1 (one seed each)")


def test_lower_is_better_metrics_and_never():
    spec = C.LABS["nb07"]
    assert spec["metric"] in C.LOWER_IS_BETTER
    records = [_rec("nb07", spec["baseline"], 1, abs_spectral_gap=1.0, psnr_y=25.0),
               _rec("nb07", spec["method"], 1, abs_spectral_gap=0.9, psnr_y=24.0)]
    curves = C.load_curves("nb07", records)
    assert C.overtakes(curves, "nb07") == 1.0  # a smaller gap is better
    assert C.overtakes(curves, "nb07", metric="psnr_y") is None
    assert "does not overtake" in C.verdict(curves, "nb07", metric="psnr_y")
    assert C.verdict(C.load_curves("nb07", []), "nb07").startswith("no records")


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(CourseError, match="unknown lab 'nb99'"):
        C.lab_arms("nb99", 1)
    with pytest.raises(CourseError, match="no curve records; run python benchmarks/lab_curves.py"):
        C.load_curves("nb05", tmp_path / "missing.jsonl")


def test_lab_arms_share_the_budget_and_isolate_one_thing():
    for lab in C.LABS:
        arms = C.lab_arms(lab, 2.5)
        spec = C.LABS[lab]
        assert {spec["method"], spec["baseline"]} <= set(arms), lab
        for cfg in arms.values():
            assert cfg.time_budget == 2.5 and cfg.time_budget_clock == "cpu" and cfg.seed == 0
    nb05 = C.lab_arms("nb05", 1)
    # the architecture comparison keeps the same reconstruction term on both arms
    assert nb05["Pix2PixHD + L1"].lambda_L1 == nb05["Pix2Pix"].lambda_L1 > 0
    assert not nb05["Pix2PixHD (paper losses)"].lambda_L1


def test_committed_curves_span_nine_times_for_both_arms_of_every_lab():
    path = REPO / "results" / f"{C.RECORD_NAME}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for lab, spec in C.LABS.items():
        curves = C.load_curves(lab, records)
        for arm in (spec["method"], spec["baseline"]):
            budgets = sorted(curves.get(arm, {}))
            assert len(budgets) >= 3 and budgets[-1] >= 9 * budgets[0], (lab, arm, budgets)
            assert all(spec["metric"] in curves[arm][b] for b in budgets), (lab, arm)
