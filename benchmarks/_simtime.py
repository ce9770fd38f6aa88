"""Simulated time for the migration benchmark: both runs sleep on the emulator's frozen clock.

The ASR emulator's :class:`~ec2asr.testing.SimulatedClock` runs with ``speed=0``: it moves only
when someone sleeps. ec2asr's run is single-threaded, so its ``sleep`` simply advances the clock.
The naive baseline runs a thread per machine; there a sleeping thread must wait until every
other worker thread sleeps too (or has finished) before the clock jumps to the earliest
wake-up: :class:`VirtualTime` is that small discrete-event scheduler. Hours of replication and
thousands of ``Retry-After`` waits then pass in seconds, deterministically in simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.core.polling.arm_polling import ARMPolling

from ec2asr.testing._virtual_time import VirtualTime

if TYPE_CHECKING:
    from ec2asr.testing import SimulatedClock

__all__ = [
    "InlineArmPolling",
    "SleepingTransport",
    "VirtualTime",
    "advancing_sleep",
    "seconds_of",
    "wait_lro",
]


def advancing_sleep(clock: SimulatedClock) -> Callable[[float], None]:
    """A ``sleep`` for a single thread: advance the simulated clock by exactly ``seconds``."""

    def sleep(seconds: float) -> None:
        if seconds > 0:
            clock.advance(seconds)

    return sleep


def seconds_of(clock: SimulatedClock) -> Callable[[], float]:
    """A monotonic ``clock()`` in seconds on the simulated clock (for token buckets)."""
    return lambda: clock.now().timestamp()


class SleepingTransport(RequestsTransport):  # type: ignore[misc]
    """azure-core's requests transport whose ``sleep`` (retries, pollers) is simulated."""

    def __init__(self, sleep: Callable[[float], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sleep_fn = sleep

    def sleep(self, duration: float) -> None:
        self._sleep_fn(duration)


class InlineArmPolling(ARMPolling):
    """azure-mgmt-core's ``ARMPolling``, run on the caller's thread.

    ``LROPoller`` runs its polling method on a thread of its own, which :class:`VirtualTime`
    could not account for. With this method ``begin_*()`` returns at once and :meth:`follow`
    runs the very same polling algorithm (operation-status GETs every ``Retry-After`` or
    polling interval, then the final GET) on the worker thread, sending the same requests as
    ``begin_*().result()`` would.
    """

    def run(self) -> None:
        return None

    def follow(self) -> None:
        """Poll until the operation is finished (raises like ``result()`` would)."""
        ARMPolling.run(self)


def wait_lro(poller: Any) -> Any:
    """``poller.result()``, with the polling done on this thread."""
    poller.polling_method().follow()
    return poller.result()
