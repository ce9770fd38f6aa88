"""Recovery points and target compute sizes of a protected item.

``recoveryPointType`` is ``ApplicationConsistent`` or ``CrashConsistent``, the two values the
spec documents for ``RecoveryPointProperties`` (service.json 2025-08-01).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator.arm import format_time, not_found
from ec2asr.testing.emulator.catalog import target_compute_sizes
from ec2asr.testing.emulator.item_handlers import ITEM, item_of
from ec2asr.testing.emulator.protected_items import ProtectedItem
from ec2asr.testing.emulator.router import Context, Response, Route

__all__ = ["ROUTES"]


def _point_json(item: ProtectedItem, when: datetime, app: bool) -> dict[str, Any]:
    name = item.point_name(when)
    return {
        "name": name,
        "type": (
            "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
            "replicationProtectedItems/recoveryPoints"
        ),
        "id": f"{item.arm_id}/recoveryPoints/{name}",
        "properties": {
            "recoveryPointTime": format_time(when),
            "recoveryPointType": "ApplicationConsistent" if app else "CrashConsistent",
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "isMultiVmSyncPoint": item.policy.enable_multi_vm_sync,
            },
        },
    }


def list_recovery_points(ctx: Context) -> Response:
    """GET the item's recovery points (newest first)."""
    _, item = item_of(ctx)
    points = item.replication.points(ctx.now) if item.replication else []
    return Response(200, {"value": [_point_json(item, p.time, p.app_consistent) for p in points]})


def get_recovery_point(ctx: Context) -> Response:
    """GET one recovery point."""
    _, item = item_of(ctx)
    name = ctx.params["recoveryPointName"].lower()
    for point in item.replication.points(ctx.now) if item.replication else []:
        if item.point_name(point.time).lower() == name:
            return Response(200, _point_json(item, point.time, point.app_consistent))
    raise not_found("recovery point", ctx.params["recoveryPointName"])


def list_target_sizes(ctx: Context) -> Response:
    """GET ``targetComputeSizes``: Azure sizes, with errors where the machine does not fit."""
    _, item = item_of(ctx)
    spec = item.machine.spec
    data_disks = max(0, len(item.disks) - 1)
    values = target_compute_sizes(item.arm_id, len(spec.private_ips), data_disks, spec.firmware)
    return Response(200, {"value": values, "nextLink": None})


ROUTES = [
    Route(
        "GET",
        ITEM + "/recoveryPoints",
        "RecoveryPoints_ListByReplicationProtectedItems",
        list_recovery_points,
    ),
    Route(
        "GET",
        ITEM + "/recoveryPoints/{recoveryPointName}",
        "RecoveryPoints_Get",
        get_recovery_point,
    ),
    Route(
        "GET",
        ITEM + "/targetComputeSizes",
        "TargetComputeSizes_ListByReplicationProtectedItems",
        list_target_sizes,
    ),
]
