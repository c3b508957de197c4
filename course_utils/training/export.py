"""A trained generator as a folder that travels: safetensors weights, a JSON config, a model
card.

``pix2pix export CHECKPOINT --out DIR`` writes::

    DIR/generator.safetensors   netG's weights (the moving average when the run kept one)
    DIR/config.json             {"format": "pix2pix-course-generator", "version": 1, "model",
                                 "config", ...}
    DIR/README.md               the model card: architecture, training, metrics, the data's terms

Loading it reads tensors and JSON only: safetensors holds no pickle, so
nothing in the folder can run code. ``pix2pix translate`` and ``pix2pix eval``
accept the folder wherever they accept a checkpoint.
``pix2pix import-weights`` writes the same folder from a generator published
by the pix2pix authors (:mod:`course_utils.models.published`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from course_utils.errors import CheckpointError

FORMAT = "pix2pix-course-generator"
VERSION = 1
WEIGHTS_FILE = "generator.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"

DATA_TERMS = {
    "maps": "Google Maps aerial imagery and map tiles, via the pix2pix data set (Isola et al. "
            "2017). No open licence: use is governed by Google's Maps/Earth terms; treat the data, "
            "and weights trained on it, as non-commercial research and teaching material, and "
            "credit \"Google Maps, via the pix2pix data set (Isola et al., 2017)\".",
    "facades": "CMP Facade Database (Tyleček and Šára, GCPR 2013), via the pix2pix data set. No "
               "explicit licence found; the photos may carry their owners' rights. Use for "
               "research and teaching and cite Tyleček and Šára 2013.",
}
PAPERS = {
    "pix2pix": "Isola, Zhu, Zhou and Efros, Image-to-Image Translation with Conditional "
               "Adversarial Networks, CVPR 2017",
    "pix2pixhd": "Wang et al., High-Resolution Image Synthesis and Semantic Manipulation with "
                 "Conditional GANs, CVPR 2018",
    "srgan": "Ledig et al., Photo-Realistic Single Image Super-Resolution Using a GAN, CVPR 2017",
    "cyclegan": "Zhu, Park, Isola and Efros, Unpaired Image-to-Image Translation using "
                "Cycle-Consistent Adversarial Networks, ICCV 2017",
    "spade": "Park, Liu, Wang and Zhu, Semantic Image Synthesis with Spatially-Adaptive "
             "Normalization, CVPR 2019",
}


def is_exported(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by :func:`export_generator` or
    :func:`import_published`.

    A run folder also holds a ``config.json``; an exported one has the weights file or says its
    format.
    """
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / WEIGHTS_FILE).is_file():
        return True
    try:
        return json.loads((path / CONFIG_FILE).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _write_folder(out: Path, state: dict, meta: dict, card: str) -> Path:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_file(tensors, str(out / WEIGHTS_FILE),
              metadata={"format": FORMAT, "version": str(VERSION)})
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (out / CARD_FILE).write_text(card)
    return out


def _card(meta: dict, params: int, metrics: dict | None, note: str) -> str:
    cfg = meta["config"]
    dataset = None if cfg.get("data") else cfg.get("dataset")  # --data: the user's own folder
    what = {"AtoB": "A -> B", "BtoA": "B -> A"}.get(cfg.get("direction"), cfg.get("direction"))
    if dataset == "maps":
        what = {"AtoB": "aerial photo -> map",
                "BtoA": "map -> aerial photo"}.get(cfg.get("direction"), what)
    lines = [
        f"# {meta['model']} generator: {dataset or 'own data'}, {what}",
        "",
        f"- Model: {PAPERS.get(meta['model'], meta['model'])}.",
        f"- Architecture: `{cfg.get('netG')}`, ngf {cfg.get('ngf')}, {cfg.get('norm')} norm, "
        f"{params:,} parameters; input and output `(N, 3, H, W)` in [-1, 1].",
        f"- Training: {note}",
    ]
    if metrics:
        rows = [(k, v) for k, v in sorted(metrics.items())
                if isinstance(v, (int, float)) and not isinstance(v, bool)]
        lines += ["", "## Metrics of the run", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in rows]
    else:
        lines += ["", "## Metrics", "",
                  "Not evaluated when exported: `pix2pix eval --checkpoint THIS_FOLDER "
                  f"{'--dataset ' + dataset if dataset else '--data DIR'}` scores it on a held-out "
                  "split."]
    terms = DATA_TERMS.get(dataset or "", "Trained on the user's own data; its terms apply.")
    lines += ["", "## Data and terms", "", terms, "",
              "## Use", "", "```bash",
              "pix2pix translate --checkpoint THIS_FOLDER my_images/ --out translated/", "```", ""]
    return "\n".join(lines)


def export_generator(checkpoint: str | os.PathLike, out: str | os.PathLike,
                     metrics: str | os.PathLike | None = None) -> Path:
    """Write ``checkpoint``'s generator as an exported folder ``out``.

    Args:
        checkpoint: a course checkpoint (``RUN_DIR/checkpoints/latest.pt``) or a run folder.
        out: the folder to write (created; files in it are replaced).
        metrics: a metrics JSON (``pix2pix eval --json``); default ``RUN_DIR/metrics.json`` when
            present.

    Raises:
        CheckpointError: if ``checkpoint`` is not a readable course checkpoint.
    """
    from course_utils.training.checkpoint import generator_from_checkpoint, load_checkpoint
    from course_utils.training.config import TrainConfig

    path = Path(checkpoint)
    if path.is_dir() and (path / "checkpoints" / "latest.pt").is_file():
        path = path / "checkpoints" / "latest.pt"
    ckpt = load_checkpoint(path)
    netG, cfg = generator_from_checkpoint(ckpt)
    assert isinstance(cfg, TrainConfig)
    ema = ckpt.get("netG_ema") is not None
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    metrics_path = Path(metrics) if metrics else run_dir / "metrics.json"
    scores = None
    if metrics_path.is_file():
        try:
            scores = json.loads(metrics_path.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{metrics_path} is not valid JSON ({exc}); "
                                  f"pass --metrics FILE or none") from None
        scores = scores.get("metrics", scores) if isinstance(scores, dict) else None
    elif metrics:
        raise CheckpointError(f"--metrics {metrics} does not exist; "
                              f"write it with `pix2pix eval ... --json FILE`")
    meta = {
        "format": FORMAT, "version": VERSION, "model": cfg.model, "config": cfg.to_dict(),
        "weights": "netG_ema (moving average)" if ema else "netG",
        "source": {"checkpoint": path.name, "step": int(ckpt["step"])},
    }
    note = (f"{int(ckpt['step'])} steps, preset-derived config in config.json"
            f"{', weights averaged (EMA ' + str(cfg.ema) + ')' if ema else ''}.")
    params = sum(p.numel() for p in netG.parameters())
    return _write_folder(Path(out), netG.state_dict(), meta, _card(meta, params, scores, note))


def load_exported(folder: str | os.PathLike, device="cpu") -> tuple[nn.Module, object]:
    """``(netG, cfg)`` from an exported folder, on ``device``, in eval mode.

    Raises:
        CheckpointError: if a file is missing, the config is not this format, or the
            weights do not fit the architecture the config names.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from course_utils.errors import CourseError
    from course_utils.training.config import TrainConfig
    from course_utils.training.recipes import get_recipe

    folder = Path(folder)
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} cannot be read ({exc}); "
                              f"export the run again") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{folder} is not an exported generator "
                              f"({CONFIG_FILE} lacks \"format\": \"{FORMAT}\"); "
                              f"write one with `pix2pix export`")
    if meta.get("version", 0) > VERSION:
        raise CheckpointError(f"{folder} was exported by a newer course_utils (format version "
                              f"{meta['version']}); update course_utils")
    cfg = TrainConfig.from_dict(meta["config"])
    try:
        netG = get_recipe(cfg).build_generator(cfg)
    except CourseError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: the generator cannot be built: "
                              f"{exc}") from None
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing; export the run again")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights} cannot be read ({exc}); it may be truncated") from None
    try:
        netG.load_state_dict(state)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise CheckpointError(f"{weights} does not fit the generator in {CONFIG_FILE} "
                              f"({cfg.netG}, ngf={cfg.ngf}): {first}") from None
    return netG.to(device).eval(), cfg


def import_published(file: str | os.PathLike, netG_name: str, out: str | os.PathLike, *,
                     direction: str = "AtoB", dataset: str | None = "maps", ngf: int = 64) -> Path:
    """Convert a generator published with pytorch-CycleGAN-and-pix2pix into an exported folder.

    Args:
        file: the authors' ``state_dict`` file, e.g. ``latest_net_G.pth`` of ``sat2map``.
        netG_name: ``"unet_256"``, ``"unet_128"`` (batch norm, as pix2pix) or
            ``"resnet_9blocks"`` (instance norm, as CycleGAN).
        out: the folder to write.
        direction: what the generator translates (``sat2map``: ``AtoB``; ``map2sat``: ``BtoA``).
        dataset: the data it was trained on, for evaluation and the model card.
        ngf: filters of its first layer (64 for the published ones).

    Raises:
        CheckpointError: an unreadable file, one that would run code when
            unpickled, or weights that do not fit ``netG_name``.
    """
    from course_utils.models.published import PUBLISHED_NETG, convert_published
    from course_utils.training.checkpoint import safe_load
    from course_utils.training.config import TrainConfig
    from course_utils.training.recipes import get_recipe

    if netG_name not in PUBLISHED_NETG:
        raise CheckpointError(f"--netG {netG_name!r}: import-weights knows "
                              f"{', '.join(PUBLISHED_NETG)}")
    file = Path(file)
    if not file.is_file():
        raise CheckpointError(f"{file} does not exist; "
                              f"download the authors' latest_net_G.pth first")
    try:
        state = safe_load(file)
    except Exception as exc:  # noqa: BLE001 - any unreadable or unsafe file gets one line
        msg = " ".join(str(exc).split())
        why = ("it holds Python objects that would run code when loaded" if "GLOBAL" in msg
               else msg[:200])
        raise CheckpointError(f"{file} cannot be read safely ({why}); "
                              f"use the authors' state_dict file") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{file} is not a state_dict of tensors; "
                              f"use the authors' latest_net_G.pth")
    norm = "instance" if netG_name.startswith("resnet_") else "batch"
    cfg = TrainConfig(model="pix2pix", netG=netG_name, ngf=ngf, norm=norm, direction=direction,
                      dataset=dataset, dropout=0.0 if netG_name.startswith("resnet_") else 0.5,
                      crop_size=256, load_size=286, eval_size=256)
    netG = get_recipe(cfg).build_generator(cfg)
    converted = convert_published(state, netG_name, netG, source=str(file))
    netG.load_state_dict(converted)
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    meta = {
        "format": FORMAT, "version": VERSION, "model": "pix2pix", "config": cfg.to_dict(),
        "weights": "netG",
        "source": {"imported": file.name, "sha256": sha, "layout": "pytorch-CycleGAN-and-pix2pix"},
    }
    note = (f"published weights, converted from `{file.name}` (sha256 {sha[:12]}...) by "
            f"`pix2pix import-weights`; trained by their authors, not by this course.")
    params = sum(p.numel() for p in netG.parameters())
    return _write_folder(Path(out), converted, meta, _card(meta, params, None, note))
