"""The colour palette of the maps data set, derived at run time from the training maps.

Google's map tiles are drawn with a handful of flat colours: light grey land,
white streets, blue water, green parks, orange highways... Classifying each
pixel by its nearest palette colour turns a map into a label image, which
:func:`course_utils.evaluation.metrics.mean_iou` scores like a segmentation (the course's
analogue of the FCN-score of Pix2Pix, Isola et al. 2017, section 4.2).

The palette is measured from the data, never committed: the colours are Google
Maps content, and deriving them keeps the code honest if the data changes.
:func:`derive_map_palette` finds the dominant flat colours of the B halves
(the maps) of a sample of training images; :func:`load_or_derive_palette`
caches the result as JSON next to the data.

How the colours are found (:func:`derive_map_palette`):

1. Sample pixels: ``n_images`` files evenly spaced in sorted order, the map
   half of each resized to ``size x size`` (PIL bilinear, as the evaluation
   loader does; JPEGs are decoded at half scale first, which is faster and
   leaves flat colours unchanged), ``pixels_per_image`` random pixels from
   each (fixed seed).
2. Peaks: a 3-D histogram with ``bin_size``-wide bins per channel, smoothed by
   summing each 3 x 3 x 3 block of bins; candidate colours are the local
   maxima of that density, strongest first, each taken as the mean of the
   pixels in its block. A candidate closer than ``min_separation`` (RGB
   Euclidean distance) to a stronger accepted one is dropped.
3. Refinement: a few rounds of "assign every pixel to its nearest colour, then
   move each colour to the mean of its pixels within ``radius``", a k-means
   that ignores the blended pixels at edges.
4. Flatness: a class is kept when the pixels within ``radius`` of its colour
   (its *flat core*) make up at least ``min_fraction`` of all sampled pixels.
   Antialiased lines, text and JPEG-blurred edges form diffuse clusters with
   small cores and are dropped; their pixels fall into the nearest kept class.
5. Names, by :func:`name_colour`'s rule on hue, saturation and brightness.

On the course's copy of the maps training split this finds nine colours in
eight classes: background land, buildings (a lighter grey), white roads,
water, parks (two greens), orange highways, beige campus areas and the
grey-beige of airports; the first five cover about 95 % of the pixels. Rarer
drawn colours (yellow arterial roads, thin grey paths, rail lines, labels),
each well under 0.3 % of the pixels in its flat core, are not classes: their
pixels take the class of the nearest colour. The result is stable from about
300 sampled images on (checked with several seeds).
"""

from __future__ import annotations

import colorsys
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from course_utils.data.images import list_images
from course_utils.errors import DataError
from course_utils.evaluation.metrics import nearest_colour_labels

PALETTE_FORMAT = 1
"""Version of the JSON cache layout; a cache with another version is re-derived."""


