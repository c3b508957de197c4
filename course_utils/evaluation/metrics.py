"""Image-to-image metrics for Pix2Pix outputs: pure functions on uint8 RGB images.

All metrics here compare a *real* target map ``real`` with a *generated* map
``fake``. They work on batches of 8-bit RGB images, ``(N, H, W, 3)`` arrays of
dtype ``uint8`` with values 0-255 (channel last, the layout of PIL and
scikit-image); :func:`to_uint8` converts the networks' ``(N, 3, H, W)`` float
tensors in ``[-1, 1]`` to that layout.

What is measured, and where it comes from:

- :func:`l1`, :func:`psnr`, :func:`ssim`: per-image mean absolute error,
  peak signal-to-noise ratio and structural similarity on the 0-255 scale.
  PSNR and SSIM are scikit-image's implementations
  (:func:`skimage.metrics.peak_signal_noise_ratio`,
  :func:`skimage.metrics.structural_similarity`), not re-derived here.
- :func:`sr_scores` (with :func:`luma_y`, :func:`psnr_y`, :func:`ssim_y`): the
  super-resolution protocol (notebook 7; e.g. Ledig et al., CVPR 2017, section
  4.1): PSNR and SSIM on the luma channel Y of YCbCr (ITU-R BT.601, scikit-image's
  :func:`skimage.color.rgb2ycbcr`, Y in 16-235), with ``scale`` pixels cropped from
  every border, again scikit-image's PSNR and SSIM (SSIM with the Gaussian
  window of Wang et al. 2004, sigma 1.5, as the SR literature computes it).
- :func:`gcgan_scores`: the aerial -> map protocol of Fu et al., *Geometry-
  Consistent Generative Adversarial Networks for One-Sided Unsupervised Domain
  Mapping*, CVPR 2019 (GcGAN), in its aerial photo -> map experiments on this
  Google Maps data set, and reused by later papers on it: pixel accuracy within a
  colour tolerance ``delta`` and an RMSE, on maps resized to 256 x 256.
- :func:`mean_iou` (with :func:`nearest_colour_labels`,
  :func:`confusion_matrix`, :func:`iou_from_confusion`): a semantic score.
  Pix2Pix (Isola et al., CVPR 2017, section 4.1; used in 4.2) scores generated *photos* with
  an off-the-shelf FCN segmenter ("FCN-score"). A generated *map* needs no
  segmenter: its classes are its flat colours. Each pixel of the real and the
  generated map gets the class of its nearest palette colour (see
  :mod:`course_utils.evaluation.palette`), and the per-class intersection over union is
  accumulated over the whole split. This is the course's analogue of the
  FCN-score, not a number from the paper.

Every function raises :class:`ValueError` naming the offending shapes or dtypes
when its inputs are malformed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

GCGAN_SIZE = 256
"""Side length (pixels) at which the GcGAN protocol compares maps."""

GCGAN_DELTAS = (5, 10)
"""Colour tolerances of the GcGAN protocol (0-255 scale)."""

PSNR_CAP = 120.0
"""dB value that stands in for the infinite PSNR of identical images in means.

