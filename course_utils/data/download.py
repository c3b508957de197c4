"""Fetch the course data sets and check every file against a committed manifest.

Three data sets are known (see ``data/README.md`` for sources, terms and citations):

==========  =====================================================  ==========================
name        content                                                files (manifest)
==========  =====================================================  ==========================
maps        aerial photo | map tile pairs, 1200 x 600 JPEG          train 1096, val 1098
facades     facade photo | label map pairs, 512 x 256 JPEG          train 400, val 100, test 106
isbi2012    ISBI 2012 EM stacks, 30 x 512 x 512 uint8 TIFF          3 stacks
==========  =====================================================  ==========================

Files land in ``ROOT/NAME/<manifest path>``, for example ``data/maps/train/1.jpg``;
``ROOT`` defaults to :func:`course_utils.paths.data_root`. They come from one of:

* a **mirror**: a local folder laid out like the data root (``MIRROR/maps/train/1.jpg``).
  Pass ``mirror=`` or set ``$PIX2PIX_DATA_MIRROR``. Files are copied, not linked.
* the **original servers** otherwise. The pix2pix sets are one ``NAME.tar.gz`` each on
  the pix2pix authors' server; the ISBI 2012 stacks are three ``.tif`` files on the
  challenge site. Archives are downloaded with :mod:`pooch` and kept in
  ``ROOT/cache/downloads`` so that a later run does not download them again.
  ``base_url=`` (or ``$PIX2PIX_DATA_URL``) replaces the server prefix, e.g. for a
  local web server.

Every file is checked with SHA-256 against ``data/manifests/NAME.sha256``. For
``isbi2012`` a file is also accepted when its MD5 equals the sum of the original
challenge file (``isbi2012.original.md5``): the course mirror holds rebuilt,
pixel-identical stacks whose bytes differ from the challenge server's files, so
both versions are valid. A mismatch stops the fetch with a :class:`ChecksumError`.

A source may hold only part of a split (the course mirror has 366 of the 1098 maps
val files). That is not an error: the files that exist are copied and checked, and
the :class:`FetchReport` counts the missing ones per split.

Running a fetch again is cheap: files already in place are only re-hashed (about
0.2 s for the 160 MB of maps on the course machine), nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm.auto import tqdm

from course_utils.errors import ChecksumError, DataError
from course_utils.paths import data_root, manifests_dir

MIRROR_ENV = "PIX2PIX_DATA_MIRROR"
URL_ENV = "PIX2PIX_DATA_URL"
MANIFESTS_ENV = "PIX2PIX_MANIFESTS_DIR"

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
# The challenge page links the stacks under this prefix (the same prefix is used by
# torchvision's ``SSTEM`` data set and by many U-Net tutorials). The site asks for a
# registration and has been unreliable for years, so the course mirror is the
# recommended source; a real copy from the site is accepted through its MD5 sum.
ISBI_URL = "http://brainiac2.mit.edu/isbi_challenge/sites/default/files"

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DatasetSource:
    """Where one data set comes from and how its files are checked.

    Attributes:
        name: folder name under the data root, e.g. ``"maps"``.
        title: one-line description.
        base_url: default server prefix; ``files`` are fetched from ``base_url/FILE``.
        files: file names on the server.
        archive: True when ``files`` are ``.tar.gz`` archives whose members
            (``NAME/SPLIT/FILE``) are extracted; False when they are the data files.
        manifest: SHA-256 manifest (``sha256sum`` format) in the manifests folder.
        alt_md5: optional MD5 manifest; a file matching either manifest is accepted.
    """

    name: str
    title: str
    base_url: str
    files: tuple[str, ...]
    archive: bool
    manifest: str
    alt_md5: str | None = None


DATASETS: dict[str, DatasetSource] = {
    "maps": DatasetSource(
        "maps",
        "Google Maps aerial photo | map pairs (pix2pix release)",
        PIX2PIX_URL,
        ("maps.tar.gz",),
        archive=True,
        manifest="maps.sha256",
    ),
    "facades": DatasetSource(
        "facades",
        "CMP Facade Database photo | label pairs (pix2pix release)",
        PIX2PIX_URL,
        ("facades.tar.gz",),
        archive=True,
        manifest="facades.sha256",
    ),
    "isbi2012": DatasetSource(
        "isbi2012",
        "ISBI 2012 EM segmentation stacks (U-Net exercise)",
        ISBI_URL,
        ("train-volume.tif", "train-labels.tif", "test-volume.tif"),
        archive=False,
        manifest="isbi2012.sha256",
        alt_md5="isbi2012.original.md5",
    ),
}


@dataclass(frozen=True)
class _Expected:
    sha256: str
    md5: str | None = None

    def accepts(self, sha256: str, md5: str | None) -> bool:
        return sha256 == self.sha256 or (self.md5 is not None and md5 == self.md5)

    def describe(self) -> str:
        text = f"sha256 {self.sha256}"
        return text + (f" (or md5 {self.md5})" if self.md5 else "")


@dataclass
class FetchReport:
    """What one fetch did.

    Attributes:
        name: data set name.
        folder: the data set folder, ``ROOT/NAME``.
        expected: number of manifest files per split (``{"train": 1096, "val": 1098}``).
        verified: files in ``folder`` that match the manifest after this run
            (already present ones plus new ones).
        copied: files added by this run (copied from the mirror, extracted from the
            archive, or downloaded).
        missing: per split, manifest files that are still absent (splits with none
            are left out). A source that holds part of a split is not an error.
        source: where new files came from (mirror folder or URL); ``""`` if none was needed.
    """

    name: str
    folder: Path
    expected: dict[str, int]
    verified: int = 0
    copied: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def total_expected(self) -> int:
        return sum(self.expected.values())

    @property
    def total_missing(self) -> int:
        return sum(self.missing.values())

    @property
    def complete(self) -> bool:
        """True when every manifest file is present and verified."""
        return self.total_missing == 0

    def __str__(self) -> str:
        text = (f"{self.name}: {self.verified} of {self.total_expected} files verified "
                f"in {self.folder}")
        if self.copied:
            text += f" ({self.copied} new from {self.source})"
        else:
            text += " (nothing new)"
        if self.missing:
            parts = [f"{split} {n} of {self.expected[split]}" for split, n in self.missing.items()]
            text += "; missing: " + ", ".join(parts)
        return text


# --------------------------------------------------------------------------- helpers


def _source(name: str) -> DatasetSource:
    try:
        return DATASETS[name]
    except KeyError:
        valid = ", ".join(DATASETS)
        raise DataError(f"unknown data set {name!r}; valid names: {valid}") from None


def _split_of(rel: str) -> str:
    """``train/1.jpg`` -> ``train``; a top-level file is its own split (``train-volume``)."""
    head, _, tail = rel.partition("/")
    return head if tail else PurePosixPath(rel).stem


def _safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and "\\" not in rel and not p.is_absolute() and ".." not in p.parts


def _read_sums(path: Path, digest_len: int) -> dict[str, str]:
    """Parse a ``sha256sum``/``md5sum`` file into ``{relative path: hex digest}``."""
    if not path.is_file():
        raise DataError(
            f"manifest {path} not found; it ships with the course repository (data/manifests/)"
        )
    sums: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rel = line.partition(" ")
        rel = rel.lstrip(" *")
        ok_digest = len(digest) == digest_len and all(
            c in "0123456789abcdef" for c in digest.lower()
        )
        if not ok_digest or not _safe_rel(rel):
            raise DataError(
                f"{path}, line {lineno}: expected '<hex digest>  <relative path>', got {line!r}"
            )
        sums[rel] = digest.lower()
    return sums


def load_manifest(name: str, manifests: str | os.PathLike | None = None) -> dict[str, _Expected]:
    """The expected hashes of data set ``name``: ``{relative path: expected}``, in manifest order.

    ``manifests`` is the folder holding ``NAME.sha256`` (default ``$PIX2PIX_MANIFESTS_DIR``
    or the repository's ``data/manifests``). Raises DataError for an unknown name or a
    missing or malformed manifest.
    """
    source = _source(name)
    folder = Path(manifests or os.environ.get(MANIFESTS_ENV) or manifests_dir())
    sha = _read_sums(folder / source.manifest, 64)
    md5 = _read_sums(folder / source.alt_md5, 32) if source.alt_md5 else {}
    return {rel: _Expected(digest, md5.get(rel)) for rel, digest in sha.items()}


def _hash_stream(src: BinaryIO, dst: BinaryIO | None, want_md5: bool) -> tuple[str, str | None]:
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    while chunk := src.read(_CHUNK):
        sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        if dst is not None:
            dst.write(chunk)
    return sha.hexdigest(), (md5.hexdigest() if md5 is not None else None)


def _mismatch(what: str, rel: str, name: str, exp: _Expected, sha: str, md5: str | None, fix: str):
    actual = f"sha256 {sha}" + (f", md5 {md5}" if md5 else "")
    return ChecksumError(
        f"checksum mismatch: {what} (manifest entry {name}/{rel})\n"
        f"  expected {exp.describe()}\n"
        f"  actual   {actual}\n"
        f"Fix: {fix}"
    )


def _verify_file(path: Path, rel: str, name: str, exp: _Expected) -> None:
    with open(path, "rb") as f:
        sha, md5 = _hash_stream(f, None, exp.md5 is not None)
    if not exp.accepts(sha, md5):
        fix = f"delete {path} and run `pix2pix data fetch {name}` again."
        raise _mismatch(str(path), rel, name, exp, sha, md5, fix)


def _install(src: BinaryIO, dest: Path, rel: str, name: str, exp: _Expected, what: str, fix: str):
    """Copy ``src`` to ``dest`` while hashing it; only a verified file is put in place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with open(part, "wb") as out:
            sha, md5 = _hash_stream(src, out, exp.md5 is not None)
        if not exp.accepts(sha, md5):
            raise _mismatch(what, rel, name, exp, sha, md5, fix)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _bar(iterable: Iterable | None, total: int, desc: str, progress: bool):
    return tqdm(iterable, total=total, desc=desc, unit="file", disable=not progress or total == 0)


def _retrieve(url: str, fname: str, cache: Path, progress: bool) -> Path:
    """Download ``url`` to ``cache/fname`` with pooch, unless it is already there."""
    import pooch
    import requests

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch would print the archive hash (unknown here) at INFO
    try:
        return Path(pooch.retrieve(url, known_hash=None, fname=fname, path=cache,
                                   progressbar=progress))
    except (requests.RequestException, OSError) as err:
        raise DataError(
            f"could not download {url}: {err}\n"
            f"Check the network, or fetch from a local copy: "
            f"`pix2pix data fetch NAME --mirror DIR` (or set ${MIRROR_ENV})."
        ) from err
    finally:
        logger.setLevel(level)


def _by_hand(source: DatasetSource, base: str, folder: Path, url: str,
             err: BaseException | None) -> str:
    """One line: what to do when a single-file data set (ISBI 2012) cannot be downloaded."""
    names = ", ".join(source.files)
    reason = " ".join(str(err).split()) if err is not None else "no answer"
    return (
        f"could not download {url} ({reason}). Instead, download {names} by hand from {base}/ "
        f"(or copy them from a course mirror) into {folder}/ and run "
        f"`pix2pix data fetch {source.name}` again to check them, or run "
        f"`pix2pix data fetch {source.name} --mirror DIR` with the files in "
        f"DIR/{source.name}/ (or set ${MIRROR_ENV}). Only notebook 1 (U-Net) needs {source.name}."
    )


def _archive_rel(member: str, name: str) -> str | None:
    """``maps/train/1.jpg`` (or ``./maps/train/1.jpg``) -> ``train/1.jpg``; None if unsafe."""
    parts = [p for p in PurePosixPath(member).parts if p not in (".", "")]
    if member.startswith("/") or ".." in parts:
        return None
    if parts and parts[0] == name:
        parts = parts[1:]
    return "/".join(parts) or None


# --------------------------------------------------------------------------- public API


def verify_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    progress: bool = True,
    manifests: str | os.PathLike | None = None,
) -> FetchReport:
    """Check the files of ``name`` already under ``root`` against the manifest; fetch nothing.

    Returns a :class:`FetchReport` (``copied == 0``). Raises ChecksumError on the first
    file whose hash does not match, DataError for an unknown name.
    """
    source = _source(name)
    expected = load_manifest(name, manifests)
    folder = Path(root if root is not None else data_root()) / source.name
    present = [rel for rel in expected if (folder / rel).is_file()]
    for rel in _bar(present, len(present), f"{name}: verify", progress):
        _verify_file(folder / rel, rel, name, expected[rel])
    report = FetchReport(name, folder, dict(Counter(_split_of(r) for r in expected)))
    report.verified = len(present)
    present_set = set(present)
    report.missing = dict(Counter(_split_of(r) for r in expected if r not in present_set))
    return report


