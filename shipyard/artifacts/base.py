"""The blob store interface: content-addressed, streamed, atomic.

Blobs are named by the SHA-256 of their bytes, so the same content is stored
once whatever path or run refers to it. Writers stream: no method needs the
whole blob in memory. Implementations: the local folder
(:class:`~shipyard.artifacts.local.LocalBlobStore`); S3-compatible storage and a
Shipyard server implement the same interface.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shipyard.errors import InvalidInput

__all__ = ["CHUNK_SIZE", "BlobInfo", "BlobStore", "check_digest", "file_digest"]

CHUNK_SIZE = 1 << 20
_DIGEST = re.compile(r"[0-9a-f]{64}")

#: Called with the number of bytes just processed, for progress bars.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"{digest!r} is not a blob digest; expected 64 lower-case hex digits.")
    return digest


def file_digest(path: str | Path) -> BlobInfo:
    """The SHA-256 and size of a file, read in chunks."""
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            sha.update(chunk)
            size += len(chunk)
    return BlobInfo(sha.hexdigest(), size)


class BlobStore(ABC):
    """Content-addressed blobs."""

    uri: str

    @abstractmethod
    def put_stream(self, stream: BinaryIO, progress: Progress | None = None) -> BlobInfo:
        """Store everything ``stream`` yields; returns its digest and size."""

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """The blob for reading; NotFound if absent."""

    @abstractmethod
    def exists(self, digest: str) -> bool: ...

    def put_file(self, path: str | Path, progress: Progress | None = None) -> BlobInfo:
        with open(path, "rb") as fh:
            return self.put_stream(fh, progress)

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self.put_stream(io.BytesIO(data))

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as fh:
            return fh.read()

    def download(self, digest: str, dest: str | Path) -> Path:
        """Copy the blob to ``dest`` (written beside it first, then renamed into place)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        with self.open(digest) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK_SIZE)
        partial.replace(dest)
        return dest