The largest *finite* PSNR two uint8 images with ``M`` values can have (one
value off by one) is ``10 * log10(255**2 * M)``: 101 dB for 256 x 256 x 3
values and below 120 dB for any image with fewer than 15 million values
(about 2236 x 2236 x 3). So capping at 120 dB changes only the infinite
scores of identical images and keeps the mean finite.
"""


# ----------------------------------------------------------------------------
# input checks and conversions
# ----------------------------------------------------------------------------

def _describe(x) -> str:
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
    return type(x).__name__


def _check_images(x, name: str) -> np.ndarray:
    """Check one batch of uint8 RGB images ``(N, H, W, 3)`` and return it."""
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        hint = ""
        if isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 3 and x.shape[-1] == 3:
            hint = " For a single image pass image[None]."
        elif isinstance(x, torch.Tensor) or (isinstance(x, np.ndarray) and x.dtype != np.uint8):
            hint = " Convert network outputs in [-1, 1] with to_uint8() first."
        raise ValueError(
            f"{name} must be a numpy uint8 array of shape (N, H, W, 3), got {_describe(x)}.{hint}"
        )
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{name} is empty: shape {x.shape}")
    return x


def _check_pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    real = _check_images(real, "real")
    fake = _check_images(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape (N, H, W, 3), got {real.shape} and "
            f"{fake.shape}"
        )
    return real, fake


def to_uint8(images) -> np.ndarray:
    """Convert network images in ``[-1, 1]`` to uint8 RGB images for the metrics.

    The mapping is ``v = round((x + 1) * 127.5)``, clipped to ``[0, 255]``:
    ``-1 -> 0``, ``1 -> 255``, ``0 -> 127.5 -> 128`` (round half to even). It
    inverts the data loader's ``x = v / 127.5 - 1`` exactly, so uint8 data that
    went through the loader comes back unchanged. Values outside ``[-1, 1]``
    are clipped.

    Args:
        images: ``(N, 3, H, W)`` float ``torch.Tensor`` (any device; detached
            here) or float numpy array, values in ``[-1, 1]``.

    Returns:
        ``(N, H, W, 3)`` numpy ``uint8`` array, channel last.

    Raises:
        ValueError: if ``images`` is not a 4-D float tensor/array with 3 channels.
    """
    if isinstance(images, torch.Tensor):
        if not images.is_floating_point():
            raise ValueError(f"to_uint8 expects float images in [-1, 1], got {_describe(images)}")
        arr = images.detach().to("cpu", torch.float32).numpy()
    elif isinstance(images, np.ndarray):
        if not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"to_uint8 expects float images in [-1, 1], got {_describe(images)}")
        arr = images.astype(np.float32, copy=False)
    else:
        raise ValueError(f"to_uint8 expects a torch.Tensor or numpy array, got {_describe(images)}")
    if arr.ndim != 4 or arr.shape[1] != 3:
        hint = (" For a single image pass image[None]."
                if arr.ndim == 3 and arr.shape[0] == 3 else "")
        raise ValueError(f"to_uint8 expects shape (N, 3, H, W), got {_describe(images)}.{hint}")
    out = np.clip(np.round((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1))


def resize_uint8(images, size: int = GCGAN_SIZE) -> np.ndarray:
    """Resize uint8 RGB images to ``size x size`` with PIL's bilinear filter.

    This is the resampler of the GcGAN protocol as implemented here:
    ``PIL.Image.resize((size, size), Image.BILINEAR)`` on each uint8 image.
    When shrinking, PIL widens the bilinear (triangle) filter to the scale
    factor, i.e. it antialiases, as torchvision's PIL-based ``Resize`` does.
    Images already ``size x size`` are returned unchanged (no copy).

    Args:
        images: ``(N, H, W, 3)`` uint8.
        size: output side length in pixels.

    Returns:
        ``(N, size, size, 3)`` uint8.

    Raises:
        ValueError: for malformed ``images``.
    """
    images = _check_images(images, "images")
    if images.shape[1:3] == (size, size):
        return images
    return np.stack(
        [np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR)) for im in images]
    )


# ----------------------------------------------------------------------------
# per-image pixel metrics
# ----------------------------------------------------------------------------

def _abs_diff(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    return np.abs(real.astype(np.int16) - fake.astype(np.int16))


def l1(real, fake) -> np.ndarray:
    """Per-image mean absolute error on the 0-255 scale.

    ``l1[i] = mean over (h, w, c) of |real[i] - fake[i]|``. Divide by 127.5 to
    get the ``[-1, 1]`` units of the training loss ``L_L1`` (Pix2Pix eq. 3).

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape.

    Returns:
        ``(N,)`` float64, values in ``[0, 255]``.

    Raises:
        ValueError: for malformed or mismatched inputs.
    """
    real, fake = _check_pair(real, fake)
    return _abs_diff(real, fake).mean(axis=(1, 2, 3), dtype=np.float64)


def psnr(real, fake) -> np.ndarray:
    """Per-image PSNR in dB, scikit-image's ``peak_signal_noise_ratio`` with ``data_range=255``.

    ``psnr = 10 * log10(255**2 / MSE)`` with MSE over all pixels and channels.
    Identical images have ``MSE = 0`` and PSNR ``inf``; it is returned as
    ``inf`` here (no warning). Use :func:`mean_psnr` to average, which caps
    at :data:`PSNR_CAP`.

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape.

    Returns:
        ``(N,)`` float64 in dB, ``inf`` where the images are identical.

    Raises:
        ValueError: for malformed or mismatched inputs.
    """
    real, fake = _check_pair(real, fake)
    out = np.empty(len(real), dtype=np.float64)
    with np.errstate(divide="ignore"):
        for i, (r, f) in enumerate(zip(real, fake, strict=False)):
            out[i] = peak_signal_noise_ratio(r, f, data_range=255)
    return out


def mean_psnr(values, cap: float = PSNR_CAP) -> float:
    """Mean of per-image PSNRs, each first capped at ``cap`` dB (so ``inf`` counts as ``cap``).

    Raises:
        ValueError: if ``values`` is empty or contains NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"mean_psnr needs a non-empty array without NaN, got {values!r}")
    return float(np.minimum(values, cap).mean())


