"""Escalation errors. Throttled/Transient are retried with backoff; the rest fail the call at once."""


class EscalationError(Exception):
    """Cloud escalation could not be done (configuration, vendor refusal, retries exhausted)."""


class MockNotAllowedError(EscalationError):
    """Mock mode was about to run where settings forbid it (production, or allow_mock=False)."""


class VendorError(EscalationError):
    """The vendor refused the request (bad document, access denied ...): retrying will not help."""


class ThrottledError(EscalationError):
    """429 / ThrottlingException / ProvisionedThroughputExceeded: back off and retry."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class TransientVendorError(EscalationError):
    """5xx, connection reset, timeout: retry."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OptionalDependencyError(EscalationError):
    """A vendor SDK (an optional extra) is not installed."""
