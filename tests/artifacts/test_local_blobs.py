"""The local blob store: content addressing, deduplication, atomic and streamed writes."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest

from shipyard.artifacts import open_blob_store
from shipyard.artifacts.local import LocalBlobStore
from shipyard.artifacts.paths import artifact_path
from shipyard.errors import InvalidInput, NotFound


def test_blobs_are_named_by_sha256_and_deduplicated(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    a = blobs.put_bytes(b"hello")
    b = blobs.put_bytes(b"hello")
    assert a == b
    assert a.digest == hashlib.sha256(b"hello").hexdigest()
    assert a.size == 5
    assert len(list((tmp_path / "sha256").rglob("*/*"))) == 1
    assert blobs.read_bytes(a.digest) == b"hello"
    assert list((tmp_path / "tmp").iterdir()) == []  # no temp file left behind


def test_open_by_uri(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(str(tmp_path)), LocalBlobStore)
    assert open_blob_store(tmp_path.as_uri()).root == tmp_path  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="'gopher'"):
        open_blob_store("gopher://x/y")


class _Zeros(io.RawIOBase):
    """A 64 MiB stream produced on the fly: it never exists whole in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"\0" * n


def test_large_blobs_are_streamed(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    size = 64 * 1024 * 1024
    tracemalloc.start()
    info = blobs.put_stream(_Zeros(size))  # type: ignore[arg-type]
    out = blobs.download(info.digest, tmp_path / "copy.bin")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.size == size
    assert out.stat().st_size == size
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes: the blob was held in memory"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError("disk on fire")
            return b"x" * 10

    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(OSError, match="disk on fire"):
        blobs.put_stream(Broken())  # type: ignore[arg-type]
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "sha256").exists()


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(NotFound, match=r"0{64}"):
        blobs.open("0" * 64)
    with pytest.raises(InvalidInput, match="not a blob digest"):
        blobs.open("../../etc/passwd")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("plots/roc.png", "plots/roc.png"), ("./a//b/", "a/b"), ("a\\b.txt", "a/b.txt")],
)
def test_artifact_paths_are_normalised(given: str, expected: str) -> None:
    assert artifact_path(given) == expected


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "C:/x", "", ".", "a/.."])
def test_artifact_paths_that_escape_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        artifact_path(bad)
