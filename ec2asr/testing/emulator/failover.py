"""Failover operations on a protected item: test failover and its cleanup, unplanned failover,
commit, change of recovery point. Planned failover is refused (InMageRcm has none to Azure), and
so is cancelling a forward failover: the modernized stack offers ``CancelFailover`` only after a
planned failover from Azure back (Microsoft Learn, "About on-premises disaster recovery
failover/failback - Modernized"), which ec2asr never runs. A failed failover leaves the item
``UnplannedFailoverFailed``: replication does not resume; the failover may be retried or
protection disabled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ec2asr.testing.emulator import asr_errors
from ec2asr.testing.emulator.arm import invalid, last_segment
from ec2asr.testing.emulator.audit import failover_record, resolve_point
from ec2asr.testing.emulator.compute import failover_vm, failover_vm_id, remove_test_vm, test_vm
from ec2asr.testing.emulator.item_handlers import (
    ITEM,
    check_allowed,
    item_job,
    item_of,
    job_details,
)
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.router import Context, Response, Route

__all__ = ["ROUTES"]


def _provider_input(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    properties = ctx.body.get("properties") or {}
    provider = properties.get("providerSpecificDetails") or {}
    if provider and str(provider.get("instanceType", "")).lower() != "inmagercm":
        raise invalid("providerSpecificDetails.instanceType must be 'InMageRcm'.")
    direction = properties.get("failoverDirection")
    if direction not in (None, "PrimaryToRecovery"):
        raise invalid("failoverDirection must be 'PrimaryToRecovery' for InMageRcm.")
    return properties, provider


def test_failover(ctx: Context) -> Response:
    """POST testFailover."""
    vault, item = item_of(ctx)
    check_allowed(ctx, item, "TestFailover")
    properties, provider = _provider_input(ctx)
    network = (
        provider.get("networkId")
        or properties.get("networkId")
        or item.settings.get("testNetworkId")
    )
    if not network:
        raise invalid(
            "A test network is required: pass networkId or set testNetworkId on the item."
        )
    point = resolve_point(item, provider.get("recoveryPointId"), ctx.now)
    point_id = point[1]
    item.test_failover = "running"
    job_name: list[str | None] = [None]
    total = ctx.emulator.timings.test_failover

    def done(when: datetime) -> None:
        item.test_failover = "done"
        item.test_failover_job = job_name[0]
        item.last_test_failover = when
        test_vm(ctx.emulator, item, when)

    def failed(_: datetime) -> None:
        item.test_failover = "failed"

    network_name = last_segment(str(network))
    custom = job_details(item, "TestFailoverJobDetails")
    custom.update(
        {
            "testFailoverStatus": "Completed",
            "comments": "",
            "networkName": network_name,
            "networkFriendlyName": network_name,
            "networkType": properties.get("networkType", "VmNetworkAsInput"),
            "protectedItemDetails": [
                {
                    "name": item.name,
                    "friendlyName": item.friendly_name,
                    "testVmName": f"{item.target_vm_name}-test",
                    "testVmFriendlyName": f"{item.target_vm_name}-test",
                    "networkConnectionStatus": "Connected",
                    "networkFriendlyName": network_name,
                    "subnet": item.settings.get("testSubnetName"),
                    "recoveryPointId": point_id,
                }
            ],
        }
    )
    tasks = [
        TaskSpec("TestFailoverPrerequisitesCheck", "Prerequisites check for test failover", 30.0),
        TaskSpec(
            "CreateTestVirtualMachine", "Create test virtual machine", max(0.0, total - 150.0)
        ),
        TaskSpec("StartTestVirtualMachine", "Start the virtual machine", 120.0),
    ]
    response = item_job(
        ctx,
        vault,
        item,
        scenario="TestFailover",
        friendly="Test failover",
        tasks=tasks,
        custom=custom,
        on_success=done,
        on_failure=failed,
        on_cancel=failed,
    )
    job_name[0] = item.current_job
    ctx.emulator.record_failover(
        failover_record(item, kind="test", now=ctx.now, point=point, job_name=item.current_job)
    )
    return response


def test_failover_cleanup(ctx: Context) -> Response:
    """POST testFailoverCleanup."""
    vault, item = item_of(ctx)
    check_allowed(ctx, item, "TestFailoverCleanup")
    properties = ctx.body.get("properties") or {}
    comments = properties.get("comments")
    if comments is not None and not isinstance(comments, str):
        raise invalid("comments must be a string.")
    item.test_failover = "cleaning"

    def done(_: datetime) -> None:
        item.test_failover = "none"
        item.test_failover_job = None
        remove_test_vm(ctx.emulator, item)

    def failed(_: datetime) -> None:
        item.test_failover = "done"

    tasks = [
        TaskSpec(
            "DeleteTestVirtualMachine",
            "Delete test virtual machine",
            ctx.emulator.timings.test_failover_cleanup,
        )
    ]
    return item_job(
        ctx,
        vault,
        item,
        scenario="TestFailoverCleanup",
        friendly="Cleanup test failover",
        tasks=tasks,
        on_success=done,
        on_failure=failed,
        cancellable=False,
    )


def unplanned_failover(ctx: Context) -> Response:
    """POST unplannedFailover: fail over to Azure at a recovery point (latest by default)."""
    vault, item = item_of(ctx)
    check_allowed(ctx, item, "UnplannedFailover")
    properties, provider = _provider_input(ctx)
    if properties.get("sourceSiteOperations") not in (None, "Required", "NotRequired"):
        raise invalid("sourceSiteOperations must be 'Required' or 'NotRequired'.")
    named = provider.get("recoveryPointId")
    point = resolve_point(item, named, ctx.now)
    point_id = point[1]
    record = failover_record(item, kind="unplanned", now=ctx.now, point=point, latest=not named)
    previous = item.phase
    item.phase = "failing_over"
    if item.replication:
        item.replication.stop(ctx.now)
    total = ctx.emulator.timings.unplanned_failover
    shutdown = str(provider.get("performShutdown", "false")).lower() == "true"
    tasks = [TaskSpec("FailoverPrerequisitesCheck", "Prerequisites check for failover", 30.0)]
    if shutdown:
        tasks.append(TaskSpec("ShutdownSourceMachine", "Shut down the source machine", 60.0))
    tasks += [
        TaskSpec("CreateVirtualMachine", "Create the virtual machine", max(0.0, total - 150.0)),
        TaskSpec("StartVirtualMachine", "Start the virtual machine", 120.0),
    ]
    clash = None
    if ctx.emulator.virtual_machine(failover_vm_id(item)) is not None:
        clash = asr_errors.target_vm_exists(
            item.target_vm_name, str(item.settings["targetResourceGroupId"])
        )

    def done(when: datetime) -> None:
        item.phase = "failed_over"
        item.active_location = "Recovery"
        item.last_failover = when
        item.failover_recovery_point = point_id
        failover_vm(ctx.emulator, item, when)

    def failed(_: datetime) -> None:
        # Replication does not resume after a failed failover (the modernized failover docs).
        item.phase = "failover_failed" if previous in ("protected", "failover_failed") else previous
        item.active_location = "Primary"

    custom = job_details(item, "FailoverJobDetails")
    custom["protectedItemDetails"] = [
        {
            "name": item.name,
            "friendlyName": item.friendly_name,
            "recoveryPointId": point_id,
            "networkFriendlyName": last_segment(str(item.settings.get("targetNetworkId") or ""))
            or None,
        }
    ]
    response = item_job(
        ctx,
        vault,
        item,
        scenario="UnplannedFailover",
        friendly="Failover",
        tasks=tasks,
        custom=custom,
        on_success=done,
        on_failure=failed,
        on_cancel=failed,
        error=clash,
        fail_at=len(tasks) - 2 if clash else None,
    )
    ctx.emulator.record_failover(attrs.evolve(record, job_name=item.current_job))
    return response


def failover_commit(ctx: Context) -> Response:
    """POST failoverCommit."""
    vault, item = item_of(ctx)
    check_allowed(ctx, item, "Commit")
    item.phase = "committing"

    def done(_: datetime) -> None:
        item.phase = "committed"

    def failed(_: datetime) -> None:
        item.phase = "failed_over"

    tasks = [
        TaskSpec("CommitFailover", "Commit the failover", ctx.emulator.timings.failover_commit)
    ]
    return item_job(
        ctx,
        vault,
        item,
        scenario="CommitFailover",
        friendly="Commit",
        tasks=tasks,
        on_success=done,
        on_failure=failed,
        cancellable=False,
    )


def failover_cancel(ctx: Context) -> Response:
    """POST failoverCancel: never allowed after a forward (unplanned) failover of an InMageRcm
    item; refused as ASR refuses any operation its ``allowedOperations`` do not offer."""
    _, item = item_of(ctx)
    check_allowed(ctx, item, "CancelFailover")
    raise AssertionError("unreachable: CancelFailover is never offered to a forward failover")


def apply_recovery_point(ctx: Context) -> Response:
    """POST applyRecoveryPoint: change the recovery point of a failed-over machine."""
    vault, item = item_of(ctx)
    check_allowed(ctx, item, "ChangePit")
    properties = ctx.body.get("properties") or {}
    provider = properties.get("providerSpecificDetails") or {}
    if str(provider.get("instanceType", "")).lower() != "inmagercm":
        raise invalid("providerSpecificDetails.instanceType must be 'InMageRcm'.")
    if not provider.get("recoveryPointId"):
        raise invalid("recoveryPointId is required.")
    stop = item.replication.stopped if item.replication else None
    point = resolve_point(item, str(provider["recoveryPointId"]), stop or ctx.now)
    point_id = point[1]

    def done(_: datetime) -> None:
        item.failover_recovery_point = point_id

    tasks = [TaskSpec("ChangeRecoveryPoint", "Change recovery point", 300.0, on_done=done)]
    response = item_job(
        ctx,
        vault,
        item,
        scenario="ChangeRecoveryPoint",
        friendly="Change recovery point",
        tasks=tasks,
        cancellable=False,
    )
    ctx.emulator.record_failover(
        failover_record(
            item, kind="change-point", now=ctx.now, point=point, job_name=item.current_job
        )
    )
    return response


def planned_failover(ctx: Context) -> Response:
    """POST plannedFailover: not an InMageRcm operation; refused like any disallowed one."""
    _, item = item_of(ctx)
    check_allowed(ctx, item, "PlannedFailover")
    raise AssertionError("unreachable: PlannedFailover is never allowed for InMageRcm")


ROUTES = [
    Route(
        "POST",
        ITEM + "/testFailover",
        "ReplicationProtectedItems_TestFailover",
        test_failover,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/testFailoverCleanup",
        "ReplicationProtectedItems_TestFailoverCleanup",
        test_failover_cleanup,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/unplannedFailover",
        "ReplicationProtectedItems_UnplannedFailover",
        unplanned_failover,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/failoverCommit",
        "ReplicationProtectedItems_FailoverCommit",
        failover_commit,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/failoverCancel",
        "ReplicationProtectedItems_FailoverCancel",
        failover_cancel,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/applyRecoveryPoint",
        "ReplicationProtectedItems_ApplyRecoveryPoint",
        apply_recovery_point,
        write=True,
    ),
    Route(
        "POST",
        ITEM + "/plannedFailover",
        "ReplicationProtectedItems_PlannedFailover",
        planned_failover,
        write=True,
    ),
]
