"""In-process token bucket per token subject. Enough for one API process; behind several replicas put the
limit in the ingress instead (the figures here are then per replica)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBucketLimiter:
    def __init__(self, per_second: float, burst: int, max_keys: int = 100_000):
        self.per_second = per_second
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 when the request may go ahead, else the seconds to wait before the next token."""
        if self.per_second <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()  # crude bound on memory; buckets refill to full anyway
                b = self._buckets[key] = _Bucket(tokens=float(self.burst), stamp=now)
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.per_second)
            b.stamp = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.per_second
