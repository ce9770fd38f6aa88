"""Simulated time shared by threads: a small discrete-event scheduler (as in the benchmarks).

A thread counts as running from :meth:`VirtualTime.enter` until :meth:`VirtualTime.leave`,
except while it is in :meth:`VirtualTime.sleep`. When no thread runs, the simulated clock jumps
to the earliest wake-up and the threads due then run again. Nothing sleeps for real.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from datetime import timedelta
from typing import Any

from ec2asr.testing import SimulatedClock


class VirtualTime:
    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._running = 0
        self._sleepers: list[tuple[Any, int, list[bool]]] = []
        self._seq = itertools.count()
        self.sleeps: list[float] = []

    def seconds(self) -> float:
        """The simulated clock in seconds (a token bucket's ``clock``)."""
        return self.clock.now().timestamp()

    def enter(self, workers: int = 1) -> None:
        with self._cond:
            self._running += workers

    def leave(self) -> None:
        with self._cond:
            self._running -= 1
            self._release()

    def sleep(self, seconds: float) -> None:
        with self._cond:
            self.sleeps.append(seconds)
            ticket = [False]
            wake = self.clock.now() + timedelta(seconds=max(0.0, float(seconds)))
            heapq.heappush(self._sleepers, (wake, next(self._seq), ticket))
            self._running -= 1
            self._release()
            while not ticket[0]:
                self._cond.wait()

    def _release(self) -> None:
        if self._running > 0 or not self._sleepers:
            return
        wake = self._sleepers[0][0]
        now = self.clock.now()
        if wake > now:
            now = self.clock.advance(wake - now)
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, ticket = heapq.heappop(self._sleepers)
            ticket[0] = True
            self._running += 1
        self._cond.notify_all()
