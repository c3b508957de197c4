"""The 1-D power spectrum (course_utils.evaluation.spectrum) on images whose spectrum is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.errors import CourseError
from course_utils.evaluation.spectrum import (
    azimuthal_average,
    power_spectrum_2d,
    radial_power_spectrum,
    spectral_gap,
)


def test_a_pure_cosine_puts_its_power_in_one_bin():
    size, k = 64, 8
    x = np.cos(2 * np.pi * k * np.arange(size) / size)[None, :].repeat(size, axis=0)
    freqs, power = radial_power_spectrum(x)
    assert freqs.shape == power.shape == (size // 2,)
    assert freqs[0] == pytest.approx(1 / size) and freqs[-1] == pytest.approx(0.5)
    assert freqs[np.argmax(power)] == pytest.approx(k / size)
    # Parseval: the 2-D spectrum sums to the signal's energy (mean removed)
    assert power_spectrum_2d(x).sum() == pytest.approx(((x - x.mean()) ** 2).sum())


def test_white_noise_is_flat_and_blur_removes_high_frequencies():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((8, 1, 64, 64))
    freqs, power = radial_power_spectrum(noise)
    assert power[5:].std() / power[5:].mean() < 0.2
    blurred = torch.nn.functional.avg_pool2d(torch.from_numpy(noise), 3, stride=1, padding=1)
    _, power_blur = radial_power_spectrum(blurred)
    assert spectral_gap(power_blur, power, freqs) < -0.5
    assert spectral_gap(power, power, freqs) == pytest.approx(0.0)


def test_rgb_uses_luma_and_value_range_only_scales():
    rng = np.random.default_rng(1)
    img = rng.random((2, 3, 32, 32))
    _, p01 = radial_power_spectrum(img)
    _, p11 = radial_power_spectrum(img * 2 - 1)
    np.testing.assert_allclose(p11, 4 * p01)
    luma = np.tensordot(np.array([0.299, 0.587, 0.114]), img, axes=([0], [1]))[:, None]
    np.testing.assert_allclose(radial_power_spectrum(luma)[1], p01)


def test_azimuthal_average_of_a_constant_is_constant():
    np.testing.assert_allclose(azimuthal_average(np.full((16, 20), 3.0)), 3.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 2, 16, 16)), "1 or 3 channels"),
        (np.zeros((1, 1, 1, 16, 16)), "shape"),
        (np.zeros((2, 2)), "too small"),
        (np.full((8, 8), np.nan), "NaN"),
    ],
)
def test_bad_input_gets_a_clear_error(bad, match):
    with pytest.raises(CourseError, match=match):
        radial_power_spectrum(bad)


def test_spectral_gap_checks_lengths_and_band():
    f = np.linspace(0.01, 0.5, 10)
    with pytest.raises(CourseError, match="same length"):
        spectral_gap(np.ones(10), np.ones(9), f)
    with pytest.raises(CourseError, match="band"):
        spectral_gap(np.ones(10), np.ones(10), f, band=(0.6, 0.7))