def ssim(real, fake) -> np.ndarray:
    """Per-image SSIM, scikit-image's ``structural_similarity``.

    Called as ``structural_similarity(r, f, channel_axis=-1, data_range=255)``:
    scikit-image's defaults (7 x 7 uniform window, K1 = 0.01, K2 = 0.03), the
    SSIM averaged over the three channels. Identical images give 1.

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape, ``H, W >= 7``.

    Returns:
        ``(N,)`` float64 in ``[-1, 1]``.

    Raises:
        ValueError: for malformed or mismatched inputs, or images smaller than 7 x 7.
    """
    real, fake = _check_pair(real, fake)
    if min(real.shape[1:3]) < 7:
        raise ValueError(f"ssim needs images of at least 7 x 7 pixels, got shape {real.shape}")
    return np.array(
        [structural_similarity(r, f, channel_axis=-1, data_range=255)
         for r, f in zip(real, fake, strict=False)],
        dtype=np.float64,
    )


def gcgan_scores(real, fake, deltas: Sequence[float] = GCGAN_DELTAS) -> dict:
    """Pixel accuracy within ``delta`` and RMSE of generated maps, the GcGAN protocol.

    Source: Fu et al., GcGAN, CVPR 2019 (aerial photo -> map experiments). Both
    maps are first resized to 256 x 256 with :func:`resize_uint8` (PIL
    bilinear on uint8) unless they already are 256 x 256. Then, per image,
    with ``d = |real - fake|`` per pixel and channel (0-255 scale):

    - a pixel is *correct at delta* when ``max(d_R, d_G, d_B) < delta``
      (strictly less; the largest channel error decides);
      ``acc_delta[i]`` is the fraction of correct pixels of image ``i``;
    - ``rmse[i] = sqrt( sum over pixels and channels of d**2 / 256**2 )``:
      the divisor is the number of *pixels*, 256 * 256, not the number of
      values 3 * 256 * 256, as in the protocol (so it is sqrt(3) times the
      per-value RMSE).

    The means are plain averages over the images.

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape.
        deltas: positive tolerances; the paper uses 5 and 10.

    Returns:
        ``{"per_image": {"acc_delta5": (N,), "acc_delta10": (N,), "rmse": (N,)},
        "mean": {"acc_delta5": float, "acc_delta10": float, "rmse": float}}``,
        keys named ``f"acc_delta{delta:g}"``; arrays are float64.

    Raises:
        ValueError: for malformed or mismatched inputs or a non-positive delta.
    """
    real, fake = _check_pair(real, fake)
    deltas = tuple(deltas)
    if not deltas or any(not np.isfinite(d) or d <= 0 for d in deltas):
        raise ValueError(f"deltas must be positive numbers, got {deltas}")
    real = resize_uint8(real, GCGAN_SIZE)
    fake = resize_uint8(fake, GCGAN_SIZE)
    diff = _abs_diff(real, fake)  # (N, 256, 256, 3) int16
    max_diff = diff.max(axis=-1)  # (N, 256, 256)
    per_image = {
        f"acc_delta{d:g}": (max_diff < d).mean(axis=(1, 2), dtype=np.float64) for d in deltas
    }
    sq = (diff.astype(np.int64) ** 2).sum(axis=(1, 2, 3))
    per_image["rmse"] = np.sqrt(sq / float(GCGAN_SIZE * GCGAN_SIZE))
    return {"per_image": per_image, "mean": {k: float(v.mean()) for k, v in per_image.items()}}


