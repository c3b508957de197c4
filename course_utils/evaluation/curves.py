"""Quality against CPU minutes for the comparisons of labs 5-8.

One home for what ``benchmarks/lab_curves.py`` runs and what the notebooks plot:

- :func:`lab_arms`: the arms of a lab's comparison, with the notebook's configuration, for a
  budget in CPU minutes (the process's CPU time, all threads);
- :func:`score_lab`: the notebook's held-out scores of each arm;
- :func:`load_curves`, :func:`plot_curves`, :func:`overtakes`: the records of
  ``results/lab_curves.jsonl`` as curves, with the student's own run added live.

Each lab names its ``method``, its ``baseline`` and the metric that decides whether the method
pays (:data:`LABS`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from course_utils.errors import CourseError

RECORD_NAME = "lab_curves"

LABS: dict[str, dict] = {
    "nb05": dict(title="Pix2PixHD against Pix2Pix (maps, aerial -> map, 512 px val tiles)",
                 method="Pix2PixHD + L1", baseline="Pix2Pix",
                 metric="mean_iou", label="mean palette IoU (higher is better)"),
    "nb06": dict(title="SPADE against Pix2Pix (facades, labels -> photo, 128 px)",
                 method="SPADE", baseline="Pix2Pix",
                 metric="mean_iou", label="segmenter mean IoU on the photos (higher is better)"),
    "nb07": dict(title="SRGAN against SRResNet (maps photos, x4)",
                 method="SRGAN", baseline="SRResNet (MSE)",
                 metric="abs_spectral_gap",
                 label="|spectral gap| above 0.125 cycles/px (lower is better)"),
    "nb08": dict(title="CycleGAN (unpaired) against Pix2Pix (paired), aerial -> map",
                 method="CycleGAN (unpaired)", baseline="Pix2Pix (L1 + cGAN)",
                 metric="mean_iou", label="mean palette IoU (higher is better)"),
}


LOWER_IS_BETTER = {"rmse", "l1", "abs_spectral_gap"}
"""Metrics where a smaller value is better; every other metric is better higher."""


def _lab(lab: str) -> dict:
    if lab not in LABS:
        raise CourseError(f"unknown lab {lab!r}: choose one of {', '.join(LABS)}")
    return LABS[lab]


def lab_arms(lab: str, minutes: float, fast: bool = False) -> dict:
    """``{arm name: TrainConfig}`` of ``lab``'s comparison, ``minutes`` CPU minutes per arm.

    The configurations are the notebooks' (the notebooks call this function). ``fast``: the
    notebooks' fast mode (tiny networks, 2 or 3 steps on 8 files), for tests.

    Raises:
        CourseError: for an unknown lab.
    """
    from course_utils.training import config_from_preset

    _lab(lab)
    budget = dict(time_budget=None if fast else minutes, time_budget_clock="cpu",
                  max_steps=2 if fast else None, max_train_items=8 if fast else None, n_samples=2,
                  seed=0)
    if lab == "nb05":
        common = dict(dataset="maps", load_size=512, crop_size=256, eval_size=512, batch_size=2,
                      lr=5e-4, compile="off", **budget)
        p2p = config_from_preset("cpu-quick-v1", model="pix2pix", **common)
        return {
            "Pix2Pix": p2p,
            "Pix2PixHD + L1": config_from_preset("cpu-quick", model="pix2pixhd",
                                                 lambda_L1=p2p.lambda_L1, **common),
            "Pix2PixHD (paper losses)": config_from_preset("cpu-quick", model="pix2pixhd",
                                                           **common),
        }
    if lab == "nb06":
        common = dict(dataset="facades", direction="BtoA", load_size=143, crop_size=128,
                      eval_size=128, compile="off", epochs=100, **budget)
        if fast:
            common.update(max_steps=3, load_size=64, crop_size=64, eval_size=64)
        return {
            "Pix2Pix": config_from_preset("cpu-quick-v1", model="pix2pix", **common,
                                          **(dict(netG="unet_64", ngf=4, ndf=4) if fast else {})),
            "SPADE": config_from_preset("cpu-quick", model="spade", **common,
                                        **(dict(ngf=4, spade_hidden=8, ndf=4) if fast else {})),
        }
    if lab == "nb07":
        common = dict(dataset="maps", epochs=100, **budget)
        if fast:
            common.update(ngf=8, n_blocks=1, ndf=4, crop_size=32, batch_size=2)
        return {
            "SRResNet (MSE)": config_from_preset("cpu-quick", model="srgan", lambda_adv=0.0,
                                                 content_loss="mse", **common),
            "SRGAN": config_from_preset("cpu-quick", model="srgan", **common),
        }
    common = dict(dataset="maps", compile="off", **budget, **(dict(ngf=8, ndf=8) if fast else {}))
    return {
        "Pix2Pix (L1 + cGAN)": config_from_preset("cpu-quick-v1", model="pix2pix", **common),
        "Pix2Pix (L1 only)": config_from_preset("cpu-quick-v1", model="pix2pix", gan_weight=0.0,
                                                **common),
        "CycleGAN (unpaired)": config_from_preset("cpu-quick", model="cyclegan", **common),
    }


def score_lab(lab: str, generators: dict, configs: dict, fast: bool = False,
              device="cpu") -> dict:
    """The notebook's held-out scores of each arm: ``{arm: {metric: float}}``.

    - nb05: every third maps val tile, whole (512 px): acc@5, acc@10, RMSE, palette IoU;
    - nb06: the course's facades segmenter on each arm's photos for the val label maps;
    - nb07: PSNR and SSIM on Y (4 border pixels cropped) on the val crops, and the spectral gap
      above 0.125 cycles per pixel (:func:`~course_utils.evaluation.spectrum.spectral_gap`);
    - nb08: the 366 maps val tiles at 256 px: acc@5, acc@10, RMSE, palette IoU, L1.

    ``fast`` scores 4 val items (and trains a throwaway segmenter for nb06).
    """
    import torch

    from course_utils.data.datasets import dataset_folder
    from course_utils.evaluation.evaluate import evaluate, evaluate_sr
    from course_utils.evaluation.palette import maps_palette
    from course_utils.training import config_from_preset, eval_dataset

    _lab(lab)
    n = 4 if fast else None
    out: dict = {}
    if lab in ("nb05", "nb08"):
        first = next(iter(configs.values()))
        cfg = first if lab == "nb05" else config_from_preset("cpu-quick", dataset="maps")
        if fast:
            cfg = first
        tiles = eval_dataset(dataset_folder("maps", "val"), cfg, max_items=n, progress=False)
        if lab == "nb05":  # every third tile (122 of 366)
            tiles = torch.utils.data.Subset(tiles, range(0, len(tiles), 1 if fast else 3))
        palette = maps_palette()
        for arm, netG in generators.items():
            s = evaluate(netG, tiles, device=device, batch_size=4, palette=palette,
                         progress=False)
            out[arm] = {"n_images": s["n_images"], "acc_delta5": float(s["acc_delta5"]),
                        "acc_delta10": float(s["acc_delta10"]), "rmse": float(s["rmse"]),
                        "mean_iou": float(s["mean_iou"]), "l1": float(s["l1"]),
                        "road_iou": s["iou"].get("road"), "highway_iou": s["iou"].get("highway")}
        return out
    if lab == "nb06":
        from course_utils.evaluation import segmenter as seg_lib

        val_dir = dataset_folder("facades", "val")
        if fast:
            import tempfile

            settings = seg_lib.SegmenterSettings(netG="unet_32", ngf=4, steps=20,
                                                 max_train_items=8)
            segmenter, _ = seg_lib.load_or_train_segmenter(
                settings=settings, progress=False,
                cache_file=Path(tempfile.mkdtemp(prefix="seg_")) / "segmenter.pt")
        else:
            segmenter, _ = seg_lib.load_or_train_segmenter(progress=False)
        _, labels, _ = seg_lib.load_facades(val_dir, seg_lib.SEG_SIZE, n)
        for arm, netG in generators.items():
            photos = seg_lib.generate_photos(netG, configs[arm], val_dir, n, device)
            s = seg_lib.segmentation_scores(seg_lib.segment(segmenter, photos), labels)
            out[arm] = {"n_images": len(labels), **{k: float(v) for k, v in s.items()
                                                    if isinstance(v, (int, float))}}
        return out
    # nb07
    import torch.nn.functional as F

    from course_utils.evaluation.spectrum import radial_power_spectrum, spectral_gap

    val = eval_dataset(dataset_folder("maps", "val"), configs["SRGAN"], max_items=n,
                       progress=False)
    real = torch.stack([val[i]["real_B"] for i in range(len(val))])
    low = torch.stack([val[i]["real_A"] for i in range(len(val))])
    freqs, p_real = radial_power_spectrum(real)
    _, p_bic = radial_power_spectrum(
        F.interpolate(low, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1))
    for arm, netG in generators.items():
        s = evaluate_sr(netG, val, device=device, scale=4, batch_size=16, progress=False)
        with torch.no_grad():
            fake = torch.cat([netG.eval()(low[k:k + 32].to(device)).float().cpu().clamp(-1, 1)
                              for k in range(0, len(low), 32)])
        gap = spectral_gap(radial_power_spectrum(fake)[1], p_real, freqs, band=(0.125, 0.5))
        out[arm] = {"n_images": s["n_images"], "psnr_y": float(s["psnr_y"]),
                    "ssim_y": float(s["ssim_y"]), "bicubic_psnr_y": float(s["bicubic_psnr_y"]),
                    "spectral_gap": float(gap), "abs_spectral_gap": abs(float(gap)),
                    "bicubic_spectral_gap": float(spectral_gap(p_bic, p_real, freqs,
                                                               band=(0.125, 0.5)))}
    return out


def load_curves(lab: str, records=None, fast: bool = False) -> dict:
    """``{arm: {cpu_minutes: {metric: mean over records}}}`` from ``results/lab_curves.jsonl``.

    ``records``: a path or a list of records (default: the committed file,
    :func:`course_utils.results.results_dir`). Only records of ``lab`` with the given ``fast``
    flag count; several records of one (arm, budget), e.g. several seeds or machines, are
    averaged.

    Raises:
        CourseError: for an unknown lab, or when the file is missing.
    """
    from course_utils.results import results_dir

    _lab(lab)
    if records is None or isinstance(records, (str, Path)):
        path = Path(records) if records else results_dir() / f"{RECORD_NAME}.jsonl"
        if not path.is_file():
            raise CourseError(f"{path}: no curve records; run "
                              f"python benchmarks/lab_curves.py --labs {lab}")
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sums: dict = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.get("lab") == lab and bool(r.get("fast")) == fast:
            sums[r["arm"]][float(r["cpu_minutes"])].append(r["scores"])
    curves: dict = {}
    for arm, by_budget in sums.items():
        curves[arm] = {}
        for minutes, rows in sorted(by_budget.items()):
            keys = {k for r in rows for k, v in r.items() if isinstance(v, (int, float))}
            curves[arm][minutes] = {}
            for k in keys:
                values = [r[k] for r in rows if r.get(k) is not None]
                if values:
                    curves[arm][minutes][k] = float(np.mean(values))
            curves[arm][minutes]["n_records"] = len(rows)
    return curves


def overtakes(curves: dict, lab: str, metric: str | None = None) -> float | None:
    """The smallest recorded budget (CPU minutes) at which ``lab``'s method scores better than
    its baseline on ``metric`` (default: the lab's), or ``None`` if it never does."""
    spec = _lab(lab)
    metric = metric or spec["metric"]
    method, base = curves.get(spec["method"], {}), curves.get(spec["baseline"], {})
    for minutes in sorted(set(method) & set(base)):
        a, b = method[minutes].get(metric), base[minutes].get(metric)
        if a is None or b is None:
            continue
        if (a < b) if metric in LOWER_IS_BETTER else (a > b):
            return minutes
    return None


def verdict(curves: dict, lab: str, metric: str | None = None) -> str:
    """One sentence: where, if anywhere, the method overtakes its baseline on ``metric`` (default:
    the lab's) in the records."""
    spec = _lab(lab)
    metric = metric or spec["metric"]
    budgets = sorted(set(curves.get(spec["method"], {})) & set(curves.get(spec["baseline"], {})))
    if not budgets:
        return f"no records of both {spec['method']} and {spec['baseline']} yet"
    span = "/".join(f"{b:g}" for b in budgets)
    better = [b for b in budgets if overtakes({k: {b: v[b]} for k, v in curves.items() if b in v},
                                              lab, metric) is not None]
    if not better:
        return (f"{spec['method']} does not overtake {spec['baseline']} on {metric} at any "
                f"recorded budget ({span} CPU minutes, one seed each)")
    if better == budgets:
        return (f"{spec['method']} scores better than {spec['baseline']} on {metric} at every "
                f"recorded budget ({span} CPU minutes, one seed each)")
    worse = [b for b in budgets if b not in better]
    return (f"{spec['method']} scores better than {spec['baseline']} on {metric} at "
            f"{'/'.join(f'{b:g}' for b in better)} CPU minutes, not at "
            f"{'/'.join(f'{b:g}' for b in worse)} (one seed each)")


def plot_curves(lab: str, curves: dict, metric: str | None = None, student: dict | None = None,
                student_minutes: float | None = None, ax=None):
    """Plot ``metric`` against CPU minutes (log axis) for every arm of ``curves``.

    ``student``: ``{arm: {metric: value}}`` of the student's own run at ``student_minutes``,
    drawn as large hollow markers of the arm's colour. Returns the axes.
    """
    import matplotlib.pyplot as plt

    spec = _lab(lab)
    metric = metric or spec["metric"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (arm, by_budget) in enumerate(curves.items()):
        xs = sorted(by_budget)
        xs = [x for x in xs if metric in by_budget[x]]
        ax.plot(xs, [by_budget[x][metric] for x in xs], "o-", color=f"C{i}",
                label=f"{arm} (records)")
        if student and student.get(arm, {}).get(metric) is not None and student_minutes:
            ax.plot([student_minutes], [student[arm][metric]], "o", ms=13, mfc="none",
                    mew=2, color=f"C{i}", label=f"{arm} (your run)")
    ax.set_xscale("log")
    budgets = sorted({x for b in curves.values() for x in b} | (
        {student_minutes} if student_minutes else set()))
    ax.set_xticks(budgets)
    ax.set_xticklabels([f"{b:g}" for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("training budget (CPU minutes, one fresh run per point)")
    ax.set_ylabel(metric if metric != spec["metric"] else spec["label"])
    ax.set_title(spec["title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax
