"""Evaluate a trained generator on a paired split, and translate your own images.

- :func:`evaluate` runs ``netG`` over a :class:`~course_utils.data.datasets.PairedImageDataset`
  and reports L1, PSNR, SSIM, the GcGAN accuracy/RMSE of the aerial -> map
  literature and, given a :class:`~course_utils.evaluation.palette.Palette`, the per-class
  IoU of the generated maps (see :mod:`course_utils.evaluation.metrics` for every
  definition and its source).
- :func:`translate` applies ``netG`` to image files of any size and writes
  outputs of the same size (or ``upscale`` times larger, for super-resolution).
- :func:`evaluate_sr` scores a super-resolution ``netG`` (SRGAN, notebook 7):
  PSNR and SSIM on Y with the border cropped, and the bicubic baseline.

Both accept any ``netG``: an ``nn.Module`` mapping ``(N, 3, H, W)`` in
``[-1, 1]`` to ``(N, 3, H, W)`` in ``[-1, 1]`` (the tanh output of Pix2Pix),
possibly requiring ``H`` and ``W`` to be multiples of ``2 ** k``
(:class:`~course_utils.models.generator.UnetGenerator` exposes ``k`` as
``num_downs``).

Test-time mode of the generator (``mode``)
------------------------------------------
Pix2Pix (Isola et al., CVPR 2017, section 3.3) runs the generator at test time
exactly as during training: dropout stays on (it is the generator's only
noise ``z``) and batch normalisation uses the statistics of the test batch,
not the running averages. With the paper's batch size 1 that is instance
normalisation. ``mode="train"`` reproduces this (call it with
``batch_size=1`` for the paper's setting).

The course's default is ``mode="eval"`` (dropout off, BatchNorm running
statistics), because:

- it is deterministic, and independent of the batch size and of which images
  share a batch: the same checkpoint always gets the same score, so students
  can compare runs and graders can check numbers;
- in train mode the scores also depend on the dropout draws and, with
  ``batch_size > 1``, on the batch composition, while the paper's batch size 1
  is slow on a CPU;
- for short CPU trainings with batch sizes of a few images, the running
  statistics are an average over many training batches and are usually
  stabler than the statistics of one test image.

Its caveat: a model trained with batch size 1 has only ever seen per-image
statistics, so its running averages can be off and ``mode="train",
batch_size=1`` may score better. Compare both when it matters. In either mode
the generator's own mode, BatchNorm running statistics and the global random
state are restored afterwards (train mode would otherwise update the running
statistics even under ``torch.no_grad``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

from course_utils.data.images import list_images
from course_utils.errors import DataError
from course_utils.evaluation.metrics import (
    bicubic_upscale,
    confusion_matrix,
    gcgan_scores,
    iou_from_confusion,
    l1,
    mean_psnr,
    nanmean_or_nan,
    psnr,
    sr_scores,
    ssim,
    to_uint8,
)

MODES = ("eval", "train")
RESULT_KEYS = ("n_images", "l1", "psnr", "ssim", "acc_delta5", "acc_delta10", "rmse")
"""Keys of :func:`evaluate`'s result; ``"iou"`` and ``"mean_iou"`` follow when a palette is
given."""


# ----------------------------------------------------------------------------
# generator mode handling
# ----------------------------------------------------------------------------

def _check_device(netG: nn.Module, device) -> torch.device:
    device = torch.device(device)
    p = next(iter(netG.parameters()), None)
    if p is not None and p.device.type != device.type:
        raise ValueError(
            f"netG is on {p.device} but device={device}; move it first: netG.to({str(device)!r})"
        )
    return device


@contextlib.contextmanager
def generator_mode(netG: nn.Module, mode: str, device, seed: int | None = 0):
    """Put ``netG`` in ``mode`` (``"eval"`` or ``"train"``) for the ``with`` block, then restore it.

    Restores every submodule's ``training`` flag. In ``"train"`` mode it also
    saves and restores all buffers (BatchNorm running statistics change in
    train mode even under ``torch.no_grad``) and, when ``seed`` is not
    ``None``, runs the block on a forked, seeded random state, so the dropout
    draws are reproducible and the caller's random state is untouched.

    Raises:
        ValueError: for an unknown ``mode``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    flags = [(m, m.training) for m in netG.modules()]
    saved = [(b, b.detach().clone()) for b in netG.buffers()] if mode == "train" else []
    device = torch.device(device)
    rng = contextlib.nullcontext()
    if mode == "train" and seed is not None:
        cuda = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else []
        rng = torch.random.fork_rng(devices=cuda)
    try:
        with rng:
            if mode == "train" and seed is not None:
                torch.manual_seed(seed)
            netG.train(mode == "train")
            yield netG
    finally:
        with torch.no_grad():
            for b, value in saved:
                b.copy_(value)
        for m, flag in flags:
            m.training = flag


