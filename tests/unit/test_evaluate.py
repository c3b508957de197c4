"""course_utils.evaluation.evaluate: scores of known generators on tiny synthetic data, mode
handling, translate()."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course_utils.errors import DataError
from course_utils.evaluation.evaluate import evaluate, generator_mode, translate
from course_utils.evaluation.metrics import PSNR_CAP
from course_utils.evaluation.palette import Palette

PALETTE = Palette(
    ("background", "road", "water", "park"),
    np.array([(232, 229, 222), (255, 255, 255), (177, 208, 254), (203, 223, 172)]),
)


def to_float(u8: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float in [-1, 1], the loader's v / 127.5 - 1."""
    return torch.from_numpy(u8.astype(np.float32)).permute(2, 0, 1) / 127.5 - 1.0


def palette_maps(n=5, size=32, seed=0):
    """n maps drawn from the first three palette colours (park absent everywhere)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, (n, size // 8, size // 8)).repeat(8, 1).repeat(8, 2)
    return PALETTE.colours[labels]


def make_dataset(real_A: np.ndarray, real_B: np.ndarray):
    return [
        {"real_A": to_float(a), "real_B": to_float(b), "path": f"/data/{i + 1}.jpg"}
        for i, (a, b) in enumerate(zip(real_A, real_B))
    ]


class Shift(nn.Module):
    """x + offset/127.5 through a 1x1 conv (identity weights), BatchNorm and dropout."""

    def __init__(self, offset=0.0, p=0.5):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).reshape(3, 3, 1, 1))
            self.conv.bias.fill_(offset / 127.5)
        self.norm = nn.BatchNorm2d(3)
        self.norm.running_var.fill_(1.0 - self.norm.eps)  # eval mode: x / sqrt(var + eps) = x
        self.drop = nn.Dropout(p)

    def forward(self, x):
        return self.drop(self.norm(self.conv(x)))


def run(net, data, **kw):
    return evaluate(net, data, device="cpu", progress=False, **kw)


def test_identity_generator_gets_perfect_scores():
    maps = palette_maps()
    res = run(Shift(), make_dataset(maps, maps), batch_size=2, palette=PALETTE)  # batches 2, 2, 1
    assert list(res) == [
        "n_images", "l1", "psnr", "ssim", "acc_delta5", "acc_delta10", "rmse", "iou", "mean_iou",
    ]
    assert res["n_images"] == 5
    assert res["l1"] == 0 and res["rmse"] == 0
    assert res["acc_delta5"] == 1 and res["acc_delta10"] == 1
    assert res["ssim"] == pytest.approx(1.0)
    assert res["psnr"] == PSNR_CAP  # identical images: inf, counted as the cap
    assert res["iou"]["background"] == res["iou"]["road"] == res["iou"]["water"] == 1.0
    assert res["iou"]["park"] is None  # absent in real and fake: null in JSON, not in the mean
    assert res["mean_iou"] == 1.0
    assert "iou" not in run(Shift(), make_dataset(maps, maps))  # no palette, no IoU keys


def test_target_is_real_B_and_scores_follow_the_definitions():
    rng = np.random.default_rng(1)
    real_A = rng.integers(20, 200, (3, 32, 32, 3), dtype=np.uint8)
    real_B = real_A + 6  # the target is A shifted by 6 grey levels
    data = make_dataset(real_A, real_B)
    ident = run(Shift(), data)
    # every value off by 6: l1 = 6; max channel error 6 -> wrong at 5, right at 10;
    # rmse = sqrt(256*256*3*36 / 256**2) = sqrt(108); psnr = 10 log10(255^2 / 36)
    assert ident["l1"] == pytest.approx(6.0)
    assert ident["acc_delta5"] == 0.0 and ident["acc_delta10"] == 1.0
    assert ident["rmse"] == pytest.approx(math.sqrt(108))
    assert ident["psnr"] == pytest.approx(10 * math.log10(255**2 / 36))
    shifted = run(Shift(offset=6.0), data)  # the right translation scores perfectly
    assert shifted["l1"] == 0 and shifted["acc_delta5"] == 1.0


def test_modes_are_restored_and_train_mode_leaves_no_trace():
    maps = palette_maps(n=4)
    data = make_dataset(maps, maps)
    net = Shift()
    net.train()
    net.drop.eval()  # a mixed state must come back exactly
    run(net, data, mode="eval")
    assert net.training and net.conv.training and net.norm.training and not net.drop.training

    net.eval()
    net.norm.running_mean.fill_(0.01)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng_before = torch.get_rng_state()
    run(net, data, mode="train", batch_size=2)
    assert not any(m.training for m in net.modules())
    for k, v in net.state_dict().items():  # BatchNorm running stats untouched
        assert torch.equal(v, before[k]), k
    assert torch.equal(torch.get_rng_state(), rng_before)  # caller's random state untouched


def test_dropout_is_active_in_train_mode_and_seeded():
    maps = palette_maps(n=4)
    data = make_dataset(maps, maps)
    net = Shift(p=0.5)
    net.norm = nn.Identity()  # isolate dropout from batch statistics
    ev = run(net, data, mode="eval")
    tr = run(net, data, mode="train", batch_size=2)
    assert ev["l1"] == 0
    # dropout zeroes about half the values (0 -> grey 128) and doubles the rest (clipped)
    assert tr["l1"] > 30 and tr["acc_delta10"] < 0.3
    assert run(net, data, mode="train", batch_size=2) == tr  # same seed, same draws
    assert run(net, data, mode="train", batch_size=2, seed=1)["l1"] != tr["l1"]


def test_train_mode_uses_batch_statistics():
    maps = palette_maps(n=4)
    net = Shift(p=0.0)
    res = run(net, make_dataset(maps, maps), mode="train", batch_size=4)
    assert res["l1"] > 20  # outputs are standardised per batch, no longer the input


def test_save_images_writes_input_generated_target(tmp_path):
    rng = np.random.default_rng(2)
    real_A = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    real_B = palette_maps(n=3, size=16)
    run(Shift(), make_dataset(real_A, real_B), save_images=tmp_path / "out", batch_size=2)
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["0000_1.png", "0001_2.png", "0002_3.png"]
    row = np.asarray(Image.open(files[2]))
    assert row.shape == (16, 48, 3)
    np.testing.assert_array_equal(row[:, :16], real_A[2])  # input
    np.testing.assert_array_equal(row[:, 16:32], real_A[2])  # generated (identity)
    np.testing.assert_array_equal(row[:, 32:], real_B[2])  # target


def test_evaluate_rejects_bad_arguments():
    maps = palette_maps(n=2)
    data = make_dataset(maps, maps)
    with pytest.raises(ValueError, match="mode"):
        run(Shift(), data, mode="test")
    with pytest.raises(ValueError, match="empty"):
        run(Shift(), [])
    with pytest.raises(ValueError, match="real_A"):
        run(Shift(), [(d["real_A"], d["real_B"]) for d in data])
    with pytest.raises(ValueError, match="batch_size"):
        run(Shift(), data, batch_size=0)
    with pytest.raises(ValueError, match="mode"):
        with generator_mode(Shift(), "inference", "cpu"):
            pass


# ----------------------------------------------------------------------------
# translate
# ----------------------------------------------------------------------------

class Identity(nn.Module):
    """Returns its input; refuses sizes that are not multiples of 2**num_downs; records shapes."""

    def __init__(self, num_downs=3):
        super().__init__()
        self.num_downs = num_downs
        self.shapes = []

    def forward(self, x):
        m = 2**self.num_downs
        assert x.shape[-2] % m == 0 and x.shape[-1] % m == 0, x.shape
        self.shapes.append(tuple(x.shape))
        return x


def write(path, w, h, seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def test_translate_keeps_odd_sizes_and_pixels_at_native_scale(tmp_path):
    a = write(tmp_path / "in" / "a.png", 37, 53, seed=1)
    b = write(tmp_path / "in" / "b.png", 300, 97, seed=2)
    net = Identity()
    out = translate(net, tmp_path / "in", tmp_path / "out", device="cpu", scale=1.0, progress=False)
    assert [p.name for p in out] == ["a.png", "b.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(out[0])), a)  # padding cropped exactly
    np.testing.assert_array_equal(np.asarray(Image.open(out[1])), b)
    assert net.shapes == [(1, 3, 56, 40), (1, 3, 104, 304)]  # padded to multiples of 8


def test_translate_default_scale_resizes_short_side_and_back(tmp_path):
    write(tmp_path / "c.jpg", 45, 31, seed=3)
    net = Identity(num_downs=2)
    (out,) = translate(
        net, [tmp_path / "c.jpg"], tmp_path / "out", device="cpu", size=64, progress=False
    )
    assert Image.open(out).size == (45, 31)
    assert net.shapes == [(1, 3, 64, 96)]  # 31 -> 64, 45 -> 93 -> padded to 96


def test_translate_tiles_large_images_without_seams(tmp_path):
    a = write(tmp_path / "big.png", 150, 97, seed=4)
    net = Identity(num_downs=2)
    (out,) = translate(
        net, tmp_path / "big.png", tmp_path / "out", device="cpu", size=32, scale=1.0,
        max_side=64, overlap=8, batch_size=5, progress=False,
    )
    # an identity generator blended over overlapping tiles gives back the image exactly
    np.testing.assert_array_equal(np.asarray(Image.open(out)), a)
    assert all(s[1:] == (3, 32, 32) for s in net.shapes)
    rows, cols = len(range(0, 97 - 32 + 1, 24)) + 1, len(range(0, 150 - 32 + 1, 24)) + 1
    assert sum(s[0] for s in net.shapes) == rows * cols


def test_translate_split_pair_takes_the_input_half(tmp_path):
    pair = np.zeros((40, 80, 3), dtype=np.uint8)
    pair[:, :40] = (200, 10, 10)
    pair[:, 40:] = (10, 10, 200)
    Image.fromarray(pair).save(tmp_path / "p.png")
    kw = {"device": "cpu", "scale": 1.0, "split_pair": True, "progress": False}
    (ab,) = translate(Identity(), tmp_path / "p.png", tmp_path / "ab", **kw)
    (ba,) = translate(Identity(), tmp_path / "p.png", tmp_path / "ba", direction="BtoA", **kw)
    np.testing.assert_array_equal(np.asarray(Image.open(ab)), pair[:, :40])
    np.testing.assert_array_equal(np.asarray(Image.open(ba)), pair[:, 40:])
    (whole,) = translate(
        Identity(), tmp_path / "p.png", tmp_path / "w", device="cpu", scale=1.0, progress=False
    )
    assert Image.open(whole).size == (80, 40)


def test_translate_inputs_and_names(tmp_path):
    write(tmp_path / "d1" / "x.png", 20, 20)
    write(tmp_path / "d2" / "x.png", 20, 20)
    (tmp_path / "d1" / "README.txt").write_text("not an image, skipped in folders")
    out = translate(
        Identity(), [tmp_path / "d1", tmp_path / "d2"], tmp_path / "o", device="cpu", progress=False
    )
    assert [p.name for p in out] == ["x.png", "x_1.png"]
    # never overwrite an input: translating a folder into itself
    out = translate(Identity(), tmp_path / "d1", tmp_path / "d1", device="cpu", progress=False)
    assert out[0].name == "x_1.png"


def test_translate_rejects_non_images(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt"):
        translate(Identity(), tmp_path / "notes.txt", tmp_path / "o", device="cpu", progress=False)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "broken.jpg").write_bytes(b"not a jpeg")
    write(tmp_path / "d" / "ok.png", 8, 8)
    with pytest.raises(DataError, match="broken.jpg"):
        translate(Identity(), tmp_path / "d", tmp_path / "o", device="cpu", progress=False)
    assert not (tmp_path / "o").exists() or not any(
        (tmp_path / "o").iterdir()
    )  # checked before any write
    with pytest.raises(DataError, match="no such file"):
        translate(
            Identity(), tmp_path / "missing.png", tmp_path / "o", device="cpu", progress=False
        )
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        translate(Identity(), tmp_path / "empty", tmp_path / "o", device="cpu", progress=False)
    with pytest.raises(ValueError, match="multiple"):
        translate(
            Identity(), tmp_path / "d", tmp_path / "o", device="cpu", size=100, progress=False
        )


def test_translate_with_the_course_generator(tmp_path):
    from course_utils.models.generator import UnetGenerator

    write(tmp_path / "e.png", 70, 41, seed=5)
    netG = UnetGenerator(num_downs=5, ngf=4).eval()
    (out,) = translate(
        netG, tmp_path / "e.png", tmp_path / "o", device="cpu", size=32, progress=False
    )
    assert Image.open(out).size == (70, 41)
    assert not netG.training