# ----------------------------------------------------------------------------
# palette classes and IoU
# ----------------------------------------------------------------------------

def _check_colours(colours) -> np.ndarray:
    arr = np.asarray(colours)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"colours must have shape (K, 3) with K >= 1, got {_describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"colours must be numbers (RGB 0-255), got {_describe(arr)}")
    if (arr < 0).any() or (arr > 255).any():
        raise ValueError(f"colours must be RGB values in [0, 255], got {arr.tolist()}")
    return arr.astype(np.int32)


def nearest_colour_labels(images, colours) -> np.ndarray:
    """Label every pixel with the index of its nearest palette colour.

    Nearest in squared Euclidean RGB distance (0-255 scale); a tie goes to the
    lower index.

    Args:
        images: ``(N, H, W, 3)`` uint8.
        colours: ``(K, 3)`` RGB centres in ``[0, 255]`` (e.g. ``Palette.colours``).

    Returns:
        ``(N, H, W)`` int64 labels in ``[0, K)``.

    Raises:
        ValueError: for malformed ``images`` or ``colours``.
    """
    images = _check_images(images, "images")
    centres = _check_colours(colours)
    out = np.empty(images.shape[:3], dtype=np.int64)
    for i, im in enumerate(images):  # one image at a time keeps memory at H*W*K
        im = im.astype(np.int32)
        # Channel by channel: 3.6x faster than one (H, W, K, 3) array summed over its last axis
        # (0.13 s against 0.46 s for 16 maps of 256x256 with the 9-colour maps palette).
        d = (im[..., 0, None] - centres[:, 0]) ** 2  # int32, (H, W, K)
        d += (im[..., 1, None] - centres[:, 1]) ** 2
        d += (im[..., 2, None] - centres[:, 2]) ** 2
        out[i] = d.argmin(-1)
    return out


