"""Which recovery point a failover uses, and the failover audit (``emulator.failovers``).

A cutover without data loss fails over to a recovery point taken after the source stopped: the
shutdown point (see :mod:`ec2asr.testing.emulator.replication`). A failover record says which
point was used and whether data was lost: the source still ran, or the point predates the
source's shutdown.
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
) -> tuple[datetime, str]:
    """The recovery point to fail over to: the one named, else the latest of ``point_type``.

    Returns:
        The point's time and ARM id.

    Raises:
        ArmError: 400 ``RecoveryPointNotFound`` when none exists or the one named is not
            retained (or is another item's).
    """
    points = item.replication.points(now) if item.replication else []
    if not points:
        raise _no_point(item, "")
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
) -> FailoverRecord:
    """The audit record of a failover of ``item`` to ``point`` (its time and id) at ``now``."""
    running = item.source_running
    stopped_at = item.source_down_since
    point_time, point_id = point
    if kind == "test":
        data_loss = False
    else:
        data_loss = running or stopped_at is None or point_time < stopped_at
    return FailoverRecord(
        item=item.name,
        instance_id=item.machine.spec.instance_id,
        kind=kind,
        time=now,
        recovery_point_id=point_id,
        recovery_point_time=point_time,
        source_running=running,
        source_stopped_at=stopped_at,
        data_loss=data_loss,
        recovery_plan=recovery_plan,
        job_name=job_name,
    )
