"""Progress events: what ec2asr tells callers while a migration runs.

Every event goes to the callbacks given to the :class:`~ec2asr.Migration` (``on_event=``), to
the ``ec2asr`` logger, and to the journal's event log. A callback that raises is logged and
ignored: a progress display must never stop a migration.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

import attrs

from ec2asr._frozen import frozen_map as _frozen

__all__ = ["EventCallback", "EventKind", "MigrationEvent"]

logger = logging.getLogger("ec2asr")


class EventKind(str, enum.Enum):
    """What an event reports."""

    STEP_STARTED = "step-started"
    """A step began for a machine (or a recovery plan)."""
    STAGE_REACHED = "stage-reached"
    """A machine reached a stage."""
    PROGRESS = "progress"
    """Measurable progress (initial replication %, RPO)."""
    ACTION_REQUIRED = "action-required"
    """A person must do something (add servers on the appliance, confirm cutover...)."""
    WARNING = "warning"
    """Something is not right but the machine carries on."""
    FAILED = "failed"
    """A machine failed permanently at a step; the others carry on."""
    INFO = "info"
    """Anything else worth knowing (a resumed step, a reused policy...)."""

    def __str__(self) -> str:
        return self.value


_LEVELS = {
    EventKind.STEP_STARTED: logging.INFO,
    EventKind.STAGE_REACHED: logging.INFO,
    EventKind.PROGRESS: logging.DEBUG,
    EventKind.ACTION_REQUIRED: logging.WARNING,
    EventKind.WARNING: logging.WARNING,
    EventKind.FAILED: logging.ERROR,
    EventKind.INFO: logging.INFO,
}


@attrs.frozen
class MigrationEvent:
    """One progress event.

    Attributes:
        kind: What it reports.
        message: A human sentence (never contains secrets).
        instance_id: The machine concerned, if one.
        stage: The stage concerned (a :class:`~ec2asr.Stage` value), if one.
        data: Machine-readable facts (``{"percent": 42}``, ``{"job": "..."}``).
        at: When it happened (UTC).
    """

    kind: EventKind
    message: str
    instance_id: str | None = None
    stage: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, hash=False)
    at: datetime = attrs.field(factory=lambda: datetime.now(timezone.utc))

    def __str__(self) -> str:
        who = f"{self.instance_id}: " if self.instance_id else ""
        return f"{who}{self.message}"


class EventCallback(Protocol):
    """Anything callable with one :class:`MigrationEvent`."""

    def __call__(self, event: MigrationEvent, /) -> None:
        """Receive one event."""


class EventSink(Protocol):
    """Where the dispatcher also records events (the journal)."""

    def append_event(
        self,
        *,
        kind: str,
        message: str,
        instance_id: str | None = ...,
        stage: str | None = ...,
        data: Mapping[str, Any] | None = ...,
        at: datetime | None = ...,
    ) -> None:
        """Record one event."""


class EventDispatcher:
    """Sends each event to the callbacks, the logger and (optionally) the journal."""

    def __init__(
        self,
        callbacks: Iterable[Callable[[MigrationEvent], None]] = (),
        *,
        sink: EventSink | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._callbacks = list(callbacks)
        self._sink = sink
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def add(self, callback: Callable[[MigrationEvent], None]) -> None:
        """Add a callback."""
        self._callbacks.append(callback)

    def emit(
        self,
        kind: EventKind,
        message: str,
        *,
        instance_id: str | None = None,
        stage: str | None = None,
        data: Mapping[str, Any] | None = None,
        record: bool = True,
        level: int | None = None,
    ) -> MigrationEvent:
        """Build, log, record and dispatch one event; return it.

        Args:
            kind: What it reports.
            message: A human sentence (never a secret).
            instance_id: The machine concerned.
            stage: The stage concerned.
            data: Machine-readable facts.
            record: Also write it to the journal's event log (progress ticks never are).
            level: Log it at this level instead of the kind's usual one (an ASR warning that
                ec2asr is about to act on goes to DEBUG).
        """
        event = MigrationEvent(
            kind=kind,
            message=message,
            instance_id=instance_id,
            stage=stage,
            data=data,
            at=self._clock(),
        )
        logger.log(_LEVELS[kind] if level is None else level, "%s", event)
        if record and self._sink is not None and kind is not EventKind.PROGRESS:
            self._sink.append_event(
                kind=kind.value,
                message=message,
                instance_id=instance_id,
                stage=stage,
                data=dict(event.data),
                at=event.at,
            )
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:
                logger.exception("an ec2asr event callback raised; ignoring it")
        return event
