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
        self._lock = threading.Lock()  # guards the dict only; engines are built outside it

    def register(self, name: str, factory: Callable[..., T]) -> Callable[..., T]:
        self.factories[name] = factory
        return factory

    def get(self, name: str, **options) -> T:
        if name not in self.factories:
            raise ValueError(f"unknown {self.kind} engine {name!r}; known: {sorted(self.factories)}")
        key = (name, tuple(sorted(options.items())), threading.get_ident())
        engine = self._instances.get(key)
        if engine is None:
            # Only this thread ever builds this key (the thread id is part of it), so page threads load their
            # models side by side: under one lock the second thread waited for the first's model (0.1-0.3 s a
            # process, a core idle). A composite engine gets its parts here too, in the same thread.
            engine = self.factories[name](**options)
            with self._lock:
                self._instances[key] = engine
        return engine