def fetch_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    base_url: str | None = None,
    progress: bool = True,
    manifests: str | os.PathLike | None = None,
) -> FetchReport:
    """Fetch data set ``name`` into ``root/name`` and verify every file.

    Args:
        name: ``"maps"``, ``"facades"`` or ``"isbi2012"`` (keys of :data:`DATASETS`).
        root: data root; default :func:`course_utils.paths.data_root`.
        mirror: local folder laid out like the data root (``mirror/NAME/...``); default
            ``$PIX2PIX_DATA_MIRROR``. When given, nothing is downloaded.
        base_url: replaces the server prefix (default ``$PIX2PIX_DATA_URL``, else the
            original server of the data set); files are fetched from ``base_url/FILE``.
        progress: show tqdm progress bars.
        manifests: folder of the manifests (for tests); default ``$PIX2PIX_MANIFESTS_DIR``
            or ``data/manifests`` of the repository.

    Files already present are verified and kept; only absent ones are fetched. A
    source lacking some manifest files is not an error: see ``FetchReport.missing``.

    Returns:
        A :class:`FetchReport`; ``str(report)`` is a one-line summary.

    Raises:
        DataError: unknown name, mirror folder missing, download failed, damaged archive.
        ChecksumError: a file (present, copied or downloaded) does not match its
            manifest hash; the message names it, both hashes and the fix.
    """
    source = _source(name)
    root = Path(root if root is not None else data_root())
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    mirror_dir: Path | None = None
    if mirror is not None:
        mirror_dir = Path(mirror).expanduser()
        if not mirror_dir.is_dir():
            raise DataError(
                f"mirror folder {mirror_dir} does not exist (from --mirror or ${MIRROR_ENV})"
            )
        if not (mirror_dir / source.name).is_dir():
            raise DataError(
                f"mirror folder {mirror_dir} has no {source.name}/ folder; a mirror is laid out "
                f"like the data root: {mirror_dir / source.name}/..."
            )

    report = verify_dataset(name, root, progress, manifests)
    if not report.missing:
        return report
    expected = load_manifest(name, manifests)
    folder = report.folder
    absent = [rel for rel in expected if not (folder / rel).is_file()]

    if mirror_dir is not None:
        src_dir = mirror_dir / source.name
        report.source = str(mirror_dir)
        available = [rel for rel in absent if (src_dir / rel).is_file()]
        for rel in _bar(available, len(available), f"{name}: copy", progress):
            src = src_dir / rel
            fix = (
                f"the mirror's copy {src} is damaged: replace it in the mirror, "
                f"or fetch without --mirror to download the original."
            )
            with open(src, "rb") as f:
                _install(f, folder / rel, rel, name, expected[rel], str(src), fix)
            report.copied += 1
    else:
        base = (base_url or os.environ.get(URL_ENV) or source.base_url).rstrip("/")
        cache = root / "cache" / "downloads"
        report.source = base
        if source.archive:
            report.copied = _fetch_archives(source, base, cache, folder, expected, absent, progress)
        else:
            for fname in source.files:
                if fname not in absent:
                    continue
                try:
                    local = _retrieve(f"{base}/{fname}", fname, cache, progress)
                except DataError as err:
                    raise DataError(_by_hand(source, base, folder, f"{base}/{fname}",
                                             err.__cause__)) from err
                fix = (
                    f"delete {local} and run `pix2pix data fetch {name}` again; if it fails "
                    f"again, the server's file differs from the course's: use --mirror DIR."
                )
                with open(local, "rb") as f:
                    _install(f, folder / fname, fname, name, expected[fname],
                             f"downloaded {local}", fix)
                local.unlink()
                report.copied += 1

    still = [rel for rel in expected if not (folder / rel).is_file()]
    report.verified = len(expected) - len(still)
    report.missing = dict(Counter(_split_of(r) for r in still))
    return report


