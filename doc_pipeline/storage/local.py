from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from doc_pipeline.storage.base import ObjectInfo, ObjectStore, StorageError

_CHUNK = 1 << 20


class LocalObjectStore(ObjectStore):
    """A folder. Writes go to a temp file and are renamed into place, so a reader never sees half a file."""

    name = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if p != self.root and self.root not in p.parents:
            raise StorageError(f"key escapes the store root: {key!r}")
        return p

    def _atomic_write(self, key: str, writer) -> int:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                n = writer(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
            return n
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._atomic_write(key, lambda fh: fh.write(data))

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        def copy(fh) -> int:
            total = 0
            while chunk := stream.read(_CHUNK):
                fh.write(chunk)
                total += len(chunk)
            return total

        return self._atomic_write(key, copy)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def get_range(self, key: str, start: int, length: int) -> bytes:
        try:
            with self.path(key).open("rb") as fh:
                fh.seek(start)
                return fh.read(length)
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def download_to(self, key: str, path: str) -> None:
        try:
            shutil.copyfile(self.path(key), path)
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self.path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return ObjectInfo(key=key, size=st.st_size, last_modified=st.st_mtime, etag=f"{st.st_mtime_ns:x}-{st.st_size:x}")

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.exists():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fn in sorted(filenames):
                if fn.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / fn
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = full.stat()
                except FileNotFoundError:
                    continue
                yield ObjectInfo(key=key, size=st.st_size, last_modified=st.st_mtime, etag=f"{st.st_mtime_ns:x}-{st.st_size:x}")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def presign_put(self, key: str, expires: int = 3600, content_type: str | None = None) -> str | None:
        return None