@dataclass(frozen=True)
class Palette:
    """RGB colour centres grouped into named classes.

    A class may own several colours (the maps draw parks in two greens, for
    example): each colour has a name, and the classes are the distinct names.

    Attributes:
        names: ``(K,)`` class name of each colour, e.g. ``("background", "park", "park")``.
        colours: ``(K, 3)`` uint8 RGB centres.
        fractions: ``(K,)`` float64 share of the sampled training pixels whose
            nearest colour is this one (sums to 1), or ``None`` if unknown.

    Raises:
        ValueError: if the shapes disagree or a colour is outside ``[0, 255]``.
    """

    names: tuple[str, ...]
    colours: np.ndarray
    fractions: np.ndarray | None = field(default=None)

    def __post_init__(self):
        colours = np.asarray(self.colours)
        if (colours.ndim != 2 or colours.shape[1] != 3 or len(colours) != len(self.names)
                or not len(colours)):
            raise ValueError(
                f"Palette needs one (R, G, B) colour per name, at least one: {len(self.names)} "
                f"names, colours of shape {colours.shape}"
            )
        if (colours < 0).any() or (colours > 255).any():
            raise ValueError(
                f"Palette colours must be RGB values in [0, 255], got {colours.tolist()}"
            )
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "colours", colours.astype(np.uint8))
        if self.fractions is not None:
            fr = np.asarray(self.fractions, dtype=np.float64)
            if fr.shape != (len(self.names),):
                raise ValueError(
                    f"Palette fractions must have shape ({len(self.names)},), got {fr.shape}"
                )
            object.__setattr__(self, "fractions", fr)

    def __len__(self) -> int:
        """Number of colours (not classes)."""
        return len(self.names)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The distinct names, in order of first appearance: the classes of the IoU."""
        return tuple(dict.fromkeys(self.names))

    @property
    def class_index(self) -> np.ndarray:
        """``(K,)`` int64: the class (index into :attr:`class_names`) of each colour."""
        lookup = {n: i for i, n in enumerate(self.class_names)}
        return np.array([lookup[n] for n in self.names], dtype=np.int64)

    @property
    def class_fractions(self) -> np.ndarray | None:
        """``(C,)`` pixel share of each class (sum over its colours), or ``None``."""
        if self.fractions is None:
            return None
        return np.bincount(self.class_index, weights=self.fractions,
                           minlength=len(self.class_names))

    def classify(self, images) -> np.ndarray:
        """Class labels ``(N, H, W)`` int64 (indices into :attr:`class_names`) of
        uint8 images ``(N, H, W, 3)``: each pixel takes the class of its nearest colour."""
        return self.class_index[nearest_colour_labels(images, self.colours)]

    def to_dict(self) -> dict:
        colours = []
        for i, (name, rgb) in enumerate(zip(self.names, self.colours, strict=False)):
            entry = {"name": name, "rgb": [int(v) for v in rgb]}
            if self.fractions is not None:
                entry["fraction"] = round(float(self.fractions[i]), 6)
            colours.append(entry)
        return {"colours": colours}

    @classmethod
    def from_dict(cls, data: dict) -> Palette:
        """Inverse of :meth:`to_dict`. Raises ``ValueError``/``KeyError``/``TypeError`` on bad
        data."""
        entries = data["colours"]
        names = tuple(c["name"] for c in entries)
        colours = np.array([c["rgb"] for c in entries], dtype=np.int64).reshape(-1, 3)
        fractions = None
        if entries and all("fraction" in c for c in entries):
            fractions = np.array([c["fraction"] for c in entries], dtype=np.float64)
        return cls(names, colours, fractions)

    def describe(self) -> str:
        """A human-readable table, one colour a line: class name, RGB, hex, pixel share."""
        lines = []
        for i, (name, rgb) in enumerate(zip(self.names, self.colours, strict=False)):
            r, g, b = (int(v) for v in rgb)
            frac = "" if self.fractions is None else f"  {100 * self.fractions[i]:5.1f} %"
            lines.append(f"{name:<12} ({r:3d}, {g:3d}, {b:3d})  #{r:02x}{g:02x}{b:02x}{frac}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------
# naming rule
# ----------------------------------------------------------------------------

def hsv(rgb) -> tuple[float, float, float]:
    """Hue in degrees [0, 360), saturation (max-min)/max in [0, 1], value max/255 in [0, 1]."""
    h, s, v = colorsys.rgb_to_hsv(*(float(c) / 255.0 for c in rgb))
    return 360.0 * h, s, v


def name_colour(rgb, *, background_value: float | None = None) -> str:
    """Name one map colour by a fixed rule on its hue ``h``, saturation ``s`` and value ``v``.

    The rule, in order (``h`` in degrees, ``s = (max - min) / max`` and
    ``v = max / 255`` in ``[0, 1]``), written for Google's map style:

    - greys (``s < 0.08``): ``v >= 0.97`` is ``"road"`` (white streets);
      otherwise it is compared with ``background_value``, the ``v`` of the most
      common grey: equal within 0.01 is ``"background"`` (land), lighter is
      ``"building"``, darker is ``"dark_grey"``. With ``background_value=None``
      every non-white grey is ``"background"``.
    - ``170 <= h < 260``: ``"water"`` (blue);
    - ``60 <= h < 170``: ``"park"`` (greens: parks, cemeteries, golf courses);
    - warm hues (``h < 60`` or ``h >= 330``):

      - ``s >= 0.6`` and ``h < 40``: ``"highway"`` (orange);
      - ``s >= 0.3``: ``"major_road"`` (yellow);
      - pale (``s < 0.3``): ``"campus"`` if ``v >= 0.88`` (the beige of
        universities and hospitals), else ``"airport"`` (the darker
        grey-beige of runways and aprons);
    - anything else: ``"other"``.

    Colours that get the same name form one class.
    """
    h, s, v = hsv(rgb)
    if s < 0.08:
        if v >= 0.97:
            return "road"
        if background_value is None or abs(v - background_value) <= 0.01:
            return "background"
        return "building" if v > background_value else "dark_grey"
    if 170 <= h < 260:
        return "water"
    if 60 <= h < 170:
        return "park"
    if h < 60 or h >= 330:
        if s >= 0.6 and h < 40:
            return "highway"
        if s >= 0.3:
            return "major_road"
        return "campus" if v >= 0.88 else "airport"
    return "other"


def name_colours(colours, fractions) -> list[str]:
    """:func:`name_colour` for every colour, the background being the most common grey."""
    colours = np.asarray(colours)
    fractions = np.asarray(fractions, dtype=np.float64)
    greys = [i for i, c in enumerate(colours) if hsv(c)[1] < 0.08 and hsv(c)[2] < 0.97]
    bg_value = hsv(colours[max(greys, key=lambda i: fractions[i])])[2] if greys else None
    return [name_colour(c, background_value=bg_value) for c in colours]


# ----------------------------------------------------------------------------
# derivation
# ----------------------------------------------------------------------------

def _map_half(path: Path, half: str, size: int) -> np.ndarray:
    try:
        with Image.open(path) as im:
            # JPEG only: decode at the smallest power-of-two scale that keeps
            # the half at least size x size (1200x600 -> 600x300): about 2x faster.
            im.draft("RGB", (size, size) if half == "full" else (2 * size, size))
            im = im.convert("RGB")
            w, h = im.size
            if half == "B":
                im = im.crop((w // 2, 0, w, h))
            elif half == "A":
                im = im.crop((0, 0, w // 2, h))
            return np.asarray(im.resize((size, size), Image.BILINEAR))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read it as an image ({e}). Fix or remove the file.") from e


def sample_pixels(
    train_folder, *, n_images: int, size: int, pixels_per_image: int, half: str, seed: int
) -> np.ndarray:
    """The ``(M, 3)`` uint8 pixel sample of step 1 of :func:`derive_map_palette`."""
    folder = Path(train_folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such folder. Point it at the maps training split "
            f"(e.g. <data root>/maps/train); fetch the data first if needed."
        )
    files = list_images(folder)
    if half not in ("A", "B", "full"):
        raise ValueError(f"half must be 'A', 'B' or 'full', got {half!r}")
    n = min(n_images, len(files))
    idx = np.unique(np.linspace(0, len(files) - 1, n).round().astype(int))
    rng = np.random.default_rng(seed)
    k = min(pixels_per_image, size * size)
    chunks = []
    for i in idx:
        px = _map_half(files[i], half, size).reshape(-1, 3)
        chunks.append(px[rng.choice(len(px), k, replace=False)])
    return np.concatenate(chunks)


def _sq_dist(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)


def _box3(a: np.ndarray) -> np.ndarray:
    """Sum of each 3 x 3 x 3 block of a cubic histogram (zero outside)."""
    n = a.shape[0]
    p = np.pad(a, 1)
    shifts = [(i, j, k) for i in (0, 1, 2) for j in (0, 1, 2) for k in (0, 1, 2)]
    return sum(p[i : i + n, j : j + n, k : k + n] for i, j, k in shifts)


def _peaks(px: np.ndarray, bin_size: int, min_separation: float, max_candidates: int) -> np.ndarray:
    """Step 2: density peaks of the smoothed colour histogram, as float RGB centres."""
    nb = -(-256 // bin_size)
    q = px.astype(np.int64) // bin_size
    flat = (q[:, 0] * nb + q[:, 1]) * nb + q[:, 2]
    count = np.bincount(flat, minlength=nb**3)
    dens = _box3(count.reshape(nb, nb, nb).astype(np.float64))
    # per-block sums of the pixel values, so a block's mean colour costs O(1)
    sums = [_box3(np.bincount(flat, weights=px[:, c], minlength=nb**3).reshape(nb, nb, nb))
            for c in range(3)]
    padded = np.pad(dens, 1, constant_values=-1.0)
    is_max = dens > 0
    for i in (0, 1, 2):
        for j in (0, 1, 2):
            for k in (0, 1, 2):
                if (i, j, k) != (1, 1, 1):
                    is_max &= dens >= padded[i : i + nb, j : j + nb, k : k + nb]
    cand = np.argwhere(is_max)
    cand = cand[np.argsort(-dens[tuple(cand.T)], kind="stable")]
    accepted: list[np.ndarray] = []
    for cb in map(tuple, cand):
        centre = np.array([s[cb] for s in sums]) / dens[cb]
        if all(np.linalg.norm(centre - p) >= min_separation for p in accepted):
            accepted.append(centre)
            if len(accepted) >= max_candidates:
                break
    return np.array(accepted)


def _refine(x: np.ndarray, centres: np.ndarray, radius: float, rounds: int) -> np.ndarray:
    """Step 3: move each centre to the mean of its nearest pixels within ``radius``."""
    centres = centres.copy()
    for _ in range(rounds):
        d = _sq_dist(x, centres)
        lab, dmin = d.argmin(1), d.min(1)
        for j in range(len(centres)):
            core = (lab == j) & (dmin < radius**2)
            if core.any():
                centres[j] = x[core].mean(axis=0)
    return centres


def derive_map_palette(
    train_folder,
    n_images: int = 400,
    size: int = 256,
    *,
    pixels_per_image: int = 1024,
    half: str = "B",
    bin_size: int = 4,
    min_separation: float = 16.0,
    radius: float = 8.0,
    min_fraction: float = 0.003,
    max_candidates: int = 12,
    seed: int = 0,
) -> Palette:
    """Find the flat colours of the training maps and name them (see the module docstring).

    Args:
        train_folder: folder of ``A|B`` pair images (e.g. ``<data root>/maps/train``).
        n_images: how many files to sample, evenly spaced in sorted order.
        size: side length the map halves are resized to before sampling.
        pixels_per_image: random pixels taken from each resized map.
        half: ``"B"`` (right half: the map in the maps set), ``"A"``, or
            ``"full"`` for single (unpaired) images.
        bin_size: histogram bin width per channel (0-255 scale).
        min_separation: minimum RGB distance between two peaks.
        radius: RGB distance that defines a colour's flat core.
        min_fraction: minimum share of all sampled pixels in a class's flat core.
        max_candidates: most peaks considered before the flatness test.
        seed: seed of the pixel sampling; the result is deterministic.

    Returns:
        A :class:`Palette`, classes sorted by decreasing pixel fraction.
        Takes about 2-3 s for the defaults on one CPU core (JPEG decoding dominates).

    Raises:
        DataError: if the folder is missing, has no images, has an unreadable
            image, or yields no flat colour at all.
    """
    px = sample_pixels(
        train_folder, n_images=n_images, size=size, pixels_per_image=pixels_per_image,
        half=half, seed=seed,
    )
    x = px.astype(np.float64)
    centres = _peaks(px, bin_size, min_separation, max_candidates)
    centres = _refine(x, centres, radius, rounds=4)
    core = _sq_dist(x, centres)
    lab, dmin = core.argmin(1), core.min(1)
    core_fraction = np.bincount(lab[dmin < radius**2], minlength=len(centres)) / len(x)
    keep = core_fraction >= min_fraction
    if not keep.any():
        raise DataError(
            f"{train_folder}: found no flat colour covering {min_fraction:.1%} of the sampled "
            f"pixels; is this a folder of maps (half={half!r})?"
        )
    centres = _refine(x, centres[keep], radius, rounds=2)
    lab = _sq_dist(x, centres).argmin(1)
    fractions = np.bincount(lab, minlength=len(centres)) / len(x)
    order = np.argsort(-fractions, kind="stable")
    centres, fractions = centres[order], fractions[order]
    colours = np.clip(np.round(centres), 0, 255).astype(np.uint8)
    return Palette(tuple(name_colours(colours, fractions)), colours, fractions)


# ----------------------------------------------------------------------------
# cache
# ----------------------------------------------------------------------------

def default_cache_file(train_folder) -> Path:
    """``<split folder>/../palette_<split>.json``, e.g. ``maps/palette_train.json`` (gitignored
    data root)."""
    folder = Path(train_folder)
    return folder.parent / f"palette_{folder.name}.json"


def load_or_derive_palette(train_folder, cache_file=None, **derive_kwargs) -> Palette:
    """Load the palette cached for ``train_folder``, or derive it and write the cache.

    The JSON cache records the derivation settings and the number of images
    in the folder; if either differs, or the file is unreadable, the palette
    is derived again and the cache rewritten. If the cache cannot be written
    (a read-only data folder), a warning is issued and the derived palette is
    returned anyway.

    Args:
        train_folder: the training split of the maps (``<data root>/maps/train``).
        cache_file: JSON path; default :func:`default_cache_file`.
        **derive_kwargs: passed to :func:`derive_map_palette`.

    Returns:
        A :class:`Palette`.

    Raises:
        DataError: as :func:`derive_map_palette`.
    """
    folder = Path(train_folder)
    cache = Path(cache_file) if cache_file is not None else default_cache_file(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder. Point it at the maps training split.")
    settings = {k: derive_kwargs[k] for k in sorted(derive_kwargs)}
    n_files = len(list_images(folder))
    if cache.is_file():
        try:
            data = json.loads(cache.read_text())
            if (
                data.get("format") == PALETTE_FORMAT
                and data.get("settings") == settings
                and data.get("n_files") == n_files
            ):
                return Palette.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError) as e:
            warnings.warn(f"ignoring unreadable palette cache {cache} ({e}); deriving again",
                          stacklevel=2)
    palette = derive_map_palette(folder, **derive_kwargs)
    data = {
        "format": PALETTE_FORMAT,
        "source": str(folder),
        "n_files": n_files,
        "settings": settings,
        "note": "Derived from the training maps by course_utils.evaluation.palette; do not commit.",
        **palette.to_dict(),
    }
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(cache.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(cache)
    except OSError as e:
        warnings.warn(f"could not write the palette cache {cache} ({e}); using it uncached",
                      stacklevel=2)
    return palette


def maps_palette(root=None) -> Palette:
    """The palette of the fetched maps training split, derived once and cached in
    :func:`~course_utils.paths.cache_dir`.

    Raises:
        DataError: if the maps data set has not been fetched.
    """
    from course_utils.data.datasets import dataset_folder
    from course_utils.paths import cache_dir

    train_dir = dataset_folder("maps", "train", root)
    return load_or_derive_palette(train_dir, cache_dir() / "maps_palette.json")


# ----------------------------------------------------------------------------
# facades: the CMP classes
# ----------------------------------------------------------------------------

FACADES_CLASSES = ("background", "facade", "window", "door", "cornice", "sill", "balcony", "blind",
                   "deco", "molding", "pillar", "shop")
"""The 12 classes of the CMP Facade Database in its label order 1-12 (Tyleček and Šára, GCPR
2013)."""

FACADES_COLOURS = ((0, 0, 222), (1, 48, 254), (2, 127, 254), (2, 207, 255), (33, 254, 225),
                   (112, 254, 144), (192, 254, 64), (254, 240, 3), (254, 159, 2), (254, 80, 1),
                   (251, 1, 2), (174, 0, 1))
"""RGB colour of each class of :data:`FACADES_CLASSES` in the pix2pix release's label maps (the
right halves).

