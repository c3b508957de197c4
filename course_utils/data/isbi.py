"""The ISBI 2012 EM segmentation stacks, used in notebook 1 (U-Net).

Data: the training and test volumes of the ISBI 2012 challenge "Segmentation of
neuronal structures in EM stacks" (Arganda-Carreras et al., Frontiers in
Neuroanatomy 2015; images from Cardona et al., PLoS Biology 2010). Each file is
a stack of 30 serial-section TEM slices of 512 x 512 pixels, ``uint8``.

Label convention (as released by the challenge): ``255`` = inside a cell,
``0`` = everything else, which is mostly **membrane**. The U-Net paper
(Ronneberger et al., MICCAI 2015, section 3.1) segments the membranes, so this
module's training targets use ``1 = membrane`` (``labels == 0``) and
``0 = cell interior``.

Contents:

- :func:`load_isbi2012`: the three stacks as numpy arrays.
- :class:`ISBICrops`: random training crops for an *unpadded* U-Net, whose
  output is smaller than its input. The image is mirror-padded around the slice
  so that the label crop can lie anywhere, borders included: the paper's
  overlap-tile strategy (section 2 and figure 2).
- :func:`overlap_tile_predict`: segment a whole slice tile by tile with the
  same mirror padding.
- :func:`pixel_error` and :func:`dice`: the two scores the notebook reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from course_utils.errors import DataError
from course_utils.paths import data_root

ISBI_FOLDER = "isbi2012"
ISBI_FILES = {
    "train_volume": "train-volume.tif",
    "train_labels": "train-labels.tif",
    "test_volume": "test-volume.tif",
}
ISBI_SHAPE = (30, 512, 512)
CELL, MEMBRANE = 255, 0  # label values in train-labels.tif


def load_isbi2012(root: str | Path | None = None) -> dict[str, np.ndarray]:
    """Read the three ISBI 2012 stacks.

    Args:
        root: the data root (the folder that holds ``isbi2012/``); defaults to
            :func:`course_utils.paths.data_root`.

    Returns:
        ``{"train_volume", "train_labels", "test_volume"}``, each a
        ``(30, 512, 512)`` ``uint8`` array. Images are 0-255 grey levels;
        labels are ``255`` (cell interior) or ``0`` (membrane).

    Raises:
        DataError: naming the file when it is missing, unreadable, or not a
            ``(30, 512, 512)`` ``uint8`` stack (labels also must be 0/255 only).
    """
    import tifffile

    folder = Path(root).expanduser() if root is not None else data_root()
    folder = folder / ISBI_FOLDER
    out = {}
    for key, name in ISBI_FILES.items():
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"ISBI 2012 file not found: {path}. Download it with "
                f"`pix2pix data fetch isbi2012` (or `make setup`); if the ISBI server cannot be "
                f"reached, put train-volume.tif, train-labels.tif and test-volume.tif into "
                f"{folder} by hand or use `--mirror DIR`; or set PIX2PIX_DATA_ROOT to the folder "
                f"that holds isbi2012/."
            )
        try:
            arr = tifffile.imread(path)
        except Exception as exc:  # tifffile raises several types for corrupt files
            raise DataError(
                f"cannot read {path} as a TIFF stack ({exc}); delete it and run "
                f"`pix2pix data fetch isbi2012` again."
            ) from exc
        if arr.shape != ISBI_SHAPE or arr.dtype != np.uint8:
            raise DataError(
                f"{path}: expected a {ISBI_SHAPE} uint8 stack, got {arr.shape} {arr.dtype}; "
                f"delete it and run `pix2pix data fetch isbi2012` again."
            )
        if key == "train_labels":
            bad = ~np.isin(arr, (CELL, MEMBRANE))
            if bad.any():
                raise DataError(
                    f"{path}: labels must be 0 (membrane) or 255 (cell), found "
                    f"{sorted(np.unique(arr[bad]).tolist())[:5]}; is this the label stack?"
                )
        out[key] = arr
    return out


def _pads(input_size: int, output_size: int) -> tuple[int, int]:
    """(before, after) mirror padding so that an output tile's pixels sit at the input tile's
    centre.

    The offset follows the centre-crop rule of :func:`course_utils.models.unet.crop`:
    the output starts ``(input_size - output_size) // 2`` pixels into the input.
    """
    if output_size > input_size or output_size <= 0:
        raise ValueError(f"output_size {output_size} must be in 1..input_size ({input_size})")
    before = (input_size - output_size) // 2
    return before, input_size - output_size - before


def mirror_pad(image: np.ndarray, input_size: int, output_size: int) -> np.ndarray:
    """Mirror-pad the last two axes of ``image`` for tiles of ``input_size`` -> ``output_size``.

    ``(..., H, W)`` -> ``(..., H + input_size - output_size, W + input_size - output_size)``,
    reflecting about the border pixel (numpy ``mode="reflect"``), as in the U-Net
    paper's figure 2. Raises ``ValueError`` if the padding is not smaller than the image.
    """
    before, after = _pads(input_size, output_size)
    if max(before, after) >= min(image.shape[-2:]):
        raise ValueError(
            f"mirror padding of {max(before, after)} px needs an image larger than that, "
            f"got {image.shape[-2:]}"
        )
    width = [(0, 0)] * (image.ndim - 2) + [(before, after), (before, after)]
    return np.pad(image, width, mode="reflect")


class ISBICrops(Dataset):
    """Random training crops for an unpadded U-Net (overlap-tile strategy).

    Item ``i`` is ``(image, target)``:

    - ``image``: ``(1, input_size, input_size)`` float32 in ``[0, 1]``, cut from
      the mirror-padded slice;
    - ``target``: ``(1, output_size, output_size)`` float32, ``1`` = membrane
      (label ``0``), ``0`` = cell, the labels under the centre of ``image``
      (top offset ``(input_size - output_size) // 2``).

    The label crop's position is uniform over the whole slice (borders
    included, thanks to the mirror padding). With ``augment=True`` the image
    and target get the same random flips and 90-degree rotation (the paper
    relies on shift/rotation invariance and elastic deformations, section 3.1;
    flips and rotations are the cheap part of that).

    Item ``i`` is a deterministic function of ``(seed, i)``, so an epoch is
    reproducible; use a different ``seed`` for new crops.

    Args:
        volume: ``(S, H, W)`` uint8 EM slices.
        labels: ``(S, H, W)`` uint8 labels, 255 = cell, 0 = membrane.
        input_size, output_size: the U-Net's input and output tile sides, e.g.
            ``UNet(depth=3).output_size(252) == 157``.
        length: number of items (crops per epoch).
        augment: random flips/rotations.
        seed: base seed of the crops.

    Raises:
        ValueError: if the arrays' shapes differ or are not 3-D.
    """

    def __init__(
        self,
        volume: np.ndarray,
        labels: np.ndarray,
        input_size: int,
        output_size: int,
        length: int = 1000,
        augment: bool = True,
        seed: int = 0,
    ):
        volume, labels = np.asarray(volume), np.asarray(labels)
        if volume.ndim != 3 or volume.shape != labels.shape:
            raise ValueError(
                f"volume and labels must be (S, H, W) arrays of the same shape, got "
                f"{volume.shape} and {labels.shape}"
            )
        # labels are mirror-padded like the images, so that a tile and its labels have
        # the same size and any flip/rotation keeps them aligned; the target is cut
        # from the centre afterwards
        self.padded = mirror_pad(volume, input_size, output_size)
        self.padded_membrane = mirror_pad(labels == MEMBRANE, input_size, output_size)
        self.slice_shape = volume.shape
        self.input_size, self.output_size = input_size, output_size
        self.length, self.augment, self.seed = length, augment, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng((self.seed, index))
        n_slices, height, width = self.slice_shape
        s = rng.integers(n_slices)
        y = rng.integers(height - self.output_size + 1)
        x = rng.integers(width - self.output_size + 1)
        window = (s, slice(y, y + self.input_size), slice(x, x + self.input_size))
        image, target = self.padded[window], self.padded_membrane[window]
        if self.augment:
            k = int(rng.integers(4))
            flip = bool(rng.integers(2))
            image, target = np.rot90(image, k), np.rot90(target, k)
            if flip:
                image, target = image[:, ::-1], target[:, ::-1]
        top = (self.input_size - self.output_size) // 2
        target = target[top : top + self.output_size, top : top + self.output_size]
        image = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32) / 255.0)
        target = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
        return image[None], target[None]


@torch.no_grad()
def overlap_tile_predict(
    net: Callable[[torch.Tensor], torch.Tensor],
    image: np.ndarray,
    input_size: int,
    output_size: int,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Segment a whole slice with an unpadded network, tile by tile (U-Net paper, figure 2).

    The slice is mirror-padded, cut into input tiles whose output tiles cover
    it (the last row/column of tiles is shifted back to end at the border, so
    tiles may overlap), and the outputs are pasted together.

    Args:
        net: maps ``(1, 1, input_size, input_size)`` float in ``[0, 1]`` to
            ``(1, 1, output_size, output_size)`` logits (e.g. a U-Net in eval mode).
        image: ``(H, W)`` uint8 slice.
        input_size, output_size: the network's tile sides.
        device: where to run ``net``.

    Returns:
        ``(H, W)`` float32 logits (membrane if ``> 0`` for the notebook's targets).

    Raises:
        ValueError: if ``net``'s output is not ``output_size`` square.
    """
    image = np.asarray(image)
    height, width = image.shape
    before, after = _pads(input_size, output_size)
    # a slice smaller than one output tile gets extra padding at the bottom/right
    extra_h, extra_w = max(0, output_size - height), max(0, output_size - width)
    padded = np.pad(image, [(before, after + extra_h), (before, after + extra_w)], mode="reflect")
    padded = padded.astype(np.float32) / 255.0
    out = np.zeros((height, width), dtype=np.float32)

    def starts(n: int) -> list[int]:
        last = max(n - output_size, 0)
        return sorted(set(list(range(0, last, output_size)) + [last]))

    for y in starts(height):
        for x in starts(width):
            tile = torch.from_numpy(
                np.ascontiguousarray(padded[y : y + input_size, x : x + input_size])
            )
            logits = net(tile[None, None].to(device))
            if tuple(logits.shape[-2:]) != (output_size, output_size):
                raise ValueError(
                    f"the network returned a {tuple(logits.shape[-2:])} tile for a {input_size}px "
                    f"input; expected {output_size}x{output_size} (check output_size)"
                )
            h, w = min(output_size, height - y), min(output_size, width - x)
            out[y : y + h, x : x + w] = logits[0, 0, :h, :w].float().cpu().numpy()
    return out


def pixel_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Fraction of pixels whose binary class differs: ``mean(pred != target)``, in ``[0, 1]``.

    Both are boolean (or 0/1) arrays of the same shape, e.g. membrane masks.
    This is the plain per-pixel error, not the challenge's Rand or warping error.
    """
    pred, target = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {target.shape}")
    return float(np.mean(pred != target))


def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice coefficient ``2|P & T| / (|P| + |T|)`` of two boolean masks, in ``[0, 1]``.

    1 when both masks are empty (nothing to find, nothing found).
    """
    pred, target = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {target.shape}")
    total = int(pred.sum()) + int(target.sum())
    if total == 0:
        return 1.0
    return 2.0 * float(np.logical_and(pred, target).sum()) / total
