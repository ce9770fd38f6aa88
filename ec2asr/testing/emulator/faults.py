"""Fault injection and ARM's request limits.

A :class:`FaultRule` matches ``"METHOD path-glob"`` (``"POST */testFailover"``, ``"* *"``) against
requests, case-insensitively, and does one or more of: delay the answer, reset the connection,
answer an error status (429 with ``Retry-After``, 5xx ...), or make the job the request creates
fail with an ASR error (or never finish). :class:`ArmLimits` reproduces ARM's per-subscription
token buckets for reads and writes and answers 429 with ``Retry-After`` when they run dry.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ec2asr.testing.emulator.arm import ArmError
from ec2asr.testing.emulator.models import NEVER_FINISHES, JobError

__all__ = ["ArmLimits", "FaultRule", "FaultSet", "TokenBucket"]

_STATUS_CODES = {
    429: ("TooManyRequests", "The request was throttled (injected fault)."),
    500: ("InternalServerError", "The server encountered an internal error (injected fault)."),
    502: ("BadGateway", "The gateway received an invalid response (injected fault)."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable (injected fault)."),
    504: ("GatewayTimeout", "The gateway timed out (injected fault)."),
}


@dataclass
class FaultRule:
    """One injected fault (see :meth:`AsrEmulator.inject_fault`).

    Attributes:
        method: HTTP method to match, or ``*``.
        path_glob: ``fnmatch`` pattern on the request path (no query string).
        status: Error status to answer.
        retry_after: ``Retry-After`` seconds sent with the error.
        times: How many matching requests it affects (``None``: every one).
        job_error: The error the created job fails with, or ``NEVER_FINISHES``.
        delay: Real seconds to wait before answering.
        reset: Reset the TCP connection instead of answering.
        reset_after: Handle the request (a write is accepted and audited), then reset the
            connection instead of answering: the answer is lost.
        hits: How many requests it affected so far.
    """

    method: str
    path_glob: str
    status: int | None = None
    retry_after: int | None = None
    times: int | None = 1
    job_error: JobError | object | None = None
    delay: float | None = None
    reset: bool = False
    reset_after: bool = False
    hits: int = 0

    @classmethod
    def parse(cls, match: str, **kwargs: object) -> FaultRule:
        """Build from ``"METHOD path-glob"``.

        Raises:
            ValueError: When ``match`` is not ``"METHOD glob"`` or the options are inconsistent.
        """
        parts = match.split(None, 1)
        if len(parts) != 2:
            raise ValueError("match must be 'METHOD path-glob', e.g. 'POST */testFailover'")
        rule = cls(method=parts[0].upper(), path_glob=parts[1], **kwargs)  # type: ignore[arg-type]
        rule.validate()
        return rule

    def validate(self) -> None:
        """Check the options make sense together.

        Raises:
            ValueError: On an inconsistent combination.
        """
        if (
            self.status is None
            and self.job_error is None
            and self.delay is None
            and not self.reset
            and not self.reset_after
        ):
            raise ValueError(
                "a fault needs status=, job_error=, delay=, reset=True or reset_after=True"
            )
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if (self.reset or self.reset_after) and self.status is not None:
            raise ValueError("reset=True answers nothing: it cannot also set status=")
        if self.reset and self.reset_after:
            raise ValueError("reset=True and reset_after=True exclude each other")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or None for every request)")
        if self.delay is not None and self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.job_error is not None and not (
            isinstance(self.job_error, JobError) or self.job_error is NEVER_FINISHES
        ):
            raise ValueError("job_error must be a JobError, an ASR error code or NEVER_FINISHES")

    def matches(self, method: str, path: str) -> bool:
        """True when this rule applies to the request (and has uses left)."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in ("*", method.upper()):
            return False
        return fnmatch.fnmatch(path.lower(), self.path_glob.lower())

    def error(self) -> ArmError:
        """The error answer of a ``status=`` fault."""
        assert self.status is not None
        code, message = _STATUS_CODES.get(self.status, ("InjectedFault", "Injected fault."))
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after))
        elif self.status in (429, 503):
            headers["Retry-After"] = "0"
        return ArmError(self.status, code, message, headers=headers)


class FaultSet:
    """The active fault rules, thread-safe; the first matching rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        """Add a rule (it takes precedence over older ones)."""
        with self._lock:
            self._rules.insert(0, rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule applying to this request, counting the use."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None


@dataclass
class TokenBucket:
    """A token bucket: ``capacity`` burst, refilled at ``rate`` tokens per second."""

    capacity: float
    rate: float
    clock: Callable[[], float]
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = self.clock()

    def take(self) -> float:
        """Take one token; returns 0 on success or the seconds until one is available."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else math.inf


class ArmLimits:
    """ARM's per-subscription read and write buckets.

    Args:
        reads: (burst, refill per second) for GET/HEAD.
        writes: (burst, refill per second) for PUT/PATCH/POST/DELETE.
        clock: Seconds source (real monotonic time by default).
    """

    def __init__(
        self,
        reads: tuple[float, float],
        writes: tuple[float, float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, (burst, rate) in (("reads", reads), ("writes", writes)):
            if burst < 1 or rate <= 0:
                raise ValueError(f"{name} must be (burst >= 1, rate > 0)")
        self._reads = reads
        self._writes = writes
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(self, subscription: str, write: bool) -> None:
        """Take a token for one request.

        Raises:
            ArmError: 429 with ``Retry-After`` when the bucket is empty.
        """
        kind = "writes" if write else "reads"
        burst, rate = self._writes if write else self._reads
        with self._lock:
            key = (subscription.lower(), kind)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(burst, rate, self._clock)
            wait = bucket.take()
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ArmError(
                429,
                "SubscriptionRequestsThrottled",
                (
                    f"Number of '{'write' if write else 'read'}' requests for subscription "
                    f"'{subscription}' exceeded the limit of '{int(burst)}' for time interval. "
                    f"Please try again after '{seconds}' seconds."
                ),
                headers={"Retry-After": str(seconds)},
            )
