"""course_utils.data.download: real downloads from a local HTTP server, mirrors, checksums."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils.data import download
from course_utils.data.download import DATASETS, fetch_dataset, fetch_datasets
from course_utils.errors import ChecksumError, DataError

SHARED = Path("/work/shared/data")


def jpeg_pair(seed: int, h: int = 8) -> bytes:
    """A tiny 2h x h A|B JPEG, different for every seed."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, 2 * h, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, files: dict[str, bytes], digest=sha256) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{digest(data)}  {rel}\n" for rel, data in files.items()))


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# Manifest: 2 train + 3 val files. The archive holds all train files and 2 of the 3 val
# files (val/3.jpg only as a symlink, which must not be followed).
FILES = {
    f"{split}/{i}.jpg": jpeg_pair(10 * s + i)
    for s, split in enumerate(["train", "val"])
    for i in (1, 2, 3)
}
del FILES["train/3.jpg"]


@pytest.fixture
def manifests(tmp_path):
    folder = tmp_path / "manifests"
    write_manifest(folder / "maps.sha256", FILES)
    return folder


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (base_url, www, request log)."""
    www = tmp_path / "www"
    www.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(www))
    )
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", www, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def maps_archive(server):
    """maps.tar.gz on the server: FILES minus val/3.jpg, plus junk that must not land anywhere."""
    base, www, requests = server
    with tarfile.open(www / "maps.tar.gz", "w:gz") as tar:
        for rel, data in FILES.items():
            if rel != "val/3.jpg":
                add_member(tar, f"maps/{rel}", data)
        add_member(tar, "maps/README.txt", b"not in the manifest")
        add_member(tar, "../escaped.txt", b"path traversal")
        add_member(tar, "maps/../../escaped2.txt", b"path traversal")
        link = tarfile.TarInfo("maps/val/3.jpg")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    return base, requests


def test_fetch_downloads_extracts_and_verifies(tmp_path, manifests, maps_archive):
    base, requests = maps_archive
    root = tmp_path / "root"
    report = fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)

    assert requests == ["/maps.tar.gz"]
    assert (report.verified, report.copied) == (4, 4)
    assert report.expected == {"train": 2, "val": 3}
    assert report.missing == {"val": 1} and not report.complete
    for rel, data in FILES.items():
        target = root / "maps" / rel
        if rel == "val/3.jpg":
            assert not target.exists() and not target.is_symlink()
        else:
            assert target.read_bytes() == data
    assert "4 of 5 files verified" in str(report) and "val 1 of 3" in str(report)
    # Only manifest files were written: no README, nothing outside root/maps.
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert [w for w in written if not w.startswith("cache/")] == sorted(
        f"maps/{r}" for r in FILES if r != "val/3.jpg"
    )
    assert not list(tmp_path.rglob("escaped*"))


def test_second_run_only_verifies(tmp_path, manifests, maps_archive):
    base, requests = maps_archive
    root = tmp_path / "root"
    fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    stamp = {p: p.stat().st_mtime_ns for p in (root / "maps").rglob("*.jpg")}

    again = fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    assert requests == ["/maps.tar.gz"]  # no second request: the archive is cached
    assert (again.verified, again.copied, again.missing) == (4, 0, {"val": 1})
    assert {p: p.stat().st_mtime_ns for p in (root / "maps").rglob("*.jpg")} == stamp

    # Once the cache is gone and the folder is complete, nothing is even looked up.
    download.remove_download_cache(root)
    (root / "maps" / "val" / "3.jpg").write_bytes(FILES["val/3.jpg"])
    full = fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    assert requests == ["/maps.tar.gz"] and full.complete and full.verified == 5
    assert "nothing new" in str(full)


def test_corrupted_local_file_raises_checksum_error(tmp_path, manifests, maps_archive):
    base, _ = maps_archive
    root = tmp_path / "root"
    fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    bad = root / "maps" / "train" / "2.jpg"
    bad.write_bytes(b"flipped bits")

    with pytest.raises(ChecksumError) as info:
        fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    msg = str(info.value)
    assert str(bad) in msg
    assert sha256(FILES["train/2.jpg"]) in msg and sha256(b"flipped bits") in msg
    assert "delete" in msg and "pix2pix data fetch maps" in msg


def test_corrupted_archive_member_is_not_installed(tmp_path, server):
    base, www, _ = server
    files = {"train/1.jpg": jpeg_pair(1), "train/2.jpg": jpeg_pair(2)}
    write_manifest(tmp_path / "m" / "maps.sha256", files)
    with tarfile.open(www / "maps.tar.gz", "w:gz") as tar:
        add_member(tar, "maps/train/1.jpg", files["train/1.jpg"])
        add_member(tar, "maps/train/2.jpg", b"damaged in transit")
    root = tmp_path / "root"

    with pytest.raises(ChecksumError) as info:
        fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=tmp_path / "m")
    msg = str(info.value)
    assert (
        "maps/train/2.jpg" in msg and "maps.tar.gz" in msg and sha256(b"damaged in transit") in msg
    )
    assert not (root / "maps" / "train" / "2.jpg").exists()
    assert not list((root / "maps").rglob("*.part"))


def test_mirror_with_part_of_a_split(tmp_path, manifests, server, monkeypatch):
    base, _, requests = server
    mirror = tmp_path / "mirror"
    for rel in ["train/1.jpg", "train/2.jpg", "val/1.jpg"]:
        (mirror / "maps" / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / "maps" / rel).write_bytes(FILES[rel])
    monkeypatch.setenv(download.MIRROR_ENV, str(mirror))  # picked up when mirror=None
    root = tmp_path / "root"

    report = fetch_dataset("maps", root=root, base_url=base, progress=False, manifests=manifests)
    assert (report.verified, report.copied, report.missing) == (3, 3, {"val": 2})
    assert report.source == str(mirror) and requests == []
    copied = root / "maps" / "val" / "1.jpg"
    assert copied.read_bytes() == FILES["val/1.jpg"] and not copied.is_symlink()
    assert "missing: val 2 of 3" in str(report)


def test_damaged_mirror_file_names_the_mirror_copy(tmp_path, manifests):
    mirror = tmp_path / "mirror"
    (mirror / "maps" / "train").mkdir(parents=True)
    (mirror / "maps" / "train" / "1.jpg").write_bytes(b"junk")
    with pytest.raises(ChecksumError, match="mirror") as info:
        fetch_dataset(
            "maps", root=tmp_path / "root", mirror=mirror, progress=False, manifests=manifests
        )
    assert str(mirror / "maps" / "train" / "1.jpg") in str(info.value)
    assert not (tmp_path / "root" / "maps" / "train" / "1.jpg").exists()


def test_missing_mirror_folder(tmp_path, manifests):
    with pytest.raises(DataError, match="does not exist") as info:
        fetch_dataset(
            "maps", root=tmp_path, mirror=tmp_path / "nowhere", progress=False, manifests=manifests
        )
    assert str(tmp_path / "nowhere") in str(info.value)
    (tmp_path / "empty_mirror").mkdir()
    with pytest.raises(DataError, match="has no maps/ folder"):
        fetch_dataset(
            "maps",
            root=tmp_path,
            mirror=tmp_path / "empty_mirror",
            progress=False,
            manifests=manifests,
        )


ISBI_REBUILT = {n: f"rebuilt {n}".encode() for n in DATASETS["isbi2012"].files}
ISBI_ORIGINAL = {n: f"original {n}".encode() for n in DATASETS["isbi2012"].files}


@pytest.fixture
def isbi_manifests(tmp_path):
    folder = tmp_path / "isbi_manifests"
    write_manifest(folder / "isbi2012.sha256", ISBI_REBUILT)
    write_manifest(
        folder / "isbi2012.original.md5", ISBI_ORIGINAL, lambda d: hashlib.md5(d).hexdigest()
    )
    return folder


def test_isbi_accepts_rebuilt_sha256_or_original_md5(tmp_path, isbi_manifests):
    mirror = tmp_path / "mirror"
    (mirror / "isbi2012").mkdir(parents=True)
    (mirror / "isbi2012" / "train-volume.tif").write_bytes(ISBI_REBUILT["train-volume.tif"])
    (mirror / "isbi2012" / "train-labels.tif").write_bytes(ISBI_ORIGINAL["train-labels.tif"])
    (mirror / "isbi2012" / "test-volume.tif").write_bytes(b"neither")
    root = tmp_path / "root"

    with pytest.raises(ChecksumError) as info:
        fetch_dataset(
            "isbi2012", root=root, mirror=mirror, progress=False, manifests=isbi_manifests
        )
    msg = str(info.value)
    assert (
        "test-volume.tif" in msg
        and hashlib.md5(ISBI_ORIGINAL["test-volume.tif"]).hexdigest() in msg
    )

    (mirror / "isbi2012" / "test-volume.tif").write_bytes(ISBI_ORIGINAL["test-volume.tif"])
    report = fetch_dataset(
        "isbi2012", root=root, mirror=mirror, progress=False, manifests=isbi_manifests
    )
    assert report.complete and report.verified == 3
    assert (root / "isbi2012" / "train-labels.tif").read_bytes() == ISBI_ORIGINAL[
        "train-labels.tif"
    ]


def test_isbi_downloads_single_files(tmp_path, isbi_manifests, server, monkeypatch):
    base, www, requests = server
    for name in ISBI_REBUILT:
        (www / name).write_bytes(ISBI_ORIGINAL[name])
    monkeypatch.setenv(download.URL_ENV, base)  # base_url from the environment
    root = tmp_path / "root"
    report = fetch_dataset("isbi2012", root=root, progress=False, manifests=isbi_manifests)
    assert sorted(requests) == sorted(f"/{n}" for n in ISBI_REBUILT)
    assert report.complete and report.copied == 3
    assert report.expected == {"train-volume": 1, "train-labels": 1, "test-volume": 1}
    assert not list(
        (root / "cache" / "downloads").glob("*.tif")
    )  # moved into place, not kept twice


def test_download_errors_are_data_errors(tmp_path, manifests, server):
    base, www, _ = server
    with pytest.raises(DataError, match="could not download") as info:  # 404
        fetch_dataset(
            "maps", root=tmp_path / "a", base_url=base, progress=False, manifests=manifests
        )
    assert f"{base}/maps.tar.gz" in str(info.value) and "--mirror" in str(info.value)

    (www / "maps.tar.gz").write_bytes(b"<html>login required</html>")
    with pytest.raises(DataError, match="damaged or not a tar.gz") as info:
        fetch_dataset(
            "maps", root=tmp_path / "b", base_url=base, progress=False, manifests=manifests
        )
    assert "maps.tar.gz" in str(info.value)


def test_unknown_name_lists_valid_names(tmp_path):
    with pytest.raises(DataError) as info:
        fetch_datasets(["facades", "mapz"], root=tmp_path, mirror=tmp_path, progress=False)
    msg = str(info.value)
    assert "'mapz'" in msg and all(name in msg for name in ("maps", "facades", "isbi2012"))
    assert list(tmp_path.iterdir()) == []  # nothing fetched before the name check


def test_manifests_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(download.MANIFESTS_ENV, str(tmp_path))
    with pytest.raises(DataError, match="maps.sha256"):
        download.load_manifest("maps")


@pytest.mark.skipif(
    not (SHARED / "facades").is_dir(), reason=f"real data mirror {SHARED} not available"
)
def test_real_mirror_facades(tmp_path):
    root = tmp_path / "root"
    report = fetch_dataset("facades", root=root, mirror=SHARED, progress=False)
    assert report.expected == {"test": 106, "train": 400, "val": 100}
    assert (report.verified, report.copied, report.missing) == (606, 606, {})
    again = fetch_dataset("facades", root=root, mirror=SHARED, progress=False)
    assert (again.verified, again.copied) == (606, 0)
    assert os.path.getsize(root / "facades" / "train" / "1.jpg") == os.path.getsize(
        SHARED / "facades" / "train" / "1.jpg"
    )


def test_isbi_server_down_says_what_to_do_instead(tmp_path, isbi_manifests, monkeypatch):
    """The network call fails: the error is one line naming the files, the folder, --mirror and
    notebook 1."""
    import pooch
    import requests

    def unreachable(url, **kwargs):
        raise requests.ConnectionError(
            f"Max retries exceeded with url: {url}\n(connection refused)"
        )

    monkeypatch.setattr(pooch, "retrieve", unreachable)
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    monkeypatch.delenv(download.URL_ENV, raising=False)
    root = tmp_path / "root"
    with pytest.raises(DataError) as info:
        fetch_dataset("isbi2012", root=root, progress=False, manifests=isbi_manifests)
    msg = str(info.value)
    assert "\n" not in msg
    assert f"{download.ISBI_URL}/train-volume.tif" in msg
    assert "train-volume.tif, train-labels.tif, test-volume.tif" in msg
    assert str(root / "isbi2012") in msg and "--mirror DIR" in msg and download.MIRROR_ENV in msg
    assert "Only notebook 1 (U-Net) needs isbi2012" in msg
    assert isinstance(info.value.__cause__, DataError)
