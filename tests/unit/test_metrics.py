"""course_utils.evaluation.metrics checked against values derived by hand on synthetic images."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.evaluation.metrics import (
    PSNR_CAP,
    confusion_matrix,
    gcgan_scores,
    iou_from_confusion,
    l1,
    mean_iou,
    mean_psnr,
    nearest_colour_labels,
    psnr,
    resize_uint8,
    ssim,
    to_uint8,
)


def flat(value, size=256, n=1):
    return np.full((n, size, size, 3), value, dtype=np.uint8)


# ----------------------------------------------------------------------------
# to_uint8
# ----------------------------------------------------------------------------

def test_to_uint8_maps_range_and_layout():
    x = torch.tensor([-1.0, 1.0, 0.0, -2.0, 3.0, 0.5]).reshape(1, 3, 1, 2)
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 2, 3)
    # pixel (0, j) is (x[0, 0, 0, j], x[0, 1, 0, j], x[0, 2, 0, j]):
    # pixel 0 = (-1, 0, 3) -> (0, round(127.5) = 128 (half to even), 3 clipped to 255)
    # pixel 1 = (1, -2, 0.5) -> (255, -2 clipped to 0, round(191.25) = 191)
    assert out[0, 0, 0].tolist() == [0, 128, 255]
    assert out[0, 0, 1].tolist() == [255, 0, 191]


def test_to_uint8_inverts_the_loader_mapping_exactly():
    v = np.arange(256, dtype=np.uint8)
    x = torch.from_numpy(v.astype(np.float32)).div(127.5).sub(1.0)  # the loader's v / 127.5 - 1
    x = x.reshape(1, 1, 16, 16).expand(1, 3, 16, 16)
    assert (to_uint8(x)[0, :, :, 0].ravel() == v).all()
    assert (to_uint8(x.numpy())[0, :, :, 2].ravel() == v).all()  # numpy input too


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (torch.zeros(3, 8, 8), "image[None]"),
        (torch.zeros(1, 1, 8, 8), "(N, 3, H, W)"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "float"),
        ([0.0], "torch.Tensor or numpy"),
    ],
)
def test_to_uint8_rejects_bad_input(bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        to_uint8(bad)


# ----------------------------------------------------------------------------
# GcGAN accuracy / RMSE, L1, PSNR on a hand-built 256 x 256 pair
# ----------------------------------------------------------------------------

def hand_pair():
    """A flat grey (100) map and a copy with five known groups of changed pixels.

    Pixels are numbered 0..65535 in row-major order; changes (channel: amount):

    group  pixels        change            max |d|   ok@5  ok@10
    P1     0..999        R +6              6         no    yes     (one channel only)
    P2     1000..1499    R, G, B +4        4         yes   yes
    P3     1500..1699    G -12             12        no    no
    P4     1700..1999    B +5              5         no    yes     (5 < 5 is false)
    P5     2000..2099    R +10             10        no    no      (10 < 10 is false)

    wrong@5  = 1000 + 200 + 300 + 100 = 1600   -> acc5  = 63936 / 65536
    wrong@10 = 200 + 100 = 300                 -> acc10 = 65236 / 65536
    sum d^2  = 1000*36 + 500*3*16 + 200*144 + 300*25 + 100*100 = 106300
    rmse     = sqrt(106300 / 256**2)                       (pixels, not values)
    sum |d|  = 1000*6 + 500*12 + 200*12 + 300*5 + 100*10 = 16900
    l1       = 16900 / (256 * 256 * 3)
    psnr     = 10 log10(255**2 / (106300 / (256 * 256 * 3)))
    """
    real = flat(100)
    fake = real.copy()
    px = fake.reshape(-1, 3)  # a view: edits change fake
    px[0:1000, 0] += 6
    px[1000:1500, :] += 4
    px[1500:1700, 1] -= 12
    px[1700:2000, 2] += 5
    px[2000:2100, 0] += 10
    return real, fake


def test_gcgan_scores_hand_computed():
    real, fake = hand_pair()
    s = gcgan_scores(real, fake)
    assert s["mean"]["acc_delta5"] == pytest.approx(63936 / 65536, abs=1e-12)
    assert s["mean"]["acc_delta10"] == pytest.approx(65236 / 65536, abs=1e-12)
    assert s["mean"]["rmse"] == pytest.approx(math.sqrt(106300 / 65536), rel=1e-12)
    assert set(s["per_image"]) == {"acc_delta5", "acc_delta10", "rmse"}
    assert s["per_image"]["rmse"].shape == (1,)


def test_l1_and_psnr_hand_computed():
    real, fake = hand_pair()
    assert l1(real, fake)[0] == pytest.approx(16900 / 196608, rel=1e-12)
    mse = 106300 / 196608
    assert psnr(real, fake)[0] == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-9)


def test_max_over_channels_rule():
    # off by 6 in ONE channel only: wrong at delta 5, right at delta 10
    real = flat(50)
    fake = real.copy()
    fake[..., 1] = 56
    s = gcgan_scores(real, fake)["mean"]
    assert s["acc_delta5"] == 0.0 and s["acc_delta10"] == 1.0


def test_delta_is_strict():
    real = flat(50)
    s = gcgan_scores(real, flat(55))["mean"]  # |d| = 5 everywhere
    assert s["acc_delta5"] == 0.0 and s["acc_delta10"] == 1.0
    s = gcgan_scores(real, flat(54))["mean"]  # |d| = 4
    assert s["acc_delta5"] == 1.0
    s = gcgan_scores(real, flat(60))["mean"]  # |d| = 10
    assert s["acc_delta10"] == 0.0
    s = gcgan_scores(real, flat(60), deltas=(10.5,))["mean"]
    assert s == {"acc_delta10.5": 1.0, "rmse": pytest.approx(math.sqrt(300))}


def test_rmse_divides_by_pixels_not_values():
    # |d| = 3 on every value: sum d^2 = 256*256*3*9, / 256^2 -> 27; per-value RMSE would be 3
    s = gcgan_scores(flat(100), flat(103))["mean"]
    assert s["rmse"] == pytest.approx(math.sqrt(27))


def test_per_image_values_and_means_over_images():
    real = np.concatenate([flat(100), flat(100)])
    fake = np.concatenate([flat(100), flat(107)])
    s = gcgan_scores(real, fake)
    np.testing.assert_allclose(s["per_image"]["acc_delta10"], [1.0, 1.0])
    np.testing.assert_allclose(s["per_image"]["acc_delta5"], [1.0, 0.0])
    np.testing.assert_allclose(s["per_image"]["rmse"], [0.0, math.sqrt(3 * 49)])
    assert s["mean"]["acc_delta5"] == 0.5
    assert s["mean"]["rmse"] == pytest.approx(math.sqrt(147) / 2)


def test_non_256_inputs_are_resized_bilinearly_first():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (2, 300, 200, 3), dtype=np.uint8)
    fake = rng.integers(0, 256, (2, 300, 200, 3), dtype=np.uint8)
    resized = resize_uint8(real)
    assert resized.shape == (2, 256, 256, 3) and resized.dtype == np.uint8
    expected = np.asarray(Image.fromarray(real[1]).resize((256, 256), Image.BILINEAR))
    np.testing.assert_array_equal(resized[1], expected)
    s = gcgan_scores(real, fake)["per_image"]
    t = gcgan_scores(resize_uint8(real), resize_uint8(fake))["per_image"]
    for k in s:
        np.testing.assert_array_equal(s[k], t[k])
    # on the native grid the accuracy would differ: the resize really happened
    native = (np.abs(real.astype(int) - fake).max(-1) < 10).mean(axis=(1, 2))
    assert not np.allclose(native, s["acc_delta10"])
    # flat maps stay flat under resizing: 128 x 128 maps off by 7 everywhere
    s = gcgan_scores(flat(100, size=128), flat(107, size=128))["mean"]
    assert s["acc_delta5"] == 0.0 and s["acc_delta10"] == 1.0
    assert s["rmse"] == pytest.approx(math.sqrt(147))


def test_identical_images():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    s = gcgan_scores(img, img.copy())["mean"]
    assert s["acc_delta5"] == 1.0 and s["acc_delta10"] == 1.0 and s["rmse"] == 0.0
    assert (l1(img, img) == 0).all()
    with np.errstate(all="raise"):  # no divide-by-zero warning escapes
        p = psnr(img, img)
    assert np.isinf(p).all()
    np.testing.assert_allclose(ssim(img, img), 1.0)
    # inf counts as PSNR_CAP in the mean; finite values are untouched
    assert mean_psnr(p) == PSNR_CAP
    assert mean_psnr([np.inf, 30.0]) == pytest.approx((PSNR_CAP + 30.0) / 2)
    # the cap is above any finite PSNR of a 256 x 256 pair (one value off by one: ~101 dB)
    real = flat(100)
    fake = real.copy()
    fake[0, 0, 0, 0] = 101
    assert 100 < psnr(real, fake)[0] < PSNR_CAP


def test_ssim_is_scikit_image_with_data_range_255():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(2)
    real = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-20, 21, real.shape), 0, 255).astype(np.uint8)
    got = ssim(real, fake)
    want = [
        structural_similarity(r, f, channel_axis=-1, data_range=255) for r, f in zip(real, fake)
    ]
    np.testing.assert_allclose(got, want)
    assert (got < 1).all() and (got > 0).all()


@pytest.mark.parametrize("fn", [l1, psnr, ssim, gcgan_scores])
def test_bad_inputs_name_shapes_and_dtypes(fn):
    good = flat(1, size=16)
    with pytest.raises(ValueError, match=r"\(1, 16, 16, 3\) and \(1, 8, 8, 3\)"):
        fn(good, flat(1, size=8))
    with pytest.raises(ValueError, match="float32"):
        fn(good.astype(np.float32), good)
    with pytest.raises(ValueError, match=r"image\[None\]"):
        fn(good[0], good[0])
    with pytest.raises(ValueError, match="to_uint8"):
        fn(torch.zeros(1, 3, 16, 16), good)


def test_gcgan_rejects_bad_deltas():
    with pytest.raises(ValueError, match="positive"):
        gcgan_scores(flat(1, 16), flat(1, 16), deltas=(0,))


# ----------------------------------------------------------------------------
# nearest colours and IoU
# ----------------------------------------------------------------------------

BLACK, WHITE, RED, BLUE = (0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 0, 255)
COLOURS = np.array([BLACK, WHITE, RED, BLUE], dtype=np.uint8)


def paint(labels, noise=((10, 5, 0), (250, 255, 240), (240, 12, 3), (0, 0, 0))):
    """uint8 image (1, H, W, 3) with each label drawn in a slightly-off palette colour."""
    labels = np.asarray(labels)
    return np.asarray(noise, dtype=np.uint8)[labels][None]


def test_nearest_colour_labels():
    img = paint([[0, 1, 2], [2, 1, 0]])
    np.testing.assert_array_equal(nearest_colour_labels(img, COLOURS)[0], [[0, 1, 2], [2, 1, 0]])
    # a tie goes to the lower index: (0, 0, 127) is 127 away from (0, 0, 0) and (0, 0, 254)
    tie = np.array([[[[0, 0, 127]]]], dtype=np.uint8)
    assert nearest_colour_labels(tie, np.array([(0, 0, 254), BLACK]))[0, 0, 0] == 0
    assert nearest_colour_labels(tie, np.array([BLACK, (0, 0, 254)]))[0, 0, 0] == 0
    assert nearest_colour_labels(tie, np.array([BLACK, (0, 0, 253)]))[0, 0, 0] == 1
    with pytest.raises(ValueError, match=r"\(K, 3\)"):
        nearest_colour_labels(img, [[1, 2]])


def test_nearest_colour_labels_matches_brute_force():
    """Every pixel gets the argmin of its squared RGB distances, ties to the lower index (random
    images)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 17, 9, 3), dtype=np.uint8)
    images[0, 0, 0] = (10, 10, 10)  # equidistant from the first two colours below
    colours = np.concatenate([[(0, 10, 10), (20, 10, 10)], rng.integers(0, 256, (7, 3))])
    dist = ((images.astype(np.int64)[..., None, :] - colours) ** 2).sum(-1)
    np.testing.assert_array_equal(nearest_colour_labels(images, colours), dist.argmin(-1))
    assert nearest_colour_labels(images, colours)[0, 0, 0] == 0


