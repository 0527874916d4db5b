"""Page-level parallelism inside one document step: long-lived thread pools and an ordered, bounded map.

Threads, not processes: the heavy calls (Tesseract via tesserocr, ONNX Runtime, PIL/NumPy/OpenCV image work)
release the GIL, and each thread keeps its own loaded engine between pages and documents. The in-flight bound keeps
memory flat on a 500-page scan: at most `max_in_flight` page images exist at once."""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_POOLS.clear)  # a forked child has none of its parent's threads


def resolve_workers(workers: int) -> int:
    """0 means one per CPU core."""
    return max(1, workers or os.cpu_count() or 1)


def page_pool(workers: int, name: str = "pages") -> ThreadPoolExecutor:
    """One long-lived pool per (name, size): threads keep their engines (thread-local) across documents."""
    key = (name, resolve_workers(workers))
    with _LOCK:
        if key not in _POOLS:
            _POOLS[key] = ThreadPoolExecutor(max_workers=key[1], thread_name_prefix=name)
        return _POOLS[key]


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, name: str = "pages",
                max_in_flight: int | None = None) -> Iterator[R]:
    """`map(fn, items)` on a page pool, results in input order. `items` is consumed lazily (a generator that
    renders pages keeps running in the caller's thread), with at most `max_in_flight` (default 2 x workers) items
    submitted and not yet yielded. One worker runs inline: no thread hop for a setting of 1."""
    n = resolve_workers(workers)
    if n == 1:
        yield from map(fn, items)
        return
    pool = page_pool(n, name)
    bound = max(1, max_in_flight or 2 * n)
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= bound:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:  # an error (or a caller that stopped early): do not leave work running for nobody
            f.cancel()