# ----------------------------------------------------------------------------
# evaluate
# ----------------------------------------------------------------------------

def _check_eval_args(dataset, batch_size, what: str) -> None:
    """The checks :func:`evaluate` and :func:`evaluate_sr` share (``what``: the caller's name)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if len(dataset) == 0:
        raise ValueError(f"{what}: the dataset is empty")


def _output_folder(save_images) -> Path | None:
    """``save_images`` as a created folder, or ``None`` when no images are to be saved."""
    if save_images is None:
        return None
    out_dir = Path(save_images)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _batches(dataset, batch_size: int):
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         num_workers=0)
    for batch in loader:
        if not isinstance(batch, dict) or "real_A" not in batch or "real_B" not in batch:
            got = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
            raise ValueError(
                "dataset items must be dicts with 'real_A' and 'real_B' tensors (3, H, W) "
                f"in [-1, 1] (a PairedImageDataset); got {got}"
            )
        yield batch


def _save_triplets(folder: Path, start: int, paths, real_A, fake_B, real_B) -> None:
    a, f, b = to_uint8(real_A), to_uint8(fake_B), to_uint8(real_B)
    for i in range(len(a)):
        stem = Path(paths[i]).stem if paths is not None else "image"
        row = np.concatenate([a[i], f[i], b[i]], axis=1)
        Image.fromarray(row).save(folder / f"{start + i:04d}_{stem}.png")


@torch.no_grad()
def evaluate(
    netG: nn.Module,
    dataset,
    *,
    device,
    mode: str = "eval",
    batch_size: int = 8,
    palette=None,
    save_images=None,
    progress: bool = True,
    seed: int | None = 0,
) -> dict:
    """Score ``netG`` on a paired split: L1, PSNR, SSIM, GcGAN acc@5/acc@10/RMSE, palette IoU.

    For every item, ``fake_B = netG(real_A)`` is compared with ``real_B`` (the
    target). Both are turned into uint8 RGB by :func:`~course_utils.evaluation.metrics.to_uint8`
    (``round((x + 1) * 127.5)``, which recovers the loader's uint8 target
    exactly), then:

    - ``l1``, ``psnr``, ``ssim``: per-image values at the dataset's resolution,
      averaged over images (``psnr`` with identical images counted as
      :data:`~course_utils.evaluation.metrics.PSNR_CAP` dB, see
      :func:`~course_utils.evaluation.metrics.mean_psnr`);
    - ``acc_delta5``, ``acc_delta10``, ``rmse``: the GcGAN protocol
      (:func:`~course_utils.evaluation.metrics.gcgan_scores`), which works on 256 x 256
      maps; other sizes are resized to 256 x 256 (PIL bilinear) first;
    - with a ``palette``: ``iou`` per class and ``mean_iou`` over the present
      classes, at the dataset's resolution, every pixel of ``real_B`` and
      ``fake_B`` taking the class of its nearest palette colour, with
      intersections and unions summed over the whole split.

    For the published protocol, build the dataset as the course CLI does:
    ``PairedImageDataset(<maps/val>, direction="AtoB", load_size=256,
    crop_size=256, train=False, interpolation="bilinear")``: each 600 x 600
    half is resized straight to 256 x 256 (bilinear, no crop, no flip).

    Args:
        netG: generator on ``device``, ``(N, 3, H, W) -> (N, 3, H, W)`` in ``[-1, 1]``.
        dataset: items ``{"real_A": (3, H, W), "real_B": (3, H, W), "path": str}``,
            float in ``[-1, 1]`` (``"path"`` optional, used to name saved images).
        device: where the batches go, e.g. ``"cpu"`` or ``"cuda"``.
        mode: ``"eval"`` (default: dropout off, BatchNorm running statistics)
            or ``"train"`` (the paper's test-time behaviour: dropout on, batch
            statistics; use ``batch_size=1`` to match the paper). See the
            module docstring for why ``"eval"`` is the course default.
        batch_size: images per forward pass.
        palette: optional :class:`~course_utils.evaluation.palette.Palette` for the IoU.
        save_images: optional folder; one PNG per image, ``input | generated |
            target`` side by side, named ``<index>_<file stem>.png``.
        progress: show a tqdm progress bar.
        seed: seed of the dropout draws in ``mode="train"`` (``None``: use the
            global random state); ignored in ``"eval"`` mode.

    Returns:
        ``{"n_images": int, "l1": float (0-255 scale), "psnr": float (dB),
        "ssim": float, "acc_delta5": float in [0, 1], "acc_delta10": float in
        [0, 1], "rmse": float (0-255 scale, GcGAN definition)}``, plus
        ``"iou": {class name: float or None}`` and ``"mean_iou": float`` when a
        palette is given. ``None`` marks a class absent from both real and
        generated maps (it is left out of ``mean_iou``).

    Raises:
        ValueError: bad ``mode``/``batch_size``, an empty dataset, malformed
            items, ``netG`` on another device, or an output whose shape differs
            from ``real_B``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    _check_eval_args(dataset, batch_size, "evaluate")
    device = _check_device(netG, device)
    out_dir = _output_folder(save_images)

    per_image: dict[str, list[np.ndarray]] = {k: [] for k in RESULT_KEYS[1:]}
    cm = None
    if palette is not None:
        n_classes = len(palette.class_names)
        cm = np.zeros((n_classes, n_classes), dtype=np.int64)

    batches = _batches(dataset, batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=math.ceil(len(dataset) / batch_size), desc="evaluate",
                       unit="batch")

    n = 0
    with generator_mode(netG, mode, device, seed):
        for batch in batches:
            real_A = batch["real_A"].to(device)
            real_B = batch["real_B"]
            fake_B = netG(real_A)
            if tuple(fake_B.shape) != tuple(real_B.shape):
                raise ValueError(
                    f"netG output has shape {tuple(fake_B.shape)}, but the target real_B has "
                    f"{tuple(real_B.shape)}; netG must keep (N, 3, H, W)"
                )
            real = to_uint8(real_B)
            fake = to_uint8(fake_B)
            per_image["l1"].append(l1(real, fake))
            per_image["psnr"].append(psnr(real, fake))
            per_image["ssim"].append(ssim(real, fake))
            for key, value in gcgan_scores(real, fake, deltas=(5, 10))["per_image"].items():
                per_image[key].append(value)
            if cm is not None:
                cm += confusion_matrix(palette.classify(real), palette.classify(fake), len(cm))
            if out_dir is not None:
                _save_triplets(out_dir, n, batch.get("path"), batch["real_A"], fake_B, real_B)
            n += len(real)

    values = {k: np.concatenate(v) for k, v in per_image.items()}
    result = {"n_images": n}
    for key in RESULT_KEYS[1:]:
        result[key] = mean_psnr(values[key]) if key == "psnr" else float(values[key].mean())
    if cm is not None:
        iou = iou_from_confusion(cm)
        # None (JSON null), not NaN, for a class absent from both real and generated maps.
        result["iou"] = {name: (None if np.isnan(v) else float(v))
                         for name, v in zip(palette.class_names, iou, strict=False)}
        result["mean_iou"] = nanmean_or_nan(iou)
    return result


