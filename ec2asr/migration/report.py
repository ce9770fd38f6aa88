"""``MigrationReport``: where every machine is, how long each stage took, what went wrong."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ec2asr.migration.journal import MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration.timeline import MigrationTimeline

__all__ = ["MachineReport", "MigrationReport"]


@attrs.frozen
class MachineReport:
    """One machine in a :class:`MigrationReport`.

    Attributes:
        instance_id: The EC2 instance.
        name: Its Name tag.
        stage: The last stage it reached.
        status: How it is doing.
        stage_times: When it reached each stage (UTC).
        rpo_at_failover_seconds: ASR's RPO when it failed over, if it did.
        failover_recovery_point_id: The recovery point it failed over to ("Latest" processed
            into a point of its own), read back from the item's recoveryPoints.
        data_loss_window_seconds: How long before the stop request that point's last write
            was: 0 means every write made before the stop is in Azure; None when unknown.
        rolled_back: What the last rollback did and cost (``failed_over``, ``cost``,
            ``azure_vm_id`` of the VM it left deallocated), if there was one.
        azure_vm_id: The Azure VM's ARM id, once known.
        error: The last permanent error (class name and message), if any.
        waiting: What it waits for, if anything.
        target_vm_name: The Azure VM's name, as planned.
        initial_replication_percent: Initial replication's last reported progress, 0 to 100.
        stop_requested_at: When ec2asr asked EC2 to stop the source for cutover (UTC).
        failover_recovery_point_time: The time of the recovery point it failed over to.
        blockers: Why it is not migrated (blocked machines).
    """

    instance_id: str
    name: str | None
    stage: Stage
    status: MachineStatus
    stage_times: tuple[tuple[str, datetime], ...] = ()
    rpo_at_failover_seconds: int | None = None
    failover_recovery_point_id: str | None = None
    data_loss_window_seconds: float | None = None
    rolled_back: dict[str, Any] | None = attrs.field(default=None, hash=False)
    azure_vm_id: str | None = None
    error: str | None = None
    waiting: str | None = None
    target_vm_name: str | None = None
    initial_replication_percent: float | None = None
    stop_requested_at: datetime | None = None
    failover_recovery_point_time: datetime | None = None
    blockers: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: MachineRecord) -> MachineReport:
        """Build from the journal's record."""
        data = record.data
        times = tuple(
            (stage, datetime.fromisoformat(at))
            for stage, at in sorted(
                (data.get("stage_times") or {}).items(), key=lambda kv: Stage(kv[0]).order
            )
        )
        error = f"{record.error_type}: {record.error_message}" if record.error_type else None
        target = data.get("target") or {}
        blockers = data.get("blockers") or ()
        waiting = data.get("waiting") if record.status is MachineStatus.WAITING else None
        if record.status is MachineStatus.BLOCKED and blockers:
            waiting = f"blocked: {blockers[0]}"
        return cls(
            instance_id=record.instance_id,
            name=record.name,
            stage=record.stage,
            status=record.status,
            stage_times=times,
            rpo_at_failover_seconds=data.get("rpo_at_failover_seconds"),
            failover_recovery_point_id=data.get("failover_recovery_point_id"),
            data_loss_window_seconds=data.get("data_loss_window_seconds"),
            rolled_back=dict(data["rollback"]) if isinstance(data.get("rollback"), dict) else None,
            azure_vm_id=data.get("azure_vm_id"),
            error=error,
            waiting=waiting,
            target_vm_name=target.get("vm_name") if isinstance(target, dict) else None,
            initial_replication_percent=_number(data.get("percent")),
            stop_requested_at=_time(data.get("stop_requested_at")),
            failover_recovery_point_time=_time(data.get("failover_recovery_point_time")),
            blockers=tuple(str(b) for b in blockers),
        )

    @property
    def note(self) -> str:
        """What a person should know first: the error, the wait, a rollback's cost, the VM."""
        if self.error or self.waiting:
            return str(self.error or self.waiting)
        if self.status is MachineStatus.ROLLED_BACK and self.rolled_back:
            if self.rolled_back.get("failed_over"):
                vm = self.rolled_back.get("azure_vm_id")
                left = f"; Azure VM {vm} left deallocated (delete it)" if vm else ""
                return f"rolled back: {self.rolled_back.get('cost')}{left}"
            return "rolled back: the source runs again; replication carries on"
        return self.azure_vm_id or self.target_vm_name or ""

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from the first recorded stage to the last."""
        if len(self.stage_times) < 2:
            return None
        return (self.stage_times[-1][1] - self.stage_times[0][1]).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "stage": self.stage.value,
            "status": self.status.value,
            "stage_times": {stage: at.isoformat() for stage, at in self.stage_times},
            "duration_seconds": self.duration_seconds,
            "rpo_at_failover_seconds": self.rpo_at_failover_seconds,
            "failover_recovery_point_id": self.failover_recovery_point_id,
            "data_loss_window_seconds": self.data_loss_window_seconds,
            "rolled_back": self.rolled_back,
            "azure_vm_id": self.azure_vm_id,
            "target_vm_name": self.target_vm_name,
            "error": self.error,
            "waiting": self.waiting,
            "initial_replication_percent": self.initial_replication_percent,
            "stop_requested_at": _iso(self.stop_requested_at),
            "failover_recovery_point_time": _iso(self.failover_recovery_point_time),
            "blockers": list(self.blockers),
        }


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{sec:02d}s"


@attrs.frozen
class MigrationReport:
    """The state of a migration, from its journal. Iterating yields :class:`MachineReport`.

    Attributes:
        machines: Every machine the journal knows, in the order it first saw them.
        generated_at: When the report was made.
    """

    machines: tuple[MachineReport, ...]
    generated_at: datetime | None = None

    @classmethod
    def from_records(
        cls, records: Iterable[MachineRecord], *, generated_at: datetime | None = None
    ) -> MigrationReport:
        """Build from journal records (any iterable: each record is read once)."""
        return cls(tuple(MachineReport.from_record(r) for r in records), generated_at)

    def __iter__(self) -> Iterator[MachineReport]:
        return iter(self.machines)

    def __len__(self) -> int:
        return len(self.machines)

    def __getitem__(self, instance_id: str) -> MachineReport:
        for machine in self.machines:
            if machine.instance_id == instance_id:
                return machine
        raise KeyError(instance_id)

    @property
    def completed(self) -> tuple[MachineReport, ...]:
        """Machines whose migration completed."""
        return tuple(m for m in self.machines if m.stage is Stage.COMPLETED)

    @property
    def failed(self) -> tuple[MachineReport, ...]:
        """Machines that failed permanently at some step."""
        return tuple(m for m in self.machines if m.status is MachineStatus.FAILED)

    @property
    def blocked(self) -> tuple[MachineReport, ...]:
        """Machines not migrated because of blockers."""
        return tuple(m for m in self.machines if m.status is MachineStatus.BLOCKED)

    def counts(self) -> dict[str, int]:
        """Machines per stage."""
        return dict(Counter(m.stage.value for m in self.machines))

    def summary(self) -> str:
        """One line: how many machines completed, failed, are blocked or in progress."""
        done, failed, blocked = len(self.completed), len(self.failed), len(self.blocked)
        rest = len(self.machines) - done - failed - blocked
        return (
            f"{len(self.machines)} machines: {done} completed, {rest} in progress, "
            f"{failed} failed, {blocked} blocked"
        )

    def __str__(self) -> str:
        header = (
            f"{'INSTANCE':<20} {'NAME':<16} {'STAGE':<16} {'STATUS':<12} {'TOOK':>7} "
            f"{'RPO@FO':>7}  AZURE VM / NOTE"
        )
        lines = [header, "-" * len(header)]
        for m in self.machines:
            rpo = "-" if m.rpo_at_failover_seconds is None else f"{m.rpo_at_failover_seconds}s"
            note = m.note
            lines.append(
                f"{m.instance_id:<20} {(m.name or '-')[:16]:<16} {m.stage.value:<16} "
                f"{m.status.value:<12} {_duration(m.duration_seconds):>7} {rpo:>7}  {note}"
            )
        lines.append("")
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "schema": "ec2asr.migration-report/1",
            "generated_at": self.generated_at.isoformat() if self.generated_at else None,
            "summary": self.summary(),
            "counts": self.counts(),
            "machines": [m.to_dict() for m in self.machines],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON."""
        return json.dumps(self.to_dict(), indent=indent)

    def timeline(self) -> MigrationTimeline:
        """The machines' stages over time (blocked machines apart), for a page or a notebook."""
        from ec2asr.migration.timeline import MigrationTimeline

        return MigrationTimeline.from_machines(self.machines, generated_at=self.generated_at)

    def to_html(self, *, title: str = "ec2asr migration timeline") -> str:
        """The timeline as one self-contained HTML page (no CDN, no script).

        ``python -m ec2asr report --html FILE`` writes it from a journal.
        """
        return self.timeline().to_html(title=title)

    def _repr_html_(self) -> str:
        return self.timeline()._repr_html_()
