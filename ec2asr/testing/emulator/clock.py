"""The emulator's simulated clock: fast-forwarded wall time that tests can also step by hand.

Every duration inside the emulator (initial replication, recovery-point cadence, job tasks) is
measured on this clock. It runs ``speed`` simulated seconds per real second (3600 by default: one
simulated hour per real second) and :meth:`SimulatedClock.advance` jumps it forward. A test that
wants full control passes ``speed=0`` and steps the clock itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

__all__ = ["SimulatedClock"]


class SimulatedClock:
    """A thread-safe simulated UTC clock.

    Args:
        start: The simulated time at construction (timezone-aware; naive values are taken as UTC).
            Defaults to the real current time, to the second.
        speed: Simulated seconds per real second; ``0`` freezes the clock between manual
            :meth:`advance` calls.
        monotonic: The real time source (injectable for tests of the clock itself).

    Raises:
        ValueError: When ``speed`` is negative.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        speed: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._base = start.astimezone(timezone.utc)
        self._real_base = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The current simulated time (UTC, timezone-aware)."""
        with self._lock:
            elapsed = (self._monotonic() - self._real_base) * self._speed
            return self._base + timedelta(seconds=elapsed)

    def advance(self, delta: float | timedelta) -> datetime:
        """Move the clock forward.

        Args:
            delta: Simulated seconds, or a ``timedelta``.

        Returns:
            The new simulated time.

        Raises:
            ValueError: When ``delta`` is negative.
        """
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the simulated clock cannot go backwards")
        with self._lock:
            real = self._monotonic()
            self._base = (
                self._base
                + timedelta(seconds=(real - self._real_base) * self._speed)
                + timedelta(seconds=seconds)
            )
            self._real_base = real
            return self._base

    def set_speed(self, speed: float) -> None:
        """Change the speed factor from now on (the current time is kept).

        Raises:
            ValueError: When ``speed`` is negative.
        """
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            real = self._monotonic()
            self._base += timedelta(seconds=(real - self._real_base) * self._speed)
            self._real_base = real
            self._speed = float(speed)

    def __repr__(self) -> str:
        return f"SimulatedClock(now={self.now().isoformat()}, speed={self._speed:g})"