def confusion_matrix(real_labels, fake_labels, n_classes: int) -> np.ndarray:
    """Pixel counts ``cm[r, f]``: pixels of real class ``r`` labelled ``f`` in the fake map.

    Sum the matrices of several batches to accumulate a whole split.

    Args:
        real_labels, fake_labels: integer arrays of the same shape, values in ``[0, n_classes)``.
        n_classes: number of classes ``K``.

    Returns:
        ``(K, K)`` int64.

    Raises:
        ValueError: on mismatched shapes, non-integer labels or labels out of range.
    """
    real_labels = np.asarray(real_labels)
    fake_labels = np.asarray(fake_labels)
    if real_labels.shape != fake_labels.shape:
        raise ValueError(
            f"label arrays must have the same shape, got {real_labels.shape} and "
            f"{fake_labels.shape}"
        )
    for name, lab in (("real_labels", real_labels), ("fake_labels", fake_labels)):
        if not np.issubdtype(lab.dtype, np.integer):
            raise ValueError(f"{name} must be integer labels, got {_describe(lab)}")
        if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
            raise ValueError(
                f"{name} must lie in [0, {n_classes}), got values in [{lab.min()}, {lab.max()}]"
            )
    flat = real_labels.astype(np.int64).ravel() * n_classes + fake_labels.astype(np.int64).ravel()
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def iou_from_confusion(cm) -> np.ndarray:
    """Per-class IoU from a confusion matrix: ``cm[k, k] / (row_k + col_k - cm[k, k])``.

    A class with an empty union (absent from both the real and the fake maps)
    has IoU ``NaN``: it says nothing about the generator, so it must not count
    as 0 or 1. Use ``np.nanmean`` (as :func:`mean_iou` does) to skip it.

    Args:
        cm: ``(K, K)`` non-negative counts, rows real, columns fake.

    Returns:
        ``(K,)`` float64 in ``[0, 1]`` or NaN.

    Raises:
        ValueError: if ``cm`` is not square.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square (K, K), got shape {cm.shape}")
    cm = cm.astype(np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def nanmean_or_nan(values) -> float:
    """Mean of the non-NaN entries; NaN (and no warning) when all are NaN."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    return float(values[ok].mean()) if ok.any() else float("nan")


def mean_iou(real, fake, colours, classes=None) -> tuple[np.ndarray, float]:
    """Per-class IoU and mean IoU of generated maps over a colour palette.

    Each pixel of ``real`` and ``fake`` gets the class of its nearest palette
    colour (:func:`nearest_colour_labels`); intersections and unions are
    summed over **all** images before dividing (one IoU per class for the
    whole split, not a mean of per-image IoUs). Classes absent from both are
    NaN and left out of the mean.

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape.
        colours: ``(K, 3)`` palette RGB centres.
        classes: optional ``(K,)`` non-negative ints, the class of each colour
            (several colours may share one class, as in
            ``Palette.class_index``); default: each colour is its own class.

    Returns:
        ``(iou, miou)``: ``(C,)`` float64 per-class IoU (NaN for absent
        classes; ``C = max(classes) + 1``) and their NaN-skipping mean (finite:
        every pixel of ``real`` has a class, so at least one is present).

    Raises:
        ValueError: for malformed or mismatched inputs.
    """
    real, fake = _check_pair(real, fake)
    centres = _check_colours(colours)
    if classes is None:
        classes = np.arange(len(centres))
    classes = np.asarray(classes)
    if (classes.shape != (len(centres),) or not np.issubdtype(classes.dtype, np.integer)
            or (classes < 0).any()):
        raise ValueError(
            f"classes must be {len(centres)} non-negative ints (one per colour), "
            f"got {_describe(classes)}"
        )
    n_classes = int(classes.max()) + 1
    real_lab = classes[nearest_colour_labels(real, centres)]
    fake_lab = classes[nearest_colour_labels(fake, centres)]
    iou = iou_from_confusion(confusion_matrix(real_lab, fake_lab, n_classes))
    return iou, nanmean_or_nan(iou)


# ----------------------------------------------------------------------------
# super-resolution: Y channel, border cropped
# ----------------------------------------------------------------------------

