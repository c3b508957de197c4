"""Tests of course_utils.data.isbi: loading the ISBI 2012 stacks, training crops, tiled inference,
scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.data.isbi import (
    ISBI_FILES,
    ISBI_SHAPE,
    ISBICrops,
    dice,
    load_isbi2012,
    mirror_pad,
    overlap_tile_predict,
    pixel_error,
)
from course_utils.errors import DataError
from course_utils.models.unet import UNet, crop
from course_utils.paths import data_root


def _write_stacks(root, shape=ISBI_SHAPE, labels=None):
    tifffile = pytest.importorskip("tifffile")
    folder = root / "isbi2012"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    vol = rng.integers(0, 256, size=shape, dtype=np.uint8)
    lab = labels if labels is not None else np.where(vol > 60, 255, 0).astype(np.uint8)
    tifffile.imwrite(folder / ISBI_FILES["train_volume"], vol)
    tifffile.imwrite(folder / ISBI_FILES["train_labels"], lab)
    tifffile.imwrite(folder / ISBI_FILES["test_volume"], vol[::-1].copy())
    return vol, lab


def test_missing_file_names_it_and_the_fetch_command(tmp_path):
    with pytest.raises(DataError) as err:
        load_isbi2012(tmp_path)
    msg = str(err.value)
    assert "train-volume.tif" in msg and "pix2pix data fetch isbi2012" in msg


def test_loads_a_valid_stack(tmp_path):
    vol, lab = _write_stacks(tmp_path)
    data = load_isbi2012(tmp_path)
    assert set(data) == {"train_volume", "train_labels", "test_volume"}
    np.testing.assert_array_equal(data["train_volume"], vol)
    np.testing.assert_array_equal(data["train_labels"], lab)
    np.testing.assert_array_equal(data["test_volume"], vol[::-1])


def test_rejects_wrong_shape(tmp_path):
    _write_stacks(tmp_path, shape=(2, 64, 64))
    with pytest.raises(DataError, match=r"train-volume.tif: expected a \(30, 512, 512\) uint8"):
        load_isbi2012(tmp_path)


def test_rejects_non_binary_labels(tmp_path):
    bad = np.full(ISBI_SHAPE, 255, dtype=np.uint8)
    bad[0, 0, 0] = 7
    _write_stacks(tmp_path, labels=bad)
    with pytest.raises(DataError, match="train-labels.tif: labels must be 0"):
        load_isbi2012(tmp_path)


def test_real_data_if_present():
    if not (data_root() / "isbi2012" / "train-labels.tif").is_file():
        pytest.skip(
            f"ISBI 2012 not under {data_root()} "
            "(set PIX2PIX_DATA_ROOT or run `pix2pix data fetch isbi2012`)"
        )
    data = load_isbi2012()
    for arr in data.values():
        assert arr.shape == ISBI_SHAPE and arr.dtype == np.uint8
    membrane = float(np.mean(data["train_labels"] == 0))
    assert 0.15 < membrane < 0.30  # the README gives 78.0 % cell pixels


def test_mirror_pad_reflects_about_the_border_pixel():
    img = np.arange(25, dtype=np.uint8).reshape(5, 5)
    padded = mirror_pad(img, input_size=8, output_size=5)  # pads 1 before, 2 after
    assert padded.shape == (8, 8)
    np.testing.assert_array_equal(padded[1:6, 1:6], img)
    np.testing.assert_array_equal(padded[0, 1:6], img[1])  # row -1 mirrors row 1
    np.testing.assert_array_equal(padded[7, 1:6], img[2])  # row 6 mirrors row 2 (5 -> 3, 6 -> 2)


@pytest.mark.parametrize("augment", [False, True])
def test_crops_align_image_and_target(augment):
    """The target must be the label under the image tile's centre, after the same flips/rotation."""
    rng = np.random.default_rng(1)
    vol = rng.integers(0, 256, size=(3, 64, 48), dtype=np.uint8)
    lab = np.where(vol >= 128, 255, 0).astype(np.uint8)  # membrane exactly where vol < 128
    ds = ISBICrops(vol, lab, input_size=40, output_size=21, length=50, augment=augment, seed=3)
    before = (40 - 21) // 2
    for i in range(len(ds)):
        image, target = ds[i]
        assert image.shape == (1, 40, 40) and target.shape == (1, 21, 21)
        assert image.dtype == torch.float32 and 0 <= image.min() and image.max() <= 1
        centre = image[0, before : before + 21, before : before + 21]
        expected = (torch.round(centre * 255) < 128).float()
        assert torch.equal(target[0], expected), (
            f"item {i}: target not aligned with the image centre"
        )


