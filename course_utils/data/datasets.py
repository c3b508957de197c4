"""Paired ``A | B`` image data sets in the pix2pix format.

Each file holds one training pair side by side: the left half is image A, the
right half image B (for ``maps``: A = aerial photo, B = map tile; for
``facades``: A = photo, B = label map). :class:`PairedImageDataset` cuts the two
halves apart and applies the pix2pix "resize_and_crop" augmentation of Isola et
al., *Image-to-Image Translation with Conditional Adversarial Networks* (CVPR
2017), section 6.2: resize both halves to ``load_size`` (286), take a random
``crop_size`` (256) crop and a random horizontal mirror, with the *same* crop and
mirror for both halves so that they stay aligned pixel for pixel.

Before anything trains, the folder is scanned and every bad file is reported in
one :class:`~course_utils.errors.BadFilesError` (see :func:`scan_pairs`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from course_utils.data.images import list_images
from course_utils.errors import BadFilesError, DataError
from course_utils.paths import data_root

DIRECTIONS = ("AtoB", "BtoA")
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
def _open_pair(path: Path, min_half_side: int, why_small: str, paired: bool = True
               ) -> tuple[Image.Image | None, str | None]:
    """Fully decode ``path``; return ``(RGB image, None)`` or ``(None, reason it is bad)``.

    ``paired=False``: any single image whose short side is at least ``min_half_side``.
    """
    try:
        if path.stat().st_size == 0:
            return None, "empty file (0 bytes)"
        with Image.open(path) as img:
            img.load()  # full decode: a truncated file fails here, not at training time
            rgb = img if img.mode == "RGB" else img.convert("RGB")
    except UnidentifiedImageError:
        return None, "not an image (Pillow cannot identify the file format)"
    except Exception as err:  # any decoding failure makes the file unusable: report it
        return None, f"truncated or corrupt image data ({type(err).__name__}: {err})"
    w, h = rgb.size
    if not paired:
        if min(w, h) < min_half_side:
            return None, (f"too small: {w}x{h} px, at least {min_half_side}x{min_half_side} "
                          f"is needed{why_small}")
        return rgb, None
    if w != 2 * h:
        return None, (
            f"not a 2:1 A|B pair: {w}x{h} px (width must be exactly twice the height, "
            f"A on the left and B on the right)"
        )
    if h < min_half_side:
        return None, (
            f"too small: each half is {h}x{h} px, at least {min_half_side}x{min_half_side} "
            f"is needed{why_small}"
        )
    return rgb, None


def _scan(
    folder: Path,
    files: list[Path],
    min_half_side: int,
    why_small: str = "",
    process: Callable[[Image.Image], Any] | None = None,
    threads: int = 1,
    progress: bool = False,
    paired: bool = True,
) -> list[Any]:
    """Decode every file once; collect all problems; return ``process(img)`` per file."""

    def work(path: Path):
        img, reason = _open_pair(path, min_half_side, why_small, paired)
        if img is None:
            return None, reason
        return (process(img) if process is not None else None), None

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(
            tqdm(
                pool.map(work, files),
                total=len(files),
                desc=f"Decoding {folder.parent.name}/{folder.name}",
                unit="img",
                disable=not progress,
            )
        )
    problems = [(str(path), reason)
                for path, (_, reason) in zip(files, results, strict=False) if reason]
    if problems:
        raise BadFilesError(folder, problems)
    return [value for value, _ in results]


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def scan_pairs(folder, *, min_half_side: int = 1, threads: int | None = None) -> list[Path]:
    """Check every image of ``folder`` and return the paths in natural order (2 before 10).

    Each image file (by extension: .jpg, .png, ...; hidden files, sub-folders and
    other files such as README or MANIFEST are ignored) is decoded in full, so a
    truncated JPEG is caught here. A file is bad when it is empty (0 bytes), not an
    image, truncated/corrupt, not a 2:1 ``A | B`` pair (width != 2 * height), or has
    halves smaller than ``min_half_side`` pixels.

    Raises:
        DataError: ``folder`` is missing, is a file, or holds no images (the message
            suggests ``pix2pix data fetch``).
        BadFilesError: one or more bad files; the message lists every one with its reason.
    """
    folder = Path(folder)
    files = list_images(folder)
    _scan(folder, files, min_half_side, threads=threads or _default_threads())
    return files


def dataset_folder(name: str, split: str, root=None) -> Path:
    """The folder ``root/NAME/SPLIT`` (root default: :func:`course_utils.paths.data_root`).

    Raises DataError, suggesting ``pix2pix data fetch NAME``, when it does not exist.
    """
    folder = Path(root if root is not None else data_root()) / name / split
    if not folder.is_dir():
        raise DataError(
            f"data set folder {folder} not found; run `pix2pix data fetch {name}` "
            f"(or set PIX2PIX_DATA_ROOT to a folder that holds {name}/{split}/)"
        )
    return folder


def _to_uint8_chw(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


class PairedImageDataset(torch.utils.data.Dataset):
    """Aligned ``A | B`` pairs from one folder, with the pix2pix augmentation.

    Args:
        folder: folder of pix2pix pair images (e.g. ``dataset_folder("maps", "train")``).
        direction: ``"AtoB"`` (input = left half) or ``"BtoA"`` (input = right half).
            For maps AtoB is aerial -> map; facades are usually trained BtoA (labels -> photo).
        load_size: each half is resized to ``load_size x load_size`` (pix2pix default 286);
            ``None`` keeps the native size.
        crop_size: side of the square crop returned (256).
        train: True: random crop and (see ``flip``) random horizontal mirror, drawn from
            torch's global RNG (seed with ``torch.manual_seed``). False: centre crop,
            deterministic.
        flip: random horizontal mirror; default: the value of ``train``.
        cache: keep the decoded, resized halves in memory as uint8 tensors
            (``2 * 3 * load_size**2`` bytes per pair, about 0.5 GB for maps train at
            286), decoded once by a thread pool. False: decode the file at every access.
        interpolation: ``"bicubic"`` (pix2pix) or ``"bilinear"``.
        max_items: keep only the first N files (natural order); the rest are not read.
        threads: decoding threads for the scan/cache pass (default min(4, CPUs)).
        progress: show a tqdm bar while decoding.

    Items are dicts ``{"real_A": (3, crop, crop) float32 in [-1, 1], "real_B": same,
    "path": str}``. Pixel values map as ``v / 127.5 - 1`` (0 -> -1, 255 -> 1).
    Crop offsets and the mirror are identical for the two halves.

    Raises:
        ValueError: bad ``direction``, ``interpolation`` or sizes (names the value).
        DataError: missing/empty folder or a path that is a file.
        BadFilesError: bad image files, all listed at once (see :func:`scan_pairs`).
            With ``load_size`` set, a half smaller than ``ceil(load_size / 2)`` is
            refused (that would be more than 2x upscaling); with ``load_size=None``
            a half must be at least ``crop_size``.
    """

    def __init__(
        self,
        folder,
        direction: str = "AtoB",
        load_size: int | None = 286,
        crop_size: int = 256,
        train: bool = True,
        flip: bool | None = None,
        cache: bool = True,
        interpolation: str = "bicubic",
        max_items: int | None = None,
        threads: int | None = None,
        progress: bool = True,
    ):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        if interpolation not in _RESAMPLE:
            raise ValueError(
                f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}"
            )
        if not isinstance(crop_size, int) or crop_size < 1:
            raise ValueError(f"crop_size must be a positive integer, got {crop_size!r}")
        if load_size is not None:
            if not isinstance(load_size, int) or load_size < 1:
                raise ValueError(f"load_size must be a positive integer or None, got {load_size!r}")
            if crop_size > load_size:
                raise ValueError(f"crop_size ({crop_size}) must not exceed load_size ({load_size})")
        _set_common(self, folder, crop_size, train, flip, cache, max_items)
        self.direction = direction
        self.load_size = load_size
        self.interpolation = interpolation

        if load_size is None:
            self._min_half = crop_size
            self._why_small = (
                f" to cut a {crop_size}x{crop_size} crop at native size (load_size=None)"
            )
        else:
            self._min_half = math.ceil(load_size / 2)
            self._why_small = (
                f" because load_size={load_size} would upscale it more than 2x "
                f"(use larger images or a smaller load_size)"
            )
        self.paths = list_images(self.folder, max_items)
        threads = threads or _default_threads()
        process = self._halves if cache else None
        values = _scan(
            self.folder, self.paths, self._min_half, self._why_small, process, threads, progress
        )
        self._cached: list[tuple[torch.Tensor, torch.Tensor]] | None = values if cache else None

    # -- decoding ---------------------------------------------------------------------

    def _halves(self, img: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB A|B image -> (A, B) uint8 tensors (3, L, L), resized to load_size."""
        w, h = img.size
        a = img.crop((0, 0, w // 2, h))
        b = img.crop((w // 2, 0, w, h))
        if self.load_size is not None:
            size = (self.load_size, self.load_size)
            a = a.resize(size, _RESAMPLE[self.interpolation])
            b = b.resize(size, _RESAMPLE[self.interpolation])
        return _to_uint8_chw(a), _to_uint8_chw(b)

    def _load(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cached is not None:
            return self._cached[i]
        return self._halves(_reopen(self, i, self._min_half))

    # -- Dataset protocol ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        a, b = self._load(i)
        _, h, w = a.shape
        c = self.crop_size
        top, left = _crop_origin(h, w, c, c, self.train)
        a = a[:, top : top + c, left : left + c]
        b = b[:, top : top + c, left : left + c]
        if self.flip and bool(torch.rand(()) < 0.5):
            a, b = a.flip(-1), b.flip(-1)
        if self.direction == "BtoA":
            a, b = b, a
        return {"real_A": _to_float(a), "real_B": _to_float(b), "path": str(self.paths[i])}

    def __repr__(self) -> str:
        return (f"PairedImageDataset({str(self.folder)!r}, {len(self)} pairs, "
                f"direction={self.direction!r}, load_size={self.load_size}, {_common_repr(self)})")


def _set_common(ds, folder, crop_size, train: bool, flip: bool | None, cache: bool,
                max_items: int | None) -> None:
    """The ``max_items`` check and the attributes both data sets share, set on ``ds``."""
    if max_items is not None and max_items < 1:
        raise ValueError(f"max_items must be None or >= 1, got {max_items!r}")
    ds.folder = Path(folder)
    ds.crop_size = crop_size
    ds.train = train
    ds.flip = train if flip is None else flip
    ds.cache = cache


def _common_repr(ds) -> str:
    """The :func:`__repr__` fields of the attributes :func:`_set_common` sets (but the folder)."""
    return f"crop_size={ds.crop_size}, train={ds.train}, flip={ds.flip}, cache={ds.cache}"


def _reopen(ds, i: int, min_side: int, paired: bool = True) -> Image.Image:
    """Decode file ``i`` of ``ds`` again (no cache); a file that went bad since the scan raises."""
    path = ds.paths[i]
    img, reason = _open_pair(path, min_side, ds._why_small, paired)
    if img is None:  # the file changed after the scan
        raise BadFilesError(ds.folder, [(str(path), reason)])
    return img


def _crop_origin(h: int, w: int, ch: int, cw: int, train: bool) -> tuple[int, int]:
    """Top-left corner of a ``ch`` x ``cw`` crop: random (torch's global RNG) if ``train``, else
    centred."""
    if train:
        top = int(torch.randint(0, h - ch + 1, ()).item())
        left = int(torch.randint(0, w - cw + 1, ()).item())
        return top, left
    return (h - ch) // 2, (w - cw) // 2


def _to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 -1..1 (0 -> -1, 255 -> 1 exactly)."""
    return x.to(torch.float32).div_(127.5).sub_(1.0)


HALVES = ("A", "B", None)


class SuperResolutionDataset(torch.utils.data.Dataset):
    """High-resolution crops and their ×``scale`` bicubic downscale, for single-image
    super-resolution.

    The degradation of SRGAN (Ledig et al., CVPR 2017, section 3): the low-resolution
    input is the high-resolution image downscaled by ``scale`` with a bicubic kernel
    (here PIL's ``BICUBIC``, which widens the kernel by the factor, i.e. antialiases,
    as MATLAB's ``imresize`` does) and quantised to uint8, as a saved LR image is.

    Args:
        folder: a folder of images (e.g. ``dataset_folder("maps", "train")``).
        half: ``"A"`` (default; the left half of pix2pix ``A|B`` pairs: for maps the
            aerial photo), ``"B"`` (the right half), or ``None``: every file is one
            image of any shape (your own photos).
        scale: the upscaling factor (SRGAN: 4).
        crop_size: side of the square high-resolution crop, a multiple of ``scale``
            (SRGAN trains on 96, so the input is 24 x 24). ``None``: the whole image,
            its right and bottom edges trimmed to a multiple of ``scale``; only with a
            batch of one, or images of one size (maps tiles: 600 x 600 -> 150 x 150).
        train: True: random crop and (see ``flip``) random horizontal mirror from
            torch's global RNG. False: centre crop, deterministic.
        flip: random horizontal mirror; default: the value of ``train``.
        cache: keep the decoded images (the chosen half) in memory as uint8 tensors
            (``3 * H * W`` bytes each: about 1.2 GB for the 1096 aerial halves of maps
            train at their native 600 x 600). False: decode the file at every access.
        max_items: keep only the first N files (natural order).
        threads: decoding threads for the scan/cache pass (default min(4, CPUs)).
        progress: show a tqdm bar while decoding.

    Items are dicts ``{"real_A": (3, c / scale, c / scale) float32 in [-1, 1] (the
    low-resolution input), "real_B": (3, c, c) float32 in [-1, 1] (the high-resolution
    target), "path": str}``, with the loader's ``v / 127.5 - 1`` mapping.

    Raises:
        ValueError: a bad ``half``, ``scale`` or ``crop_size`` (names the value).
        DataError: missing/empty folder or a path that is a file.
        BadFilesError: bad image files, all listed at once: empty, not an image,
            truncated, not a 2:1 ``A|B`` pair (with ``half`` set), or an image (half)
            smaller than ``crop_size`` (or than ``scale`` when ``crop_size`` is None).
    """

    def __init__(
        self,
        folder,
        half: str | None = "A",
        scale: int = 4,
        crop_size: int | None = 96,
        train: bool = True,
        flip: bool | None = None,
        cache: bool = True,
        max_items: int | None = None,
        threads: int | None = None,
        progress: bool = True,
    ):
        if half not in HALVES:
            raise ValueError(f"half must be 'A', 'B' or None (single images), got {half!r}")
        if not isinstance(scale, int) or scale < 2:
            raise ValueError(f"scale must be an integer >= 2 (SRGAN: 4), got {scale!r}")
        if crop_size is not None:
            if not isinstance(crop_size, int) or crop_size < scale:
                raise ValueError(
                    f"crop_size must be None or an integer >= scale ({scale}), got {crop_size!r}"
                )
            if crop_size % scale:
                raise ValueError(
                    f"crop_size ({crop_size}) must be a multiple of scale ({scale}), e.g. "
                    f"{scale * max(1, crop_size // scale)}"
                )
        _set_common(self, folder, crop_size, train, flip, cache, max_items)
        self.half = half
        self.scale = scale
        self._min_side = crop_size if crop_size is not None else scale
        what = "crop" if crop_size is not None else "image"
        self._why_small = (f" for a {self._min_side}x{self._min_side} high-resolution {what} "
                           f"(lower crop_size)")
        self.paths = list_images(self.folder, max_items)
        values = _scan(self.folder, self.paths, self._min_side, self._why_small,
                       self._image if cache else None, threads or _default_threads(), progress,
                       paired=half is not None)
        self._cached: list[torch.Tensor] | None = values if cache else None

    def _image(self, img: Image.Image) -> torch.Tensor:
        """RGB file -> the chosen half (or the whole image), uint8 (3, H, W)."""
        if self.half is not None:
            w, h = img.size
            img = img.crop((0, 0, w // 2, h) if self.half == "A" else (w // 2, 0, w, h))
        return _to_uint8_chw(img)

    def _load(self, i: int) -> torch.Tensor:
        if self._cached is not None:
            return self._cached[i]
        return self._image(_reopen(self, i, self._min_side, self.half is not None))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        hr = self._load(i)
        _, h, w = hr.shape
        s = self.scale
        if self.crop_size is None:
            ch, cw = h - h % s, w - w % s
            top = left = 0
        else:
            ch = cw = self.crop_size
            top, left = _crop_origin(h, w, ch, cw, self.train)
        hr = hr[:, top : top + ch, left : left + cw]
        if self.flip and bool(torch.rand(()) < 0.5):
            hr = hr.flip(-1)
        lr = bicubic_downscale(hr, s)
        return {"real_A": _to_float(lr), "real_B": _to_float(hr), "path": str(self.paths[i])}

    def __repr__(self) -> str:
        return (f"SuperResolutionDataset({str(self.folder)!r}, {len(self)} images, "
                f"half={self.half!r}, scale={self.scale}, {_common_repr(self)})")


def bicubic_downscale(image: torch.Tensor, scale: int) -> torch.Tensor:
    """Downscale a uint8 ``(3, H, W)`` image by ``scale`` with PIL's bicubic filter (antialiased):
    uint8 ``(3, H/s, W/s)``.

    Raises:
        ValueError: if the image is not uint8 ``(3, H, W)`` or ``H``/``W`` are not multiples of
            ``scale``.
    """
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"bicubic_downscale expects a uint8 (3, H, W) tensor, got {image.dtype} "
                         f"{tuple(image.shape)}")
    _, h, w = image.shape
    if h % scale or w % scale:
        raise ValueError(
            f"bicubic_downscale: {h}x{w} is not a multiple of scale {scale}; crop it first"
        )
    pil = Image.fromarray(image.permute(1, 2, 0).numpy())
    return _to_uint8_chw(pil.resize((w // scale, h // scale), Image.Resampling.BICUBIC))