def luma_y(images, border: int = 0) -> np.ndarray:
    """The Y (luma) channel of uint8 RGB images, scikit-image's ``rgb2ycbcr`` (ITU-R BT.601),
    borders cropped.

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for ``R, G, B`` in 0-255: Y
    runs from 16 (black) to 235 (white), as MATLAB's ``rgb2ycbcr`` on which the SR
    literature's numbers are computed. Not rounded.

    Args:
        images: ``(N, H, W, 3)`` uint8.
        border: pixels removed from each of the four borders (the SR protocol removes
            ``scale`` pixels, where the upscaler had no neighbours).

    Returns:
        ``(N, H - 2 border, W - 2 border)`` float64 in ``[16, 235]``.

    Raises:
        ValueError: for malformed images or a border that leaves no pixels.
    """
    images = _check_images(images, "images")
    if not isinstance(border, (int, np.integer)) or border < 0:
        raise ValueError(f"border must be a non-negative integer, got {border!r}")
    h, w = images.shape[1:3]
    if h <= 2 * border or w <= 2 * border:
        raise ValueError(f"border {border} leaves no pixels of a {h}x{w} image")
    y = np.stack([rgb2ycbcr(im)[..., 0] for im in images])
    return y[:, border : h - border, border : w - border] if border else y


def psnr_y(real, fake, border: int = 4) -> np.ndarray:
    """Per-image PSNR (dB) on the Y channel with ``border`` pixels cropped: the SR protocol.

    scikit-image's ``peak_signal_noise_ratio`` with ``data_range=255`` on
    :func:`luma_y`; ``inf`` for identical images (average with :func:`mean_psnr`).

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape.
        border: pixels cropped from each border (the scale factor: 4 for ×4).

    Returns:
        ``(N,)`` float64 in dB.

    Raises:
        ValueError: for malformed or mismatched inputs.
    """
    real, fake = _check_pair(real, fake)
    yr, yf = luma_y(real, border), luma_y(fake, border)
    out = np.empty(len(yr), dtype=np.float64)
    with np.errstate(divide="ignore"):
        for i, (r, f) in enumerate(zip(yr, yf, strict=False)):
            out[i] = peak_signal_noise_ratio(r, f, data_range=255)
    return out


def ssim_y(real, fake, border: int = 4) -> np.ndarray:
    """Per-image SSIM on the Y channel with ``border`` pixels cropped: the SR protocol.

    scikit-image's ``structural_similarity(data_range=255, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)`` on :func:`luma_y`: the 11 x 11
    Gaussian window of Wang et al. (IEEE TIP 2004), as the SR literature uses it.

    Args:
        real, fake: ``(N, H, W, 3)`` uint8, same shape; at least 11 x 11 after cropping.
        border: pixels cropped from each border.

    Returns:
        ``(N,)`` float64 in ``[-1, 1]``.

    Raises:
        ValueError: for malformed or mismatched inputs or images too small.
    """
    real, fake = _check_pair(real, fake)
    yr, yf = luma_y(real, border), luma_y(fake, border)
    if min(yr.shape[1:]) < 11:
        raise ValueError(
            f"ssim_y needs at least 11 x 11 pixels after cropping {border}, got {yr.shape[1:]}"
        )
    return np.array(
        [structural_similarity(r, f, data_range=255, gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False)
         for r, f in zip(yr, yf, strict=False)],
        dtype=np.float64,
    )


def sr_scores(real, fake, scale: int = 4) -> dict:
    """PSNR and SSIM of super-resolved images on Y with ``scale`` border pixels cropped (per image).

    Returns:
        ``{"psnr_y": (N,) dB, "ssim_y": (N,)}``; see :func:`psnr_y` and :func:`ssim_y`.
    """
    return {"psnr_y": psnr_y(real, fake, scale), "ssim_y": ssim_y(real, fake, scale)}


def bicubic_upscale(images, scale: int = 4) -> np.ndarray:
    """The SR baseline: uint8 RGB images upscaled ×``scale`` with PIL's bicubic filter.

    Args:
        images: ``(N, h, w, 3)`` uint8 (low-resolution inputs).

    Returns:
        ``(N, h scale, w scale, 3)`` uint8.
    """
    images = _check_images(images, "images")
    h, w = images.shape[1:3]
    return np.stack([np.asarray(Image.fromarray(im).resize((w * scale, h * scale), Image.BICUBIC))
                     for im in images])
