"""The 1-D (azimuthally averaged) power spectrum of images, and how far a generator's departs from
the real one.

Durall, Keuper and Keuper (*Watch your Up-Convolution: CNN Based Generative Deep
Neural Networks are Failing to Reproduce Spectral Distributions*, CVPR 2020,
section 3) reduce the 2-D Fourier power spectrum of an image to one dimension
by averaging it over every direction at each distance from the centre (the
"azimuthal integration"). Real photos fall off smoothly towards high
frequencies; decoders built from transposed convolutions leave an excess (or a
comb of peaks) there. The same curve shows what super-resolution adds
(notebook 7): bicubic upsampling has almost no power above the low-resolution
Nyquist frequency, a GAN puts some back.

Conventions:

- images are ``(N, C, H, W)`` or ``(C, H, W)`` or ``(H, W)`` tensors or arrays,
  any value range (the mean is removed, so ``[-1, 1]`` and ``[0, 1]`` give the same
  curve up to a factor 4); RGB is reduced to luma (ITU-R BT.601 weights) first;
- the frequency of bin ``r`` is ``r / min(H, W)`` cycles per pixel; the last bin is
  ``0.5`` (the Nyquist frequency); bin 0 (the mean) is dropped;
- the power is ``|FFT2(x - mean)|^2 / (H * W)``, averaged over the images.
"""

from __future__ import annotations

import numpy as np
import torch

from course_utils.errors import CourseError

LUMA = (0.299, 0.587, 0.114)


def _as_gray(images) -> np.ndarray:
    """``(N, H, W)`` float64 grey images from ``(N, C, H, W)``, ``(C, H, W)`` or ``(H, W)``."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 2:
        x = x[None, None]
    elif x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise CourseError(
            f"spectrum: expected images of shape (N, C, H, W), (C, H, W) or (H, W), "
            f"got shape {tuple(x.shape)}"
        )
    n, c, h, w = x.shape
    if c not in (1, 3):
        raise CourseError(f"spectrum: expected 1 or 3 channels, got {c} (shape {tuple(x.shape)})")
    if min(h, w) < 4:
        raise CourseError(f"spectrum: images of {h}x{w} pixels are too small (at least 4x4)")
    if not np.isfinite(x).all():
        raise CourseError("spectrum: the images contain NaN or infinite values")
    if c == 3:
        x = np.tensordot(np.asarray(LUMA), x, axes=([0], [1]))
    else:
        x = x[:, 0]
    return x


def power_spectrum_2d(images) -> np.ndarray:
    """The mean centred 2-D power spectrum ``|FFT2(x - mean)|^2 / (H W)``, shape ``(H, W)``.

    The zero frequency is at index ``(H // 2, W // 2)`` (``np.fft.fftshift``).
    Raises :class:`CourseError` for a bad shape or non-finite values.
    """
    x = _as_gray(images)
    x = x - x.mean(axis=(1, 2), keepdims=True)
    h, w = x.shape[1:]
    power = np.abs(np.fft.fft2(x)) ** 2 / (h * w)
    return np.fft.fftshift(power.mean(axis=0))


def azimuthal_average(power: np.ndarray) -> np.ndarray:
    """Average a centred 2-D spectrum ``(H, W)`` over rings of integer radius: shape
    ``(min(H, W) // 2 + 1,)``.

    Bin ``r`` holds the pixels whose distance from the centre rounds to ``r``
    (Durall et al. 2020, eq. 2, on a discrete grid).
    """
    power = np.asarray(power, dtype=np.float64)
    if power.ndim != 2:
        raise CourseError(f"azimuthal_average: expected a 2-D spectrum, got shape {power.shape}")
    h, w = power.shape
    yy, xx = np.indices((h, w))
    radius = np.rint(np.hypot(yy - h // 2, xx - w // 2)).astype(np.int64)
    n_bins = min(h, w) // 2 + 1
    keep = radius < n_bins
    sums = np.bincount(radius[keep], weights=power[keep], minlength=n_bins)
    counts = np.bincount(radius[keep], minlength=n_bins)
    return sums / np.maximum(counts, 1)


def radial_power_spectrum(images) -> tuple[np.ndarray, np.ndarray]:
    """The 1-D power spectrum of a batch of images: ``(freqs, power)``, both of shape
    ``(min(H, W) // 2,)``.

    ``freqs`` runs from ``1 / min(H, W)`` to ``0.5`` cycles per pixel; ``power``
    is the azimuthal average of :func:`power_spectrum_2d` (mean over the
    images), without the zero-frequency bin. Plot it on log-log axes.
    """
    power2d = power_spectrum_2d(images)
    profile = azimuthal_average(power2d)[1:]
    size = min(power2d.shape)
    freqs = np.arange(1, len(profile) + 1) / size
    return freqs, profile


def spectral_gap(power, real_power, freqs, band: tuple[float, float] = (0.25, 0.5)) -> float:
    """Mean of ``log10(power / real_power)`` over the frequencies in ``band`` (cycles per pixel).

    0 means the same high-frequency power as the real images, ``+1`` ten times
    too much (the excess of transposed convolutions), ``-1`` ten times too
    little (the blur of bicubic upsampling or an L1-only generator). Raises
    :class:`CourseError` when the curves differ in length or no bin falls in
    ``band``.
    """
    power, real_power, freqs = (np.asarray(a, dtype=np.float64) for a in (power, real_power, freqs))
    if not (power.shape == real_power.shape == freqs.shape):
        raise CourseError(
            f"spectral_gap: the spectra must have the same length (got {power.shape}, "
            f"{real_power.shape}, freqs {freqs.shape}); compute them on images of the same size"
        )
    sel = (freqs >= band[0]) & (freqs <= band[1])
    if not sel.any():
        raise CourseError(f"spectral_gap: no frequency falls in the band {band} (cycles per pixel, "
                          f"at most 0.5)")
    tiny = 1e-12
    return float(np.mean(np.log10((power[sel] + tiny) / (real_power[sel] + tiny))))