def test_crops_are_deterministic_and_cover_the_borders():
    rng = np.random.default_rng(2)
    vol = rng.integers(0, 256, size=(2, 32, 32), dtype=np.uint8)
    lab = np.where(vol > 100, 255, 0).astype(np.uint8)
    ds = ISBICrops(vol, lab, input_size=30, output_size=9, length=200, augment=False, seed=0)
    a, b = ds[5], ISBICrops(vol, lab, 30, 9, length=200, augment=False, seed=0)[5]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(ds[5][0], ds[6][0])
    # with mirror padding, tiles reach past the slice edge: some tile's top-left is mirrored data
    before = (30 - 9) // 2
    corners = {
        tuple(torch.round(ds[i][0][0, before, before : before + 1] * 255).int().tolist())
        for i in range(200)
    }
    assert len(corners) > 20
    with pytest.raises(IndexError):
        ds[200]


def test_crops_reject_mismatched_arrays():
    with pytest.raises(ValueError, match="same shape"):
        ISBICrops(np.zeros((2, 32, 32), np.uint8), np.zeros((2, 32, 31), np.uint8), 20, 10)


@pytest.mark.parametrize("size", [(64, 64), (50, 37), (10, 12)])
def test_overlap_tile_predict_reassembles_the_slice(size):
    """A 'network' that returns the centre crop of its input must give the slice back exactly."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=size, dtype=np.uint8)

    def centre(x):
        return crop(x, (13, 13))

    out = overlap_tile_predict(centre, img, input_size=30, output_size=13)
    assert out.shape == size and out.dtype == np.float32
    np.testing.assert_allclose(out * 255, img, atol=1e-3)


def test_overlap_tile_predict_matches_a_single_big_tile():
    torch.manual_seed(0)
    net = UNet(1, 1, hidden_channels=2, depth=2).eval()
    img = np.random.default_rng(4).integers(0, 256, size=(40, 40), dtype=np.uint8)
    small = overlap_tile_predict(net, img, 88, net.output_size(88))  # 45 >= 40: one tile
    tiled = overlap_tile_predict(net, img, 72, net.output_size(72))  # 29: four overlapping tiles
    assert small.shape == tiled.shape == (40, 40)
    # same network, same mirror-padded context up to the tile borders: interiors agree closely
    assert np.corrcoef(small.ravel(), tiled.ravel())[0, 1] > 0.9


def test_overlap_tile_predict_checks_the_output_size():
    with pytest.raises(ValueError, match="expected 13x13"):
        overlap_tile_predict(lambda x: crop(x, (12, 12)), np.zeros((20, 20), np.uint8), 30, 13)


def test_scores():
    target = np.array([[1, 1, 0, 0]], dtype=bool)
    assert pixel_error(target, target) == 0.0 and dice(target, target) == 1.0
    pred = np.array([[1, 0, 1, 0]], dtype=bool)
    assert pixel_error(pred, target) == 0.5
    assert dice(pred, target) == pytest.approx(0.5)  # 2*1 / (2+2)
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert dice(np.ones((2, 2)), np.zeros((2, 2))) == 0.0
    with pytest.raises(ValueError):
        dice(np.zeros(3), np.zeros(4))
