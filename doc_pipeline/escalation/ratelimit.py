"""Client-side token bucket per vendor, so one process never sends more than the vendor's TPS quota.

Across processes the Dagster tag concurrency limit on `docpipe/paid_ocr` bounds how many runs call vendors at once.
"""

from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, rate_per_s: float, capacity: float = 1.0, clock=time.monotonic, sleep=time.sleep):
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be > 0")
        self.rate = float(rate_per_s)
        self.capacity = max(1.0, float(capacity))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def acquire(self, tokens: float = 1.0, timeout: float | None = None) -> float:
        """Block until a token is free; returns seconds waited. Raises TimeoutError past `timeout`."""
        start = self._clock()
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= tokens:
                    self._tokens -= tokens
                    return self._clock() - start
                wait = (tokens - self._tokens) / self.rate
            if timeout is not None and self._clock() - start + wait > timeout:
                raise TimeoutError(f"rate limiter: no token within {timeout}s")
            self._sleep(wait)


_BUCKETS: dict[str, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(vendor: str, rate_per_s: float, capacity: float) -> TokenBucket:
    """One bucket per (vendor, rate, capacity) in this process, shared by every adapter instance."""
    key = f"{vendor}:{rate_per_s}:{capacity}"
    with _BUCKETS_LOCK:
        if key not in _BUCKETS:
            _BUCKETS[key] = TokenBucket(rate_per_s, capacity)
        return _BUCKETS[key]