def _fetch_archives(source, base, cache, folder, expected, absent, progress) -> int:
    wanted = set(absent)
    added = 0
    for fname in source.files:
        if not wanted:
            break
        archive = _retrieve(f"{base}/{fname}", fname, cache, progress)
        damaged = (
            f"archive {archive} is damaged or not a tar.gz; delete it and run "
            f"`pix2pix data fetch {source.name}` again."
        )
        bar = _bar(None, len(wanted), f"{source.name}: extract", progress)
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    rel = _archive_rel(member.name, source.name)
                    # Only regular files named in the manifest are written, and only to
                    # folder/<manifest path>: links, ``..`` and absolute names are skipped.
                    if rel is None or rel not in wanted or not member.isfile():
                        continue
                    f = tar.extractfile(member)
                    fix = f"delete {archive} and run `pix2pix data fetch {source.name}` again."
                    what = f"{member.name} in {archive}"
                    _install(f, folder / rel, rel, source.name, expected[rel], what, fix)
                    wanted.discard(rel)
                    added += 1
                    bar.update()
                    if not wanted:
                        break
        except (tarfile.TarError, EOFError, zlib.error) as err:
            raise DataError(f"{damaged} ({err})") from err
        finally:
            bar.close()
    return added


def fetch_datasets(
    names: Iterable[str],
    root: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    base_url: str | None = None,
    progress: bool = True,
    manifests: str | os.PathLike | None = None,
) -> list[FetchReport]:
    """Fetch several data sets (see :func:`fetch_dataset`); every name is checked first.

    Duplicate names are fetched once. Raises DataError before fetching anything if a
    name is unknown.
    """
    names = list(dict.fromkeys(names))
    for name in names:
        _source(name)
    return [fetch_dataset(n, root, mirror, base_url, progress, manifests) for n in names]


def remove_download_cache(root: str | os.PathLike | None = None) -> None:
    """Delete the downloaded archives in ``ROOT/cache/downloads`` (the extracted files stay)."""
    shutil.rmtree(Path(root if root is not None else data_root()) / "cache" / "downloads",
                  ignore_errors=True)
