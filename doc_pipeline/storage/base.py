from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO


class StorageError(Exception):
    """The object store failed (after retries): the step fails with this reason."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: float  # unix seconds
    etag: str = ""


class ObjectStore(abc.ABC):
    """Keys are '/'-separated, relative to the store root (e.g. 'raw/abc.pdf')."""

    name: str = "base"

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    @abc.abstractmethod
    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        """Write a stream without holding it in memory; returns the number of bytes written."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abc.abstractmethod
    def get_range(self, key: str, start: int, length: int) -> bytes: ...

    @abc.abstractmethod
    def download_to(self, key: str, path: str) -> None: ...

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo | None: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def presign_put(self, key: str, expires: int = 3600, content_type: str | None = None) -> str | None:
        """A URL a client can PUT the object to, or None when the store has no such thing."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete_prefix(self, prefix: str) -> int:
        n = 0
        for info in list(self.list(prefix)):
            self.delete(info.key)
            n += 1
        return n

    def put_text(self, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
        self.put_bytes(key, text.encode("utf-8"), content_type)

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8")

    def health(self) -> None:
        """Raise StorageError when the store cannot be reached."""
        next(iter(self.list("__health__/")), None)
