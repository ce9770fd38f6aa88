"""azure-core pipeline pieces: ARM rate limits, throttling retries and loopback auth.

Every ARM call ec2asr makes goes through one :class:`ArmRateLimiter` (shared by every client of
a :class:`~ec2asr.SiteRecoveryClient`): a client-side token bucket for reads and one for writes,
sized to ARM's per-subscription limits, so a fleet of a thousand machines does not earn 429s.
The buckets live in a :class:`~ec2asr.azure._budget.BudgetStore`, which several processes
(and hosts) may share: ARM's limits are per subscription, not per process.
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

from ec2asr import _validate as v
from ec2asr.azure._budget import BudgetStore, MemoryBudget, bucket_name
from ec2asr.errors import InvalidInputError

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

ARM_RESERVE = 5
"""Tokens of each burst the client leaves unused. ARM counts a request when it arrives, on its
own clock: a token the client takes exactly as it refills can arrive a hair early (a sleep the
clock rounds down, network jitter) and earn a 429. Five tokens absorb half a second of writes."""
ARM_READS = (250 - ARM_RESERVE, 25.0)
"""ARM's per-subscription read limit (a burst of 250, refilled at 25 per second), less the
reserve."""
ARM_WRITES = (200 - ARM_RESERVE, 10.0)
"""ARM's per-subscription write limit (a burst of 200, refilled at 10 per second), less the
reserve."""


class TokenBucket:
    """A thread-safe token bucket, kept in a :class:`~ec2asr.azure._budget.BudgetStore`.

    Each :meth:`acquire` takes (reserves) one token and sleeps **once**, for the time the store
    answers: 0, or at least :data:`~ec2asr.azure._budget.MIN_WAIT` (1 ms), a wait any clock can
    measure. Threads contending for the bucket queue up first come first served, and the long-run
    rate is exact whatever the clock rounds a sleep to.

    Args:
        capacity: The burst size.
        rate: Tokens added per second.
        clock: A clock in seconds (passed to the store as ``now``).
        sleep: How to wait for a token.
        store: Where the bucket lives (default: a :class:`~ec2asr.azure._budget.MemoryBudget`
            of its own).
        name: The bucket's name in the store.
    """

    def __init__(
        self,
        capacity: int,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        store: BudgetStore | None = None,
        name: str = "bucket",
    ) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("a token bucket needs capacity >= 1 and rate > 0")
        self.capacity = capacity
        self.rate = rate
        self.store: BudgetStore = store if store is not None else MemoryBudget()
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0
        """Total seconds spent waiting for tokens (for benchmarks and reports)."""
        self.sleeps = 0
        """How many times :meth:`acquire` slept (at most once per token)."""

    def acquire(self) -> float:
        """Take one token, waiting if none is left; return how long it waited."""
        wait = self.store.take(self.name, self.capacity, self.rate, self._clock())
        if wait > 0:
            with self._lock:
                self.waited += wait
                self.sleeps += 1
            self._sleep(wait)
        return wait

    @property
    def available(self) -> float | None:
        """Tokens available now (negative: reserved ahead); None when the store cannot say
        without taking one (a shared store)."""
        if isinstance(self.store, MemoryBudget):
            return self.store.tokens(self.name, self.capacity, self.rate, self._clock())
        return None


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

    Its two buckets are named ``<subscription>/reads`` and ``<subscription>/writes`` in
    ``store``: every limiter of the same subscription on the same store shares one budget
    (the clients of one process given one :class:`~ec2asr.azure._budget.MemoryBudget`, the
    processes of a host on one :class:`~ec2asr.azure._budget.SqliteBudget`, the workers of a
    team on the journal's :class:`~ec2asr.migration._pg_budget.PostgresBudget`).

    Args:
        reads: ``(burst, per_second)`` for GET/HEAD.
        writes: ``(burst, per_second)`` for PUT/PATCH/POST/DELETE.
        clock: A clock in seconds (monotonic, or one the store's processes share).
        sleep: How to wait.
        store: Where the buckets live (default: a ``MemoryBudget`` of this limiter's own).
        subscription: The subscription whose budget this is (a
            :class:`~ec2asr.SiteRecoveryClient` sets it when it is None).

    Raises:
        InvalidInputError: ``store`` has no ``take``; ``subscription`` is not a string.
    """

    def __init__(
        self,
        *,
        reads: tuple[int, float] = ARM_READS,
        writes: tuple[int, float] = ARM_WRITES,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        store: BudgetStore | None = None,
        subscription: str | None = None,
    ) -> None:
        _check_store(store, optional=True)
        if subscription is not None and (not isinstance(subscription, str) or not subscription):
            raise InvalidInputError(f"subscription must be a string, not {v.shown(subscription)}")
        own = store if store is not None else MemoryBudget()
        self.subscription = subscription
        self.reads = TokenBucket(
            reads[0],
            reads[1],
            clock=clock,
            sleep=sleep,
            store=own,
            name=bucket_name(subscription, "reads"),
        )
        self.writes = TokenBucket(
            writes[0],
            writes[1],
            clock=clock,
            sleep=sleep,
            store=own,
            name=bucket_name(subscription, "writes"),
        )
        self.counter = RequestCounter()

    def __repr__(self) -> str:
        return f"ArmRateLimiter(subscription={self.subscription!r}, store={self.store!r})"

    @property
    def store(self) -> BudgetStore:
        """Where the buckets live."""
        return self.reads.store

    def bind(self, subscription: str) -> None:
        """Name the buckets after ``subscription`` (once: a limiter is one subscription's).

        Raises:
            InvalidInputError: The limiter already belongs to another subscription.
        """
        if self.subscription is not None:
            if self.subscription.lower() != subscription.lower():
                raise InvalidInputError(
                    f"this rate limiter is subscription {self.subscription}'s budget, not "
                    f"{subscription}'s: give each subscription its own ArmRateLimiter"
                )
            return
        self.subscription = subscription
        self.reads.name = bucket_name(subscription, "reads")
        self.writes.name = bucket_name(subscription, "writes")

    def share(self, store: BudgetStore) -> BudgetStore:
        """Draw from ``store`` from now on (tokens left in the old store are not carried over).

        Returns:
            The store used until now (to go back to it).

        Raises:
            InvalidInputError: ``store`` has no ``take``.
        """
        _check_store(store, optional=False)
        previous = self.store
        self.reads.store = store
        self.writes.store = store
        return previous

    def acquire(self, method: str, path: str) -> float:
        """Take a token for one request (waiting if needed) and count it."""
        bucket = self.reads if method.upper() in ("GET", "HEAD") else self.writes
        waited = bucket.acquire()
        self.counter.add(method.upper(), path)
        return waited

    def policy(self) -> SansIOHTTPPolicy[Any, Any]:
        """The azure-core policy that applies this limiter to every attempt."""
        return _RateLimitPolicy(self)


def _check_store(store: object, *, optional: bool) -> None:
    if store is None and optional:
        return
    if not isinstance(store, BudgetStore):
        raise InvalidInputError(
            "store must be a budget store with take(bucket, capacity, rate, now) "
            f"(MemoryBudget, SqliteBudget, PostgresBudget), not {v.shown(store)}"
        )


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
