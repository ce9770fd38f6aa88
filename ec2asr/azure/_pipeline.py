"""azure-core pipeline pieces: ARM rate limits, throttling retries and loopback auth.

Every ARM call ec2asr makes goes through one :class:`ArmRateLimiter` (shared by every client of
a :class:`~ec2asr.SiteRecoveryClient`): a client-side token bucket for reads and one for writes,
sized to ARM's per-subscription limits, so a fleet of a thousand machines does not earn 429s.
When ARM still answers 429/503, :class:`ThrottleRetryPolicy` honours ``Retry-After`` with an
injectable ``sleep`` so tests never sleep for real.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import attrs
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy, SansIOHTTPPolicy

__all__ = [
    "ArmRateLimiter",
    "LoopbackBearerPolicy",
    "RequestCounter",
    "ThrottleRetryPolicy",
    "TokenBucket",
    "is_loopback_url",
]

Clock = Callable[[], float]
Sleep = Callable[[float], None]

ARM_READS = (250, 25.0)
"""ARM's per-subscription read limit: a burst of 250, refilled at 25 per second."""
ARM_WRITES = (200, 10.0)
"""ARM's per-subscription write limit: a burst of 200, refilled at 10 per second."""


class TokenBucket:
    """A thread-safe token bucket.

    Args:
        capacity: The burst size.
        rate: Tokens added per second.
        clock: A monotonic clock in seconds.
        sleep: How to wait for a token.
    """

    def __init__(
        self,
        capacity: int,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("a token bucket needs capacity >= 1 and rate > 0")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._updated = clock()
        self._lock = threading.Lock()
        self.waited = 0.0
        """Total seconds spent waiting for tokens (for benchmarks and reports)."""

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, waiting if none is left; return how long it waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                # The epsilon absorbs float error: a refill of exactly the missing fraction
                # can land a hair below 1.0 and must not cause an endless series of tiny waits.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    self.waited += waited
                    return waited
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait

    @property
    def available(self) -> float:
        """Tokens available now."""
        with self._lock:
            self._refill()
            return self._tokens


@attrs.define
class RequestCounter:
    """Counts the HTTP requests a client sent, by kind (reads/writes) and by operation."""

    reads: int = 0
    writes: int = 0
    by_operation: dict[str, int] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, method: str, path: str) -> None:
        """Count one request."""
        key = f"{method} {_operation_of(path)}"
        with self._lock:
            if method in ("GET", "HEAD"):
                self.reads += 1
            else:
                self.writes += 1
            self.by_operation[key] = self.by_operation.get(key, 0) + 1

    @property
    def total(self) -> int:
        """All requests."""
        return self.reads + self.writes


_NAMED = frozenset(
    {
        "subscriptions",
        "resourcegroups",
        "vaults",
        "serversites",
        "machines",
        "runasaccounts",
        "recoverypoints",
    }
)


def _operation_of(path: str) -> str:
    """``.../replicationJobs/j1/cancel`` -> ``.../replicationJobs/{name}/cancel``."""
    out: list[str] = []
    name_next = False
    for part in (p for p in urlparse(path).path.split("/") if p):
        if name_next:
            out.append("{name}")
            name_next = False
            continue
        out.append(part)
        low = part.lower()
        name_next = low in _NAMED or (
            low.startswith("replication") and low != "replicationsupportedoperatingsystems"
        )
    return "/" + "/".join(out)


class ArmRateLimiter:
    """ARM's per-subscription limits, applied on the client side.

    Args:
        reads: ``(burst, per_second)`` for GET/HEAD.
        writes: ``(burst, per_second)`` for PUT/PATCH/POST/DELETE.
        clock: A monotonic clock in seconds.
        sleep: How to wait.
    """

    def __init__(
        self,
        *,
        reads: tuple[int, float] = ARM_READS,
        writes: tuple[int, float] = ARM_WRITES,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.reads = TokenBucket(reads[0], reads[1], clock=clock, sleep=sleep)
        self.writes = TokenBucket(writes[0], writes[1], clock=clock, sleep=sleep)
        self.counter = RequestCounter()

    def acquire(self, method: str, path: str) -> float:
        """Take a token for one request (waiting if needed) and count it."""
        bucket = self.reads if method.upper() in ("GET", "HEAD") else self.writes
        waited = bucket.acquire()
        self.counter.add(method.upper(), path)
        return waited

    def policy(self) -> SansIOHTTPPolicy[Any, Any]:
        """The azure-core policy that applies this limiter to every attempt."""
        return _RateLimitPolicy(self)


class _RateLimitPolicy(SansIOHTTPPolicy[Any, Any]):
    def __init__(self, limiter: ArmRateLimiter) -> None:
        self._limiter = limiter

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        self._limiter.acquire(http.method, http.url)


class ThrottleRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's RetryPolicy, sleeping through an injectable ``sleep``.

    It honours ``Retry-After`` (ARM's 429s and ASR's 202s carry one) and retries 408/429/5xx.
    A write (PUT/POST/PATCH/DELETE) whose connection broke after it was sent is **not** sent
    again: Azure may have accepted it, and a second enable or failover is not the same as the
    first. ec2asr finds out from ASR's jobs instead (see ``Runtime.issue``). Reads, and writes
    that never left (the connection could not be made), are retried as azure-core does.

    Args:
        sleep: How to wait between attempts.
        **kwargs: RetryPolicy settings (``retry_total``, ``retry_backoff_factor`` ...).
    """

    def __init__(self, *, sleep: Sleep = time.sleep, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 8)
        kwargs.setdefault("retry_backoff_factor", 0.8)
        kwargs.setdefault("retry_backoff_max", 60)
        super().__init__(**kwargs)
        self._sleep_fn = sleep
        self.slept = 0.0

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        """Count an attempt; False (give up) for a write whose answer was lost."""
        request = getattr(response, "http_request", None)
        if (
            isinstance(error, ServiceResponseError)
            and request is not None
            and request.method.upper() not in ("GET", "HEAD", "OPTIONS")
        ):
            return False
        return bool(super().increment(settings, response=response, error=error))

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        """Wait before the next attempt: ``Retry-After`` when given, else exponential backoff."""
        delay: float | None = None
        if response is not None:
            delay = self.get_retry_after(response)
        if not delay:
            delay = self.get_backoff_time(settings)
        if delay and delay > 0:
            self.slept += delay
            self._sleep_fn(delay)


class LoopbackBearerPolicy(HTTPPolicy[Any, Any]):
    """Sets ``Authorization: Bearer`` on requests to a loopback address over plain http.

    azure-core's bearer policies refuse plain http. ec2asr only uses this policy when the
    ``base_url`` is a loopback address (the rehearsal sandbox); for any other URL it refuses.

    Args:
        credential: Where tokens come from.
        scopes: The token scopes.
    """

    def __init__(self, credential: TokenCredential, *scopes: str) -> None:
        super().__init__()
        self._credential = credential
        self._scopes = scopes or ("https://management.azure.com/.default",)
        self._token: Any = None

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Add the header and send."""
        url = request.http_request.url
        if not is_loopback_url(url):
            raise ValueError("LoopbackBearerPolicy only talks to loopback addresses")
        if self._token is None or self._token.expires_on - 60 < time.time():
            self._token = self._credential.get_token(*self._scopes)
        request.http_request.headers["Authorization"] = f"Bearer {self._token.token}"
        return self.next.send(request)


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is a loopback address (127.0.0.0/8, ::1 or ``localhost``)."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
