"""Blobs in a local folder: ``<root>/sha256/<2 hex>/<62 hex>``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from shipyard.artifacts.base import CHUNK_SIZE, BlobInfo, BlobStore, Progress, check_digest
from shipyard.errors import NotFound

__all__ = ["LocalBlobStore"]


class LocalBlobStore(BlobStore):
    """Writes go to a temporary file in the same folder, then are renamed into place,
    so a reader never sees half a blob and a crash leaves only a stray temp file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.uri = self.root.as_uri()
        self._tmp = self.root / "tmp"

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / "sha256" / digest[:2] / digest[2:]

    def put_stream(self, stream: BinaryIO, progress: Progress | None = None) -> BlobInfo:
        self._tmp.mkdir(parents=True, exist_ok=True)
        sha, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    sha.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            digest = sha.hexdigest()
            final = self._path(digest)
            if final.exists():
                os.unlink(tmp_name)  # deduplicated: the same bytes are stored already
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return BlobInfo(digest, size)

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(
                f"Blob {digest} is missing from the artifact store at {self.root}. "
                "It may have been deleted by hand; log the artifact again."
            ) from None

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()