# ----------------------------------------------------------------------------
# translate
# ----------------------------------------------------------------------------

def _collect_inputs(paths_or_dirs) -> list[Path]:
    if isinstance(paths_or_dirs, (str, Path)):
        paths_or_dirs = [paths_or_dirs]
    files: list[Path] = []
    for entry in paths_or_dirs:
        p = Path(entry)
        if p.is_dir():
            files += list_images(p)
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    if not files:
        raise DataError("translate: no input images given")
    for f in files:  # check the headers of all inputs before translating any
        try:
            with Image.open(f) as im:
                im.size  # noqa: B018
        except (UnidentifiedImageError, OSError) as e:
            raise DataError(f"{f}: not an image PIL can read ({e}); give image files only") from e
    return files


def _load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot decode the image ({e}); fix or remove the file") from e


def _pad(x: torch.Tensor, bottom: int, right: int) -> torch.Tensor:
    """Pad ``(N, C, H, W)`` at the bottom/right: mirror when possible, else repeat the edge."""
    if bottom == 0 and right == 0:
        return x
    h, w = x.shape[-2:]
    mode = "reflect" if bottom < h and right < w else "replicate"
    return F.pad(x, (0, right, 0, bottom), mode=mode)


def _ramp(n: int, overlap: int) -> torch.Tensor:
    """1-D blending weights: rise linearly over ``overlap`` pixels at both ends, 1 in the middle,
    > 0 everywhere."""
    i = torch.arange(n, dtype=torch.float32)
    edge = torch.minimum(i, n - 1 - i) + 0.5
    return (edge / max(overlap, 1)).clamp(max=1.0)


