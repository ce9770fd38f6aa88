"""Which recovery point a failover uses, and the failover audit (``emulator.failovers``).

A failover names a listed recovery point, or asks for "Latest" (``recoveryPointId`` null for an
item, ``recoveryPointType`` ``Latest`` for a recovery plan): ASR first processes every write the
appliance received into a point of its own, then fails over to it (Microsoft Learn, "Run a
failover from on-premises to Azure": *Latest (lowest RPO): processes all the data that has been
sent to Site Recovery*). A failover record says which point was used and how many seconds of
the source's writes it misses: none when the source was stopped and nothing was still pending at
its agent (or the named point is newer than its last write).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import ArmError, invalid, last_segment
from ec2asr.testing.emulator.models import FailoverRecord
from ec2asr.testing.emulator.protected_items import ProtectedItem

__all__ = ["RECOVERY_POINT_TYPES", "failover_record", "plan_point_type", "resolve_point"]

RECOVERY_POINT_TYPES = (
    "Latest",
    "LatestProcessed",
    "LatestCrashConsistent",
    "LatestApplicationConsistent",
)
"""InMageRcm recovery-plan ``recoveryPointType`` values. The emulator processes data as it
arrives, so every one but ``LatestApplicationConsistent`` picks the newest point."""


def _no_point(item: ProtectedItem, detail: str) -> ArmError:
    return ArmError(
        400,
        "RecoveryPointNotFound",
        f"No {detail}recovery point is available for '{item.name}' yet.",
        extra={
            "possibleCauses": "Initial replication has not completed or replication is stalled.",
            "recommendedAction": "Wait for initial replication to complete and retry.",
        },
    )


def resolve_point(
    item: ProtectedItem,
    point_id: str | None,
    now: datetime,
    point_type: str | None = None,
    *,
    dry_run: bool = False,
) -> tuple[datetime, str]:
    """The recovery point to fail over to: the one named, else per ``point_type`` ("Latest"
    when None: every write received is processed into a new point).

    Returns:
        The point's time and ARM id. With ``dry_run`` a "Latest" point is only checked for, not
        created.

    Raises:
        ArmError: 400 ``RecoveryPointNotFound`` when none exists or the one named is not
            retained (or is another item's).
    """
    repl = item.replication
    points = repl.points(now) if repl else []
    if point_id:
        wanted = last_segment(point_id).lower()
        for point in points:
            if item.point_name(point.time).lower() == wanted:
                return point.time, item.point_id(point.time)
        raise ArmError(
            400,
            "RecoveryPointNotFound",
            f"The recovery point '{point_id}' is not available for '{item.name}'.",
            extra={
                "recommendedAction": (
                    "Use the latest recovery point or one listed by recoveryPoints."
                )
            },
        )
    if point_type in (None, "Latest"):
        latest = repl.latest_for_failover(now, record=not dry_run) if repl else None
        if latest is None:
            raise _no_point(item, "")
        return latest.time, item.point_id(latest.time)
    if not points:
        raise _no_point(item, "")
    if point_type != "LatestApplicationConsistent":
        return points[0].time, item.point_id(points[0].time)
    for point in points:
        if point.app_consistent:
            return point.time, item.point_id(point.time)
    raise _no_point(item, "application-consistent ")


def plan_point_type(properties: dict[str, Any]) -> str | None:
    """The ``recoveryPointType`` of a recovery-plan failover's InMageRcm input, if any.

    Raises:
        ArmError: 400 for input of another provider or an unknown point type.
    """
    chosen = None
    for detail in properties.get("providerSpecificDetails") or []:
        kind = str(detail.get("instanceType", "")).lower()
        if kind not in ("inmagercm", "recoveryplanproviderspecificfailoverinput"):
            raise invalid(
                f"Provider input '{detail.get('instanceType')}' does not apply to InMageRcm items."
            )
        value = detail.get("recoveryPointType")
        if value is not None and value not in RECOVERY_POINT_TYPES:
            raise invalid(
                f"recoveryPointType '{value}' is not valid; use one of "
                f"{', '.join(RECOVERY_POINT_TYPES)}."
            )
        chosen = value or chosen
    return chosen


def failover_record(
    item: ProtectedItem,
    *,
    kind: str,
    now: datetime,
    point: tuple[datetime, str],
    recovery_plan: str | None = None,
    job_name: str | None = None,
    latest: bool = False,
) -> FailoverRecord:
    """The audit record of a failover of ``item`` to ``point`` (its time and id) at ``now``."""
    running = item.source_running
    stopped_at = item.source_down_since
    point_time, point_id = point
    repl = item.replication
    pending = repl.pending_at_source(now) / 1024**2 if repl else 0.0
    lost = 0.0 if kind == "test" or repl is None else repl.loss_seconds(now, point_time)
    return FailoverRecord(
        item=item.name,
        instance_id=item.machine.spec.instance_id,
        kind=kind,
        time=now,
        recovery_point_id=point_id,
        recovery_point_time=point_time,
        source_running=running,
        source_stopped_at=stopped_at,
        data_loss=kind != "test" and (running or lost > 0),
        recovery_plan=recovery_plan,
        job_name=job_name,
        data_loss_seconds=lost,
        pending_at_source_mb=round(pending, 2),
        latest=latest,
    )
