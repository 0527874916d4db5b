"""Engines picked by name from configuration (Docling-style model factories): one instance per name, options
and thread, created on first use and kept, because loading a model is the expensive part and engine handles
(Tesseract's above all) are not thread-safe."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class EngineRegistry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self.factories: dict[str, Callable[..., T]] = {}
        self._instances: dict[tuple, T] = {}
        self._lock = threading.RLock()  # re-entrant: a composite engine gets its parts while being built

    def register(self, name: str, factory: Callable[..., T]) -> Callable[..., T]:
        self.factories[name] = factory
        return factory

    def get(self, name: str, **options) -> T:
        if name not in self.factories:
            raise ValueError(f"unknown {self.kind} engine {name!r}; known: {sorted(self.factories)}")
        key = (name, tuple(sorted(options.items())), threading.get_ident())
        with self._lock:
            if key not in self._instances:
                self._instances[key] = self.factories[name](**options)
            return self._instances[key]
