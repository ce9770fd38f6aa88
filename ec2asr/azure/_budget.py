"""Where ARM's token buckets live: in this process, in a file every process of a host shares,
or (team mode) in the PostgreSQL journal's database.

ARM limits requests **per subscription** (reads 250 burst / 25 per second, writes 200 / 10),
not per process: fifty ec2asr processes with a bucket each would together send fifty times the
limit and earn 429s. A :class:`BudgetStore` holds named buckets (``<subscription>/reads`` and
``<subscription>/writes``, see :func:`bucket_name`); every
:class:`~ec2asr.azure._pipeline.ArmRateLimiter` drawing on the same store and subscription
shares one budget.

A store **reserves**: :meth:`BudgetStore.take` always takes the token, letting the bucket go
into debt, and answers how long the caller must wait before it may use it. A caller therefore
waits once per request (never a series of retries), callers are served first come first served
(none starves), and the long-run rate is exact whatever the clock rounds a wait to: the debt,
not the sleep, is what counts. A wait is either 0 or at least :data:`MIN_WAIT`, a duration every
clock can measure (a simulated clock that resolves microseconds does not move for a wait of a
nanosecond).

- :class:`MemoryBudget`: in this process (the default, one per client);
- :class:`SqliteBudget`: a SQLite file, refilled on the wall clock, that every ec2asr process
  of the host shares (``arm_budget="host"``, or ``EC2ASR_ARM_BUDGET=host``);
- :class:`~ec2asr.migration._pg_budget.PostgresBudget`: the journal's database, for the workers
  of a team on several hosts (used by every run on a PostgreSQL journal).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from ec2asr import _validate as v
from ec2asr.errors import InvalidInputError

__all__ = [
    "ENV_VAR",
    "MIN_WAIT",
    "ArmBudget",
    "BudgetStore",
    "MemoryBudget",
    "SqliteBudget",
    "bucket_name",
    "check_bucket",
    "default_budget_path",
    "reserve",
    "resolve_budget",
]

MIN_WAIT = 0.001
"""The shortest wait a store answers (1 ms): any clock can measure it."""

ENV_VAR = "EC2ASR_ARM_BUDGET"
"""The environment variable a :class:`~ec2asr.SiteRecoveryClient` reads when it is given no
``arm_budget``: ``host`` (the host-wide file), ``process`` (its own buckets) or a file path."""

_EPSILON = 1e-9
"""Float error a refill of exactly the missing fraction can leave (a hair below 1.0)."""


def bucket_name(subscription: str | None, kind: Literal["reads", "writes"]) -> str:
    """The name of a subscription's bucket in a store: ``<subscription>/reads`` or ``/writes``
    (the subscription id lower-cased: ARM ids are case-insensitive)."""
    return f"{(subscription or 'default').lower()}/{kind}"


@runtime_checkable
class BudgetStore(Protocol):
    """Where token buckets live when several clients (threads, processes, hosts) share them.

    Plug one into a client with ``SiteRecoveryClient(..., arm_budget=store)`` or
    ``ArmRateLimiter.share(store)``.
    """

    def take(self, bucket: str, capacity: int, rate: float, now: float) -> float:
        """Atomically refill ``bucket`` (burst ``capacity``, ``rate`` tokens per second) up to
        ``now`` and take one token, reserving it when none is left.

        Returns:
            0.0 when the token may be used now, else the seconds to wait before using it
            (>= :data:`MIN_WAIT`). The caller waits once and does not ask again.
        """
        ...


def reserve(
    tokens: float, stamp: float, capacity: float, rate: float, now: float
) -> tuple[float, float, float]:
    """The bucket arithmetic every store shares.

    Args:
        tokens: The bucket's tokens at ``stamp`` (negative: reserved ahead).
        stamp: When ``tokens`` was computed.
        capacity: The burst.
        rate: Tokens per second.
        now: The time of this take. A clock behind ``stamp`` (another process's, a wall
            clock stepped back) does not rewind the bucket.

    Returns:
        ``(tokens, stamp, wait)`` after taking one token.
    """
    now = max(now, stamp)
    tokens = min(capacity, tokens + (now - stamp) * rate) - 1.0
    if tokens >= -_EPSILON:
        return max(tokens, 0.0), now, 0.0
    return tokens, now, max(-tokens / rate, MIN_WAIT)


def check_bucket(capacity: int, rate: float) -> None:
    """Refuse a bucket that could never grant a token.

    Raises:
        InvalidInputError: ``capacity`` < 1 or ``rate`` <= 0.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise InvalidInputError(f"a token bucket needs capacity >= 1, not {v.shown(capacity)}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise InvalidInputError(f"a token bucket needs rate > 0, not {v.shown(rate)}")


class MemoryBudget:
    """Token buckets in this process (thread-safe): a client's own, or shared by the clients
    of one process that are given the same instance."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryBudget(buckets={len(self._buckets)})"

    def take(self, bucket: str, capacity: int, rate: float, now: float) -> float:
        """Take a token from ``bucket`` (see :meth:`BudgetStore.take`).

        Raises:
            InvalidInputError: ``capacity`` < 1 or ``rate`` <= 0.
        """
        check_bucket(capacity, rate)
        with self._lock:
            tokens, stamp = self._buckets.get(bucket, (float(capacity), now))
            tokens, stamp, wait = reserve(tokens, stamp, capacity, rate, now)
            self._buckets[bucket] = (tokens, stamp)
        return wait

    def tokens(self, bucket: str, capacity: int, rate: float, now: float) -> float:
        """The tokens ``bucket`` holds at ``now`` (negative: reserved ahead), taking none."""
        with self._lock:
            tokens, stamp = self._buckets.get(bucket, (float(capacity), now))
        return min(float(capacity), tokens + max(0.0, now - stamp) * rate)


def default_budget_path() -> Path:
    """The host-wide budget file: ``arm-budget.sqlite`` in ec2asr's folder of the user's cache
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ec2asr" / "arm-budget.sqlite"


class SqliteBudget:
    """Token buckets in a SQLite file, shared by every process of a host that opens it.

    Each take is one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock serialises the
    processes), so every ec2asr process on the host draws from the same buckets. The file is
    opened on first use; its folder is created (owner-only) when missing.

    Args:
        path: The file (default: :func:`default_budget_path`). Put it on a local disk: SQLite's
            locks are not reliable on network file systems.
        clock: ``"wall"``: refill on the wall clock (``time.time()``, the one clock every
            process of the host shares; the ``now`` callers pass is ignored); ``"caller"``:
            on the ``now`` each caller passes (processes sharing one simulated clock).
        timeout: Seconds to wait for another process's transaction before giving up.

    Raises:
        InvalidInputError: ``path`` is not a path; an unknown ``clock``; a negative ``timeout``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Literal["wall", "caller"] = "wall",
        timeout: float = 30.0,
    ) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InvalidInputError(f"path must be a file path, not {v.shown(path)}")
        if path is not None and not os.fspath(path):
            raise InvalidInputError("path must not be empty")
        if clock not in ("wall", "caller"):
            raise InvalidInputError(f"clock must be 'wall' or 'caller', not {v.shown(clock)}")
        v.check_number("timeout", timeout, minimum=0)
        self.path = Path(path) if path is not None else default_budget_path()
        self._clock = clock
        self._timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"SqliteBudget({str(self.path)!r}, clock={self._clock!r})"

    def take(self, bucket: str, capacity: int, rate: float, now: float) -> float:
        """Take a token from ``bucket`` (see :meth:`BudgetStore.take`).

        Raises:
            InvalidInputError: ``capacity`` < 1 or ``rate`` <= 0; the file cannot be created,
                opened or written (its folder is not writable, it is not a SQLite file).
        """
        check_bucket(capacity, rate)
        with self._lock:
            try:
                conn = self._live()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self._clock == "wall":
                        now = time.time()  # after the lock: waiting for it is not stale
                    row = conn.execute(
                        "SELECT tokens, stamp FROM arm_budget WHERE bucket = ?", (bucket,)
                    ).fetchone()
                    tokens, stamp = (float(capacity), now) if row is None else row
                    tokens, stamp, wait = reserve(tokens, stamp, capacity, rate, now)
                    conn.execute(
                        "INSERT INTO arm_budget (bucket, tokens, stamp) VALUES (?, ?, ?) "
                        "ON CONFLICT (bucket) DO UPDATE SET tokens = excluded.tokens, "
                        "stamp = excluded.stamp",
                        (bucket, tokens, stamp),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._close_quietly()
                raise InvalidInputError(
                    f"the ARM budget file {str(self.path)!r} cannot be used: {exc}. Give "
                    f"another file (arm_budget=... or {ENV_VAR}) on a local, writable disk."
                ) from exc
        return wait

    def _live(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid != os.getpid():
            self._conn = None  # a forked child opens its own connection
        if self._conn is None:
            self._pid = os.getpid()
            if not self.path.parent.is_dir():
                try:
                    self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                except OSError as exc:
                    raise sqlite3.OperationalError(f"cannot create its folder ({exc})") from exc
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            try:
                # The budget is not precious: a crash may lose the last take, never corrupt it.
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS arm_budget "
                    "(bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, stamp REAL NOT NULL)"
                )
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _close_quietly(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the file (idempotent; the next :meth:`take` opens it again)."""
        with self._lock:
            self._close_quietly()


ArmBudget = BudgetStore | str | os.PathLike[str] | None
"""What ``SiteRecoveryClient(arm_budget=...)`` accepts."""


def resolve_budget(value: object, *, env: dict[str, str] | None = None) -> BudgetStore | None:
    """The store a client's ``arm_budget`` names (None: the client's own buckets).

    ``None`` reads :data:`ENV_VAR` (unset or empty: None); ``"host"``: a :class:`SqliteBudget`
    at :func:`default_budget_path`; ``"process"``: None; another string or a path: a
    :class:`SqliteBudget` there; a :class:`BudgetStore`: itself.

    Raises:
        InvalidInputError: Anything else (the variable's value included).
    """
    source = "arm_budget"
    if value is None:
        value = (os.environ if env is None else env).get(ENV_VAR) or None
        source = ENV_VAR
        if value is None:
            return None
    if isinstance(value, BudgetStore) and not isinstance(value, (str, os.PathLike)):
        return value
    if isinstance(value, str):
        if value.strip() == "":
            raise InvalidInputError(f"{source} must not be empty")
        if value == "process":
            return None
        return SqliteBudget(None if value == "host" else value)
    if isinstance(value, os.PathLike):
        return SqliteBudget(value)
    raise InvalidInputError(
        f"{source} must be 'host', 'process', a file path or a budget store (with "
        f"take(bucket, capacity, rate, now)), not {v.shown(value)}"
    )