def _run_whole(netG, x: torch.Tensor, multiple: int, upscale: int = 1) -> torch.Tensor:
    h, w = x.shape[-2:]
    xp = _pad(x, (-h) % multiple, (-w) % multiple)
    return netG(xp)[..., : h * upscale, : w * upscale]


def _run_tiled(netG, x: torch.Tensor, tile: int, overlap: int, batch_size: int,
               upscale: int = 1) -> torch.Tensor:
    """``netG`` on overlapping ``tile`` x ``tile`` tiles of ``x``, blended; the output is
    ``upscale`` times larger."""
    h, w = x.shape[-2:]
    xp = _pad(x, max(0, tile - h), max(0, tile - w))
    hp, wp = xp.shape[-2:]
    stride = tile - overlap
    u = upscale

    def starts(length: int) -> list[int]:
        s = list(range(0, max(length - tile, 0) + 1, stride))
        if s[-1] != length - tile:
            s.append(length - tile)
        return s

    boxes = [(t, le) for t in starts(hp) for le in starts(wp)]
    T = tile * u
    weight = (_ramp(T, overlap * u)[:, None] * _ramp(T, overlap * u)[None, :]).to(x.device)
    acc = torch.zeros(1, 3, hp * u, wp * u, device=x.device)
    wsum = torch.zeros(1, 1, hp * u, wp * u, device=x.device)
    for k in range(0, len(boxes), batch_size):
        chunk = boxes[k : k + batch_size]
        out = netG(torch.cat([xp[..., t : t + tile, le : le + tile] for t, le in chunk])).float()
        for (t, le), o in zip(chunk, out, strict=False):
            acc[0, :, t * u : t * u + T, le * u : le * u + T] += o * weight
            wsum[0, 0, t * u : t * u + T, le * u : le * u + T] += weight
    return (acc / wsum)[..., : h * u, : w * u]


def _output_path(out_dir: Path, stem: str, taken: set[Path], inputs: set[Path]) -> Path:
    path = out_dir / f"{stem}.png"
    k = 1
    while path in taken or path.resolve() in inputs:
        path = out_dir / f"{stem}_{k}.png"
        k += 1
    taken.add(path)
    return path


