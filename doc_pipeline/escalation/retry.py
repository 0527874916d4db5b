"""Exponential backoff with full jitter on throttling and 5xx (tenacity), honouring Retry-After when given."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from doc_pipeline.escalation.errors import ThrottledError, TransientVendorError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE = (ThrottledError, TransientVendorError)


class BackoffWait:
    """min(max, initial * 2**(n-1)) * U(0.5, 1] ("equal jitter"), but never less than the server's Retry-After."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None):
        self.initial = initial
        self.maximum = maximum
        self.rng = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        base = min(self.maximum, self.initial * (2 ** (state.attempt_number - 1)))
        wait = base * (0.5 + 0.5 * self.rng.random())
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            wait = max(wait, min(float(retry_after), self.maximum))
        return wait


def call_with_backoff(fn: Callable[[], T], *, max_attempts: int, initial: float, maximum: float,
                      total_timeout: float, what: str = "call", sleep: Callable[[float], None] | None = None) -> T:
    """Run fn, retrying RETRYABLE errors; the last error is re-raised when attempts or time run out."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: attempt %d failed (%s); retrying in %.2fs", what, state.attempt_number,
                    type(exc).__name__, state.next_action.sleep if state.next_action else 0.0)

    kwargs = {"sleep": sleep} if sleep else {}
    retrying = Retrying(retry=retry_if_exception_type(RETRYABLE),
                        wait=BackoffWait(initial, maximum),
                        stop=stop_after_attempt(max(1, max_attempts)) | stop_after_delay(total_timeout),
                        before_sleep=before_sleep, reraise=True, **kwargs)
    return retrying(fn)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
