"""Simulated time shared by threads: a small discrete-event scheduler.

Used by the benchmarks and the tests that make many threads wait on the sandbox's frozen
:class:`~ec2asr.testing.SimulatedClock` (``speed=0``): nothing sleeps for real.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from datetime import datetime, timedelta

from ec2asr.testing.emulator.clock import SimulatedClock

__all__ = ["VirtualTime"]


class VirtualTime:
    """Simulated time shared by worker threads.

    A worker counts as running from :meth:`enter` until :meth:`leave`, except while it is in
    :meth:`sleep`. When no worker runs, the clock jumps to the earliest wake-up and the workers
    due then run again.
    """

    def __init__(self, clock: SimulatedClock) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._running = 0
        self._sleepers: list[tuple[datetime, int, list[bool]]] = []
        self._seq = itertools.count()
        self.sleeps: list[float] = []
        """Every sleep asked for, in seconds."""

    def seconds(self) -> float:
        """The simulated clock in seconds (a token bucket's ``clock``)."""
        return self._clock.now().timestamp()

    def enter(self, workers: int = 1) -> None:
        """Count ``workers`` more running threads (call before starting them)."""
        with self._cond:
            self._running += workers

    def leave(self) -> None:
        """The calling worker finished."""
        with self._cond:
            self._running -= 1
            self._release()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        with self._cond:
            self.sleeps.append(seconds)
            ticket = [False]
            wake = self._clock.now() + timedelta(seconds=max(0.0, float(seconds)))
            heapq.heappush(self._sleepers, (wake, next(self._seq), ticket))
            self._running -= 1
            self._release()
            while not ticket[0]:
                self._cond.wait()

    def _release(self) -> None:
        if self._running > 0 or not self._sleepers:
            return
        wake = self._sleepers[0][0]
        now = self._clock.now()
        if wake > now:
            now = self._clock.advance(wake - now)
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, ticket = heapq.heappop(self._sleepers)
            ticket[0] = True
            self._running += 1
        self._cond.notify_all()