The release draws label ``k`` (1-12) with one flat colour along a blue-to-red
ramp (dark blue background, blue facade, light blue windows, ... dark red
shops). The values were measured on the course's copy of the 400 training
maps with :func:`derive_map_palette` (``half="B"``, ``radius=8``,
``min_fraction=0.004``, ``max_candidates=24``; about 1.5 minutes), which finds
these twelve flat colours plus one blend of the two oranges, (242, 82, 20),
left out here; they take the CMP names in ramp
order. Checks on the data (``tests/test_spade.py``, when the data is fetched):
every class occurs in the training split, doors and shops lie in the lower
part of the images, and 95 % of the label pixels are within RGB distance 100
of a class colour; the rest are JPEG blends at region borders, which snap to
the nearest class.
"""

LABEL_FAR_DISTANCE = 100.0
"""RGB distance (0-255 scale) beyond which a label-map pixel counts as far from every class
colour."""
LABEL_MAX_FAR_FRACTION = 0.3
"""Largest share of far pixels a label map may have. On the course's facades (train, val, test) the
worst map has 14 % (JPEG blends at borders; 5 % on average), a facade *photo* at least 65 %."""


def facades_palette() -> Palette:
    """The CMP facade classes and their label-map colours (:data:`FACADES_CLASSES`,
    :data:`FACADES_COLOURS`).

    One colour per class, so class indices ``0..11`` are CMP labels ``1..12``.
    """
    return Palette(FACADES_CLASSES, np.array(FACADES_COLOURS))


def snap_label_map(images, palette: Palette | None = None, *,
                   far_distance: float = LABEL_FAR_DISTANCE,
                   max_far_fraction: float = LABEL_MAX_FAR_FRACTION,
                   what: str = "label map") -> np.ndarray:
    """Snap the pixels of JPEG label maps to the nearest class colour: class indices ``(N, H, W)``
    int64.

    JPEG compression bleeds the flat label colours into each other at region
    borders; each pixel takes the class of the nearest palette colour
    (squared RGB distance, :func:`~course_utils.evaluation.metrics.nearest_colour_labels`).

    Args:
        images: ``(N, H, W, 3)`` or ``(H, W, 3)`` uint8 RGB label maps (0-255).
        palette: default :func:`facades_palette`.
        far_distance, max_far_fraction: a map with more than ``max_far_fraction``
            of its pixels farther than ``far_distance`` from every colour is refused.

    Raises:
        DataError: naming ``what`` and the image index, when a map is mostly far
            from the palette (a photo passed as labels, or labels of another data set).
    """
    palette = palette if palette is not None else facades_palette()
    arr = np.asarray(images)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise DataError(f"{what}: expected uint8 RGB images of shape (N, H, W, 3), "
                        f"got {arr.dtype} {arr.shape}")
    labels = np.empty(arr.shape[:3], dtype=np.int64)
    centres = palette.colours.astype(np.int32)
    for i, im in enumerate(arr):
        d = ((im.astype(np.int32)[:, :, None, :] - centres[None, None]) ** 2).sum(-1)
        far = float((d.min(-1) > far_distance**2).mean())
        if far > max_far_fraction:
            raise DataError(
                f"{what} {i}: {far:.0%} of its pixels are farther than RGB distance "
                f"{far_distance:.0f} from every class colour (at most {max_far_fraction:.0%} "
                f"allowed); it does not look like a CMP facade label map. Pass the label half "
                f"(BtoA: the right half of a facades file), drawn with the colours of "
                f"course_utils.evaluation.palette.FACADES_COLOURS."
            )
        labels[i] = palette.class_index[d.argmin(-1)]
    return labels[0] if single else labels


def labels_to_rgb(labels, palette: Palette | None = None) -> np.ndarray:
    """Class indices ``(..., H, W)`` -> uint8 RGB ``(..., H, W, 3)`` in the palette's colours
    (first colour of each class)."""
    palette = palette if palette is not None else facades_palette()
    labels = np.asarray(labels)
    first = np.array([palette.colours[list(palette.class_index).index(c)]
                      for c in range(len(palette.class_names))])
    if labels.size and (labels.min() < 0 or labels.max() >= len(first)):
        raise ValueError(
            f"labels must be in [0, {len(first)}), got [{labels.min()}, {labels.max()}]"
        )
    return first[labels].astype(np.uint8)