def test_iou_hand_labelled_with_absent_class():
    # real labels     fake labels     class 0: real {a,b}, fake {a,f}       I=1 U=3 -> 1/3
    #  0 0 1           0 1 1          class 1: real {c,d}, fake {b,c,d}     I=2 U=3 -> 2/3
    #  1 2 2           1 2 0          class 2: real {e,f}, fake {e}         I=1 U=2 -> 1/2
    #                                 class 3 (blue): in neither -> NaN, not in the mean
    real = paint([[0, 0, 1], [1, 2, 2]])
    fake = paint([[0, 1, 1], [1, 2, 0]])
    iou, miou = mean_iou(real, fake, COLOURS)
    np.testing.assert_allclose(iou[:3], [1 / 3, 2 / 3, 1 / 2])
    assert np.isnan(iou[3])
    assert miou == pytest.approx(0.5)


def test_iou_accumulates_over_the_split_not_per_image():
    # image 1: real [0 0], fake [0 0]; image 2: real [0 1], fake [1 1]
    # class 0: I = 2, U = 3 -> 2/3 (a per-image mean would give (1 + 0) / 2)
    # class 1: I = 1, U = 2 -> 1/2; classes 2, 3 absent -> NaN; mean = (2/3 + 1/2) / 2
    real = np.concatenate([paint([[0, 0]]), paint([[0, 1]])])
    fake = np.concatenate([paint([[0, 0]]), paint([[1, 1]])])
    iou, miou = mean_iou(real, fake, COLOURS)
    np.testing.assert_allclose(iou[:2], [2 / 3, 1 / 2])
    assert np.isnan(iou[2:]).all()
    assert miou == pytest.approx(7 / 12)
    # the same through confusion matrices summed batch by batch
    cm = sum(
        confusion_matrix(
            nearest_colour_labels(r[None], COLOURS), nearest_colour_labels(f[None], COLOURS), 4
        )
        for r, f in zip(real, fake)
    )
    np.testing.assert_array_equal(cm[:2, :2], [[2, 1], [0, 1]])  # rows real, columns fake
    np.testing.assert_allclose(iou_from_confusion(cm)[:2], [2 / 3, 1 / 2])


def test_iou_with_several_colours_per_class():
    # colours black and dark grey both belong to class 0, white to class 1
    colours = np.array([BLACK, (60, 60, 60), WHITE])
    real = np.array([[[[0, 0, 0], [60, 60, 60], [255, 255, 255]]]], dtype=np.uint8)
    fake = np.array([[[[60, 60, 60], [0, 0, 0], [255, 255, 255]]]], dtype=np.uint8)
    iou, miou = mean_iou(real, fake, colours, classes=[0, 0, 1])
    np.testing.assert_allclose(iou, [1.0, 1.0])
    iou, _ = mean_iou(real, fake, colours)  # as three separate classes: black and grey swapped
    np.testing.assert_allclose(iou, [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="one per colour"):
        mean_iou(real, fake, colours, classes=[0, 1])


def test_confusion_matrix_checks_labels():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(np.array([0]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="integer"):
        confusion_matrix(np.array([0.0]), np.array([0.0]), 2)
