"""course_utils.data.datasets: the pre-training scan, the A|B split and the pix2pix augmentation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.data.datasets import PairedImageDataset, dataset_folder, scan_pairs
from course_utils.errors import BadFilesError, DataError

SHARED = Path("/work/shared/data")


def save(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path, fmt)
    return path


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def coord_pair(h: int) -> np.ndarray:
    """A 2h x h pair whose halves both hold R = 3*x, G = 3*y; blue is 0 in A and 255 in B."""
    y, x = np.mgrid[0:h, 0:h]
    half = np.stack([3 * x, 3 * y, np.zeros_like(x)], axis=-1)
    a, b = half.copy(), half.copy()
    b[..., 2] = 255
    return np.concatenate([a, b], axis=1)


def jpeg_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- bad inputs
# Each case builds a folder (with one good pair next to the bad file) and returns
# (path to pass, dataset kwargs, expected error, fragments the message must contain).


def _folder_with(tmp_path, name, content: bytes | np.ndarray, fmt=None):
    folder = tmp_path / "pairs"
    save(folder / "1.png", noise(32, 64))  # a good pair, must not be reported
    if isinstance(content, bytes):
        (folder / name).write_bytes(content)
    else:
        save(folder / name, content, fmt)
    return folder


def _only_readme(folder):
    folder.mkdir()
    (folder / "README.txt").write_text("images go here")
    return folder


BAD_CASES = {
    "text named .jpg": lambda t: (
        _folder_with(t, "notes.jpg", b"hello, not a picture"),
        {},
        BadFilesError,
        ["notes.jpg", "not an image"],
    ),
    "text named .png": lambda t: (
        _folder_with(t, "fake.png", b"just text\n" * 20),
        {},
        BadFilesError,
        ["fake.png", "not an image"],
    ),
    "truncated jpeg": lambda t: (
        _folder_with(t, "cut.jpg", jpeg_bytes(noise(64, 128))[:600]),
        {},
        BadFilesError,
        ["cut.jpg", "truncated"],
    ),
    "empty file": lambda t: (
        _folder_with(t, "empty.jpg", b""),
        {},
        BadFilesError,
        ["empty.jpg", "empty file (0 bytes)"],
    ),
    "1:1 image": lambda t: (
        _folder_with(t, "square.png", noise(32, 32)),
        {},
        BadFilesError,
        ["square.png", "not a 2:1", "32x32"],
    ),
    "3:1 image": lambda t: (
        _folder_with(t, "wide.png", noise(32, 96)),
        {},
        BadFilesError,
        ["wide.png", "not a 2:1", "96x32"],
    ),
    "too small to resize": lambda t: (
        _folder_with(t, "tiny.png", noise(10, 20)),
        {"load_size": 32, "crop_size": 32},
        BadFilesError,
        ["tiny.png", "too small", "10x10", "more than 2x"],
    ),
    "too small to crop": lambda t: (
        _folder_with(t, "tiny.png", noise(16, 32)),
        {"load_size": None, "crop_size": 24},
        BadFilesError,
        ["tiny.png", "too small", "24x24", "load_size=None"],
    ),
    "missing folder": lambda t: (
        t / "maps" / "train",
        {},
        DataError,
        [str(t / "maps" / "train"), "does not exist", "pix2pix data fetch maps"],
    ),
    "empty folder": lambda t: (
        _only_readme(t / "void"),
        {},
        DataError,
        [str(t / "void"), "no images", "pix2pix data fetch"],
    ),
    "path is a file": lambda t: (
        save(t / "pair.png", noise(32, 64)),
        {},
        DataError,
        ["pair.png", "is a file"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_reported(tmp_path, case):
    path, kwargs, error, fragments = BAD_CASES[case](tmp_path)
    kwargs = {"load_size": 32, "crop_size": 32, "progress": False, **kwargs}
    with pytest.raises(error) as info:
        PairedImageDataset(path, **kwargs)
    assert type(info.value) is error
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg
    if error is BadFilesError:
        assert len(info.value.problems) == 1  # the good pair 1.png is not listed
        assert "1.png" not in msg


def test_all_bad_files_in_one_error_and_other_files_ignored(tmp_path):
    folder = tmp_path / "pairs"
    save(folder / "1.jpg", noise(32, 64))
    (folder / "2.jpg").write_bytes(b"")
    save(folder / "3.png", noise(20, 20))
    (folder / "4.jpeg").write_bytes(b"garbage")
    (folder / "README.md").write_text("notes")
    (folder / "MANIFEST.sha256").write_text("abc  1.jpg\n")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    (folder / "sub").mkdir()
    with pytest.raises(BadFilesError) as info:
        scan_pairs(folder)
    assert [Path(p).name for p, _ in info.value.problems] == ["2.jpg", "3.png", "4.jpeg"]
    assert str(folder) in str(info.value) and "README" not in str(info.value)


def test_scan_pairs_natural_order_and_max_items(tmp_path):
    for n in (10, 2, 1):
        save(tmp_path / f"{n}.png", noise(8, 16, seed=n))
    assert [p.name for p in scan_pairs(tmp_path)] == ["1.png", "2.png", "10.png"]
    (tmp_path / "11.png").write_bytes(b"")  # beyond max_items: never read
    ds = PairedImageDataset(tmp_path, load_size=8, crop_size=8, max_items=2, progress=False)
    assert [Path(ds[i]["path"]).name for i in range(len(ds))] == ["1.png", "2.png"]


def test_dataset_folder(tmp_path):
    (tmp_path / "facades" / "val").mkdir(parents=True)
    assert dataset_folder("facades", "val", root=tmp_path) == tmp_path / "facades" / "val"
    with pytest.raises(DataError, match="run `pix2pix data fetch maps`"):
        dataset_folder("maps", "train", root=tmp_path)


@pytest.mark.parametrize("kwargs", [{"direction": "sideways"}, {"interpolation": "nearest"},
                                    {"load_size": 200, "crop_size": 256}])
def test_bad_arguments(tmp_path, kwargs):
    save(tmp_path / "1.png", noise(8, 16))
    with pytest.raises(ValueError) as info:
        PairedImageDataset(tmp_path, progress=False, **kwargs)
    assert str(next(iter(kwargs.values()))) in str(info.value)


# ------------------------------------------------------------------------------ behaviour


@pytest.mark.parametrize("load_size", [None, 40])
def test_same_crop_and_flip_for_both_halves(tmp_path, load_size):
    save(tmp_path / "1.png", coord_pair(48))
    ds = PairedImageDataset(
        tmp_path, load_size=load_size, crop_size=32, progress=False, cache=False
    )
    torch.manual_seed(0)
    corners, flips = set(), set()
    for _ in range(60):
        item = ds[0]
        a, b = item["real_A"], item["real_B"]
        assert torch.equal(a[:2], b[:2])  # identical coordinate channels: same crop, same flip
        assert torch.all(a[2] == -1) and torch.all(b[2] == 1)  # A really is the left half
        to_u8 = ((a[:2] + 1) * 127.5).round()
        corners.add((to_u8[0, 0, 0].item(), to_u8[1, 0, 0].item()))
        flips.add(bool(to_u8[0, 0, 0] > to_u8[0, 0, -1]))  # x decreases left to right
    assert len(corners) > 5  # the crop offset really is random
    assert flips == {True, False}  # and so is the mirror


def test_native_crop_offsets_are_exact(tmp_path):
    save(tmp_path / "1.png", coord_pair(48))
    ds = PairedImageDataset(tmp_path, load_size=None, crop_size=32, train=False, progress=False)
    item = ds[0]
    r = ((item["real_A"][0] + 1) * 127.5).round().long()
    g = ((item["real_A"][1] + 1) * 127.5).round().long()
    # centre crop of a 48 px half: offset 8, no flip in eval mode
    assert torch.equal(r[0], torch.arange(8, 40) * 3)
    assert torch.equal(g[:, 0], torch.arange(8, 40) * 3)
    assert torch.equal(ds[0]["real_A"], item["real_A"])  # deterministic


def test_direction_swaps_halves(tmp_path):
    save(tmp_path / "1.png", coord_pair(40))
    kw = {"load_size": 40, "crop_size": 32, "progress": False}
    torch.manual_seed(3)
    ab = PairedImageDataset(tmp_path, direction="AtoB", **kw)[0]
    torch.manual_seed(3)
    ba = PairedImageDataset(tmp_path, direction="BtoA", **kw)[0]
    assert torch.equal(ab["real_A"], ba["real_B"]) and torch.equal(ab["real_B"], ba["real_A"])
    assert torch.all(ba["real_A"][2] == 1)  # the input is now the right half


def test_value_mapping_and_range(tmp_path):
    half = np.zeros((16, 16, 3), np.uint8)
    half[:, :, 1] = 51
    half[:, :, 2] = 128
    other = np.full((16, 16, 3), 255, np.uint8)
    save(tmp_path / "1.png", np.concatenate([half, other], axis=1))
    item = PairedImageDataset(tmp_path, load_size=16, crop_size=16, train=False, progress=False)[0]
    a, b = item["real_A"], item["real_B"]
    assert a.dtype == torch.float32 and a.shape == (3, 16, 16) and b.shape == (3, 16, 16)
    assert torch.all(a[0] == -1.0) and torch.all(b == 1.0)  # 0 -> -1, 255 -> 1 exactly
    # v / 127.5 - 1 in float32 (the subtraction near 0 leaves ~1e-7 of rounding error)
    assert torch.allclose(a[1], torch.tensor(51 / 127.5 - 1), rtol=0, atol=1e-6)
    assert torch.allclose(a[2], torch.tensor(128 / 127.5 - 1), rtol=0, atol=1e-6)


def test_cache_and_no_cache_match(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.jpg").write_bytes(jpeg_bytes(noise(36, 72, seed=i)))
    kw = {"load_size": 30, "crop_size": 24, "progress": False}
    cached = PairedImageDataset(tmp_path, cache=True, threads=2, **kw)
    fresh = PairedImageDataset(tmp_path, cache=False, **kw)

    def draws(ds):
        torch.manual_seed(7)
        return [ds[i % 3] for i in range(9)]

    from_cache, from_disk = draws(cached), draws(fresh)
    for x, y in zip(from_cache, from_disk):
        assert x["path"] == y["path"]
        assert torch.equal(x["real_A"], y["real_A"]) and torch.equal(x["real_B"], y["real_B"])
    assert not torch.equal(from_cache[0]["real_A"], from_cache[3]["real_A"])  # random crops differ


def test_works_with_dataloader(tmp_path):
    for i in range(4):
        save(tmp_path / f"{i}.png", noise(20, 40, seed=i))
    ds = PairedImageDataset(tmp_path, load_size=20, crop_size=16, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False)))
    assert batch["real_A"].shape == (4, 3, 16, 16) and len(batch["path"]) == 4


@pytest.mark.skipif(
    not (SHARED / "maps" / "val").is_dir(), reason=f"real maps data not in {SHARED}"
)
def test_real_maps_pairs():
    ds = PairedImageDataset(
        dataset_folder("maps", "val", root=SHARED), max_items=3, train=False, progress=False
    )
    item = ds[0]
    assert item["real_A"].shape == (3, 256, 256) and item["path"].endswith("val/1.jpg")
    assert -1 <= item["real_A"].min() < item["real_A"].max() <= 1
    # aerial photo (A) and map tile (B) differ: the map is mostly flat light colours
    assert item["real_B"].mean() > item["real_A"].mean()
