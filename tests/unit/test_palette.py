"""course_utils.evaluation.palette: the derived palette recovers the colours of synthetic maps."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from course_utils.errors import DataError
from course_utils.evaluation import palette as pal
from course_utils.evaluation.palette import (
    Palette,
    derive_map_palette,
    load_or_derive_palette,
    name_colour,
)
from course_utils.paths import data_root

TRUE = {
    "background": (230, 228, 220),
    "building": (243, 241, 235),
    "road": (255, 255, 255),
    "water": (170, 205, 250),
    "park": (200, 225, 170),
    "highway": (250, 160, 40),
}
YELLOW = (250, 225, 100)  # a thin 1-pixel line in a few maps: too rare to be a class
SIDE = 96


def synthetic_map(rng, i, labels=False):
    """A 96 x 96 map: background, buildings, white roads, and water/park/highway in some maps.

    With ``labels=True`` also returns the (96, 96) array of the drawn class names.
    """
    names = np.full((SIDE, SIDE), "background", dtype=object)
    for _ in range(4):
        y, x = rng.integers(0, SIDE - 12, 2)
        names[y : y + 10, x : x + 12] = "building"
    if i % 2 == 0:
        names[: SIDE // 3, :] = "water"
    if i % 3 == 0:
        names[SIDE // 2 :, SIDE // 2 :] = "park"
    for c in (20, 60):
        names[:, c : c + 6] = "road"
        names[c + 10 : c + 16, :] = "road"
    if i % 4 == 1:
        names[40:45, :] = "highway"
    m = np.array([TRUE[n] for n in names.ravel()], dtype=np.float64).reshape(SIDE, SIDE, 3)
    if i % 8 == 3:
        m[:, 90] = YELLOW
    m += rng.normal(0, 1.5, m.shape)
    m = np.clip(np.round(m), 0, 255).astype(np.uint8)
    return (m, names) if labels else m


@pytest.fixture(scope="module")
def map_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps") / "train"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        a = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)  # the "aerial" half: noise
        Image.fromarray(np.concatenate([a, synthetic_map(rng, i)], axis=1)).save(
            folder / f"{i + 1}.png"
        )
    return folder


def derive(folder, **kw):
    return derive_map_palette(folder, n_images=16, size=SIDE, pixels_per_image=2048, **kw)


def test_derived_palette_recovers_the_colours_and_names(map_folder):
    p = derive(map_folder)
    assert sorted(p.names) == sorted(TRUE), p.describe()
    for name, rgb in zip(p.names, p.colours):
        assert np.abs(rgb.astype(int) - TRUE[name]).max() <= 2, (name, rgb, TRUE[name])
    assert p.fractions.sum() == pytest.approx(1.0)
    assert (np.diff(p.fractions) <= 0).all()  # sorted by decreasing share
    assert p.names[0] == "background"
    # the yellow line (1 px in 2 of 16 maps) is folded into a neighbour, not a class
    assert min(np.abs(p.colours.astype(int) - YELLOW).max(1)) > 40


def test_classification_and_fractions_match_the_drawn_classes(map_folder):
    p = derive(map_folder)
    rng = np.random.default_rng(5)
    maps, names = zip(*(synthetic_map(rng, i, labels=True) for i in range(16)))
    names = np.stack(names)
    predicted = np.array(p.class_names, dtype=object)[p.classify(np.stack(maps))]
    # every pixel but the yellow line gets its drawn class
    yellow = np.zeros_like(names, dtype=bool)
    yellow[[3, 11], :, 90] = True
    assert (predicted == names)[~yellow].all()
    # the derived fractions (measured on resized, sampled pixels) match the drawn areas
    drawn = {n: (names == n).mean() for n in TRUE}
    for n, f in zip(p.class_names, p.class_fractions):
        assert f == pytest.approx(drawn[n], abs=0.02), (n, f, drawn[n])


def test_derivation_is_deterministic(map_folder):
    a, b = derive(map_folder), derive(map_folder)
    assert a.names == b.names and (a.colours == b.colours).all()


@pytest.mark.parametrize(
    "rgb, name",
    [
        ((253, 253, 251), "road"),
        ((232, 229, 222), "background"),
        ((177, 208, 254), "water"),
        ((203, 223, 172), "park"),
        ((186, 210, 186), "park"),
        ((250, 158, 37), "highway"),
        ((254, 225, 104), "major_road"),
        ((232, 221, 190), "campus"),
        ((211, 202, 190), "airport"),
        ((200, 100, 220), "other"),
    ],
)
def test_name_rule(rgb, name):
    assert name_colour(rgb) == name


def test_greys_named_relative_to_the_background():
    assert name_colour((242, 239, 234), background_value=232 / 255) == "building"
    assert name_colour((200, 199, 198), background_value=232 / 255) == "dark_grey"


def test_palette_classes_merge_colours_of_one_name():
    p = Palette(
        ("park", "road", "park"),
        np.array([(0, 200, 0), (255, 255, 255), (0, 150, 0)]),
        [0.5, 0.3, 0.2],
    )
    assert p.class_names == ("park", "road")
    assert p.class_index.tolist() == [0, 1, 0]
    np.testing.assert_allclose(p.class_fractions, [0.7, 0.3])
    img = np.array([[[[0, 140, 0], [250, 250, 250], [0, 210, 0]]]], dtype=np.uint8)
    assert p.classify(img).tolist() == [[[0, 1, 0]]]
    q = Palette.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q.names == p.names and (q.colours == p.colours).all()
    np.testing.assert_allclose(q.fractions, p.fractions)
    with pytest.raises(ValueError, match="one \\(R, G, B\\) colour per name"):
        Palette(("a",), np.zeros((2, 3)))


def test_cache_is_written_reused_and_refreshed(map_folder, tmp_path, monkeypatch):
    cache = tmp_path / "palette.json"
    kw = {"n_images": 16, "size": SIDE, "pixels_per_image": 2048}
    p = load_or_derive_palette(map_folder, cache, **kw)
    data = json.loads(cache.read_text())
    assert data["n_files"] == 16 and data["settings"]["size"] == SIDE
    assert [c["name"] for c in data["colours"]] == list(p.names)

    def fail(*a, **k):
        raise AssertionError("should have used the cache")

    monkeypatch.setattr(pal, "derive_map_palette", fail)
    q = load_or_derive_palette(map_folder, cache, **kw)
    assert q.names == p.names and (q.colours == p.colours).all()
    monkeypatch.undo()

    calls = []
    real = pal.derive_map_palette
    monkeypatch.setattr(pal, "derive_map_palette", lambda *a, **k: calls.append(k) or real(*a, **k))
    load_or_derive_palette(map_folder, cache, **{**kw, "seed": 1})  # other settings: derive again
    assert len(calls) == 1
    cache.write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable palette cache"):
        load_or_derive_palette(map_folder, cache, **kw)
    assert len(calls) == 2 and json.loads(cache.read_text())["format"] == pal.PALETTE_FORMAT


def test_unwritable_cache_warns_and_still_returns(map_folder, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="could not write the palette cache"):
        p = load_or_derive_palette(map_folder, blocker / "palette.json", n_images=4, size=SIDE)
    assert "background" in p.names


def test_default_cache_file_sits_next_to_the_split(tmp_path):
    assert (
        pal.default_cache_file(tmp_path / "maps" / "train")
        == tmp_path / "maps" / "palette_train.json"
    )


def test_bad_folders_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        derive_map_palette(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        derive_map_palette(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="1.jpg"):
        derive_map_palette(tmp_path / "bad")


def test_real_maps_palette():
    folder = data_root() / "maps" / "train"
    if not folder.is_dir() or not any(folder.glob("*.jpg")):
        pytest.skip(f"maps training data not found in {folder} (set PIX2PIX_DATA_ROOT)")
    p = derive_map_palette(folder)
    fr = dict(zip(p.class_names, p.class_fractions))
    for name in ("background", "building", "road", "water", "park", "highway"):
        assert name in fr, p.describe()
    assert p.class_names[0] == "background" and fr["background"] > 0.3
    assert sum(fr[n] for n in ("background", "building", "road", "water", "park")) > 0.85
    assert 0.005 < fr["highway"] < 0.05