@torch.no_grad()
def translate(
    netG: nn.Module,
    paths_or_dirs,
    out_dir,
    *,
    device,
    size: int = 256,
    multiple: int | None = None,
    scale: float | None = None,
    split_pair: bool = False,
    direction: str = "AtoB",
    max_side: int = 1024,
    overlap: int | None = None,
    batch_size: int = 4,
    mode: str = "eval",
    progress: bool = True,
    upscale: int = 1,
) -> list[Path]:
    """Translate image files of any size with ``netG``; each output has its input's size
    (× ``upscale``).

    For each input (files, or every image directly inside a folder, sorted):

    1. Load it as RGB (EXIF rotation applied). With ``split_pair=True``, an
       image exactly twice as wide as high is taken as an ``A|B`` pair and
       only its input half is used (left for ``direction="AtoB"``, right for
       ``"BtoA"``), so the output has the half's size; other images are used whole.
    2. Rescale it (PIL bicubic) by ``scale``; the default ``scale=None``
       makes the short side ``size`` pixels, the scale at which the course
       trains (a 600 x 600 maps tile becomes 256 x 256, as in the loader).
       Pass ``scale=1.0`` to work at the native resolution.
    3. Run ``netG`` fully convolutionally on the whole image, padded at the
       bottom/right (mirror padding) to multiples of ``multiple``, if both
       sides are at most ``max_side``; otherwise on overlapping ``size x size``
       tiles (``overlap`` pixels shared, default ``size // 4``), blended with
       weights that ramp linearly to the tile borders, so no seams show.
    4. Crop the padding, rescale back to the original size (PIL bicubic) and
       write ``out_dir/<stem>.png`` (``<stem>_1.png``... if taken or if it
       would overwrite an input).

    Super-resolution (``upscale > 1``, e.g. 4 for SRGAN): ``netG`` returns
    outputs ``upscale`` times larger than its input; pass ``scale=1.0`` so the
    image is used at its own resolution. The output is then ``upscale`` times the
    (working) size, tiles blend at the output's resolution, and nothing is
    rescaled back.

    Args:
        netG: generator on ``device``.
        paths_or_dirs: a path or a list of paths to image files and/or folders.
        out_dir: output folder (created).
        device: device of ``netG`` and the inputs.
        size: the tile / training size in pixels.
        multiple: ``H`` and ``W`` given to ``netG`` are made multiples of this;
            default ``2 ** netG.num_downs`` when ``netG`` has ``num_downs``,
            else ``size``. ``size`` must be a multiple of it.
        scale: resampling factor before translation (see step 2).
        split_pair: take the input half of ``A|B`` pair images (step 1).
        direction: ``"AtoB"`` or ``"BtoA"``, which half is the input.
        max_side: largest working side run in one piece (memory bound).
        overlap: tile overlap in pixels, ``0 <= overlap < size``.
        batch_size: tiles per forward pass.
        mode: ``"eval"`` or ``"train"``, as in :func:`evaluate`.
        progress: show a tqdm progress bar.
        upscale: how many times larger ``netG``'s output is than its input (1; SRGAN: 4).

    Returns:
        The written paths, one per input image, in input order.

    Raises:
        DataError: a missing path, a folder without images, or a file that is
            not a readable image (all inputs are checked before any is translated).
        ValueError: inconsistent ``size``/``multiple``/``overlap``/``scale``/``direction``,
            or ``netG`` on another device.
    """
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
    if multiple is None:
        multiple = 2 ** int(netG.num_downs) if hasattr(netG, "num_downs") else size
    if not isinstance(size, int) or size < 1 or size % multiple:
        raise ValueError(f"size must be a positive multiple of multiple={multiple}, got {size!r}")
    overlap = size // 4 if overlap is None else overlap
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size={size}), got {overlap!r}")
    if scale is not None and not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive number or None, got {scale!r}")
    if not isinstance(upscale, int) or upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale!r}")
    if max_side < multiple:
        raise ValueError(f"max_side ({max_side}) must be at least multiple ({multiple})")
    device = _check_device(netG, device)
    files = _collect_inputs(paths_or_dirs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = {f.resolve() for f in files}
    taken: set[Path] = set()

    items: Iterable[Path] = files
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(files, desc="translate", unit="image")

    written: list[Path] = []
    with generator_mode(netG, mode, device):
        for path in items:
            img = _load_rgb(path)
            w0, h0 = img.size
            if split_pair and w0 == 2 * h0:
                half = (0, 0, h0, h0) if direction == "AtoB" else (h0, 0, w0, h0)
                img = img.crop(half)
                w0, h0 = img.size
            factor = size / min(w0, h0) if scale is None else float(scale)
            wk, hk = max(1, round(w0 * factor)), max(1, round(h0 * factor))
            work = img if (wk, hk) == (w0, h0) else img.resize((wk, hk), Image.BICUBIC)
            x = torch.from_numpy(np.asarray(work, dtype=np.float32).copy()).permute(2, 0, 1)[None]
            x = (x / 127.5 - 1.0).to(device)
            if max(hk, wk) <= max_side:
                y = _run_whole(netG, x, multiple, upscale)
            else:
                y = _run_tiled(netG, x, size, overlap, batch_size, upscale)
            out = Image.fromarray(to_uint8(y)[0])
            if upscale == 1 and out.size != (w0, h0):
                out = out.resize((w0, h0), Image.BICUBIC)
            target = _output_path(out_dir, path.stem, taken, inputs)
            out.save(target)
            written.append(target)
    return written


# ----------------------------------------------------------------------------
# super-resolution
# ----------------------------------------------------------------------------

SR_RESULT_KEYS = ("n_images", "psnr_y", "ssim_y", "bicubic_psnr_y", "bicubic_ssim_y")
"""Keys of :func:`evaluate_sr`'s result."""


@torch.no_grad()
def evaluate_sr(
    netG: nn.Module | None,
    dataset,
    *,
    device="cpu",
    scale: int = 4,
    batch_size: int = 8,
    save_images=None,
    progress: bool = True,
) -> dict:
    """Score a super-resolution ``netG`` and the bicubic baseline: PSNR and SSIM on Y, ``scale``
    border pixels cropped.

    For every item, ``fake_B = netG(real_A)`` (``real_A`` the low-resolution
    input) and the bicubic upscale of ``real_A`` (PIL, from the uint8 input:
    :func:`~course_utils.evaluation.metrics.bicubic_upscale`) are compared with the
    high-resolution ``real_B`` by :func:`~course_utils.evaluation.metrics.sr_scores` (the
    usual SR protocol: luma Y of ITU-R BT.601 YCbCr, ``scale`` pixels cropped from
    each border, scikit-image's PSNR and Gaussian-window SSIM). ``netG`` runs in
    eval mode (BatchNorm running statistics) and its mode is restored.

    Args:
        netG: ``(N, 3, h, w) -> (N, 3, scale h, scale w)`` in ``[-1, 1]`` on ``device``; ``None``
            scores the bicubic baseline alone (``psnr_y``/``ssim_y`` are then NaN).
        dataset: items ``{"real_A": (3, h, w), "real_B": (3, scale h, scale w)}`` in ``[-1, 1]``
            (a :class:`~course_utils.data.datasets.SuperResolutionDataset`).
        save_images: optional folder: one PNG per image, ``bicubic | netG | real`` side by side.

    Returns:
        ``{"n_images", "psnr_y" (dB), "ssim_y", "bicubic_psnr_y" (dB), "bicubic_ssim_y"}``,
        means over the images (PSNR capped as in
        :func:`~course_utils.evaluation.metrics.mean_psnr`).

    Raises:
        ValueError: an empty dataset, malformed items, an output of the wrong size, or
            ``netG`` on another device.
    """
    _check_eval_args(dataset, batch_size, "evaluate_sr")
    if netG is not None:
        device = _check_device(netG, device)
    out_dir = _output_folder(save_images)
    per: dict[str, list[np.ndarray]] = {k: [] for k in SR_RESULT_KEYS[1:]}
    batches = _batches(dataset, batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=math.ceil(len(dataset) / batch_size), desc="evaluate",
                       unit="batch")
    n = 0
    ctx = generator_mode(netG, "eval", device) if netG is not None else contextlib.nullcontext()
    with ctx:
        for batch in batches:
            real = to_uint8(batch["real_B"])
            lr = to_uint8(batch["real_A"])
            if real.shape[1] != lr.shape[1] * scale or real.shape[2] != lr.shape[2] * scale:
                raise ValueError(f"evaluate_sr: real_B {real.shape[1:3]} is not scale={scale} "
                                 f"times real_A {lr.shape[1:3]}; build the dataset with the same "
                                 f"scale")
            bic = bicubic_upscale(lr, scale)
            for key, v in sr_scores(real, bic, scale).items():
                per["bicubic_" + key].append(v)
            fake = None
            if netG is not None:
                fake_B = netG(batch["real_A"].to(device)).float()
                if tuple(fake_B.shape) != tuple(batch["real_B"].shape):
                    raise ValueError(f"netG output has shape {tuple(fake_B.shape)}, but real_B "
                                     f"has {tuple(batch['real_B'].shape)}: netG must upscale by "
                                     f"scale={scale}")
                fake = to_uint8(fake_B)
                for key, v in sr_scores(real, fake, scale).items():
                    per[key].append(v)
            if out_dir is not None:
                paths = batch.get("path")
                for i in range(len(real)):
                    stem = Path(paths[i]).stem if paths is not None else "image"
                    row = [bic[i]] + ([fake[i]] if fake is not None else []) + [real[i]]
                    Image.fromarray(np.concatenate(row, axis=1)).save(
                        out_dir / f"{n + i:04d}_{stem}.png")
            n += len(real)
    result: dict = {"n_images": n}
    for key in SR_RESULT_KEYS[1:]:
        if not per[key]:
            result[key] = float("nan")
            continue
        v = np.concatenate(per[key])
        result[key] = mean_psnr(v) if key.startswith(("psnr", "bicubic_psnr")) else float(v.mean())
    return result
