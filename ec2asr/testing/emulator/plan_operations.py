"""Recovery plan operations (test failover, its cleanup, unplanned failover, commit) acting on
the plan's items group by group.

A plan operation is one job: for each boot group, its start actions, the operation on every item
of the group (in parallel, so the group lasts as long as one item's operation), then its end
actions. A manual action whose ``failoverTypes`` include the operation suspends the job until
``replicationJobs/{job}/resume``. Items change state when their group completes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import ArmError, invalid, stable_guid
from ec2asr.testing.emulator.audit import failover_record, plan_point_type, resolve_point
from ec2asr.testing.emulator.compute import failover_vm, remove_test_vm, test_vm
from ec2asr.testing.emulator.item_handlers import check_allowed
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.models import FailoverRecord
from ec2asr.testing.emulator.protected_items import ProtectedItem
from ec2asr.testing.emulator.recovery_plans import plan_items, plan_json, plan_of
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import RecoveryPlan

__all__ = ["ROUTES"]


def _action_tasks(actions: list[dict[str, Any]], operation: str, where: str) -> list[TaskSpec]:
    tasks = []
    for action in actions:
        types = action.get("failoverTypes") or []
        directions = action.get("failoverDirections") or ["PrimaryToRecovery"]
        if operation not in types or "PrimaryToRecovery" not in directions:
            continue
        kind = (action.get("customDetails") or {}).get("instanceType", "")
        name = str(action.get("actionName") or "action")
        if kind == "ManualActionDetails":
            tasks.append(TaskSpec("ManualActionTask", f"{where}: {name}", 0.0, manual=True))
        else:
            tasks.append(TaskSpec("ScriptActionTask", f"{where}: {name}", 60.0))
    return tasks


def _run_plan(
    ctx: Context,
    *,
    operation: str,
    scenario: str,
    friendly: str,
    duration: float,
    prepare: Callable[[ProtectedItem], Callable[[datetime], None]],
    validate: Callable[[ProtectedItem], None] | None = None,
    on_item_failed: Callable[[ProtectedItem, datetime], None],
    after: Callable[[RecoveryPlan, datetime], None] | None = None,
    records: list[FailoverRecord] | None = None,
) -> Response:
    vault, plan = plan_of(ctx)
    items = plan_items(vault, plan)
    if not items:
        raise invalid(f"The recovery plan '{plan.name}' has no replicated items.")
    for item in items:
        ctx.emulator.sample_item(item, ctx.now)
        check_allowed(ctx, item, operation)
        if validate:
            validate(item)
    pending: dict[str, ProtectedItem] = {}
    tasks: list[TaskSpec] = []
    for index, group in enumerate(plan.groups):
        if group["groupType"] != "Boot":
            continue
        members = [vault.find_item_by_id(e["id"]) for e in group["replicationProtectedItems"]]
        effects = []
        for member in members:
            if member is None:
                continue
            effects.append((member, prepare(member)))
            pending[member.arm_id] = member
        tasks += _action_tasks(
            group["startGroupActions"], operation, f"Group {index - 1}: pre-action"
        )

        def group_done(when: datetime, effects: list[Any] = effects) -> None:
            for member, effect in effects:
                effect(when)
                pending.pop(member.arm_id, None)

        tasks.append(
            TaskSpec(
                "RecoveryPlanGroupTask",
                f"Group {index - 1}: {friendly}",
                duration,
                on_done=group_done,
            )
        )
        tasks += _action_tasks(
            group["endGroupActions"], operation, f"Group {index - 1}: post-action"
        )

    def failed(when: datetime) -> None:
        for member in list(pending.values()):
            on_item_failed(member, when)

    def succeeded(when: datetime) -> None:
        if after:
            after(plan, when)

    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=stable_guid("plan", vault.asr_id, plan.name),
        target_name=plan.name,
        target_type="RecoveryPlan",
        tasks=tasks,
        on_success=succeeded,
        on_failure=failed,
        on_cancel=failed,
    )
    plan.current_job = job.name
    for item in items:
        item.current_job = job.name
    for record in records or []:
        ctx.emulator.record_failover(
            attrs.evolve(record, recovery_plan=plan.name, job_name=job.name)
        )
    return lro.accept_job(
        ctx, vault, job, lambda: plan_json(ctx.emulator, vault, plan, ctx.emulator.now())
    )


def plan_test_failover(ctx: Context) -> Response:
    """POST testFailover on a plan."""
    properties = ctx.body.get("properties") or {}
    network = properties.get("networkId")
    point_type = plan_point_type(properties)
    records: list[FailoverRecord] = []

    def validate(item: ProtectedItem) -> None:
        if not (network or item.settings.get("testNetworkId")):
            raise invalid(f"A test network is required for '{item.name}': pass networkId.")
        resolve_point(item, None, ctx.now, point_type, dry_run=True)

    def prepare(item: ProtectedItem) -> Callable[[datetime], None]:
        point = resolve_point(item, None, ctx.now, point_type)
        records.append(failover_record(item, kind="test", now=ctx.now, point=point))
        item.test_failover = "running"

        def done(when: datetime) -> None:
            item.test_failover = "done"
            item.last_test_failover = when
            test_vm(ctx.emulator, item, when)

        return done

    def failed(item: ProtectedItem, _: datetime) -> None:
        item.test_failover = "failed"

    def after(plan: RecoveryPlan, when: datetime) -> None:
        plan.last_test_failover = when

    return _run_plan(
        ctx,
        operation="TestFailover",
        scenario="TestFailover",
        friendly="Test failover",
        duration=ctx.emulator.timings.test_failover,
        prepare=prepare,
        validate=validate,
        on_item_failed=failed,
        after=after,
        records=records,
    )


def plan_test_failover_cleanup(ctx: Context) -> Response:
    """POST testFailoverCleanup on a plan."""

    def prepare(item: ProtectedItem) -> Callable[[datetime], None]:
        item.test_failover = "cleaning"

        def done(_: datetime) -> None:
            item.test_failover = "none"
            remove_test_vm(ctx.emulator, item)

        return done

    def failed(item: ProtectedItem, _: datetime) -> None:
        item.test_failover = "done"

    return _run_plan(
        ctx,
        operation="TestFailoverCleanup",
        scenario="TestFailoverCleanup",
        friendly="Cleanup test failover",
        duration=ctx.emulator.timings.test_failover_cleanup,
        prepare=prepare,
        on_item_failed=failed,
    )


def plan_unplanned_failover(ctx: Context) -> Response:
    """POST unplannedFailover on a plan (each item's latest point of ``recoveryPointType``)."""
    properties = ctx.body.get("properties") or {}
    if properties.get("failoverDirection") not in (None, "PrimaryToRecovery"):
        raise invalid("failoverDirection must be 'PrimaryToRecovery' for InMageRcm.")
    point_type = plan_point_type(properties)
    records: list[FailoverRecord] = []

    latest = point_type in (None, "Latest")

    def validate(item: ProtectedItem) -> None:
        resolve_point(item, None, ctx.now, point_type, dry_run=True)

    def prepare(item: ProtectedItem) -> Callable[[datetime], None]:
        point = resolve_point(item, None, ctx.now, point_type)
        records.append(
            failover_record(item, kind="unplanned", now=ctx.now, point=point, latest=latest)
        )
        item.phase = "failing_over"
        if item.replication:
            item.replication.stop(ctx.now)

        def done(when: datetime) -> None:
            item.phase = "failed_over"
            item.active_location = "Recovery"
            item.last_failover = when
            item.failover_recovery_point = point[1]
            failover_vm(ctx.emulator, item, when)

        return done

    def failed(item: ProtectedItem, _: datetime) -> None:
        item.phase = "failover_failed"  # replication does not resume

    def after(plan: RecoveryPlan, when: datetime) -> None:
        plan.last_unplanned_failover = when

    return _run_plan(
        ctx,
        operation="UnplannedFailover",
        scenario="UnplannedFailover",
        friendly="Failover",
        duration=ctx.emulator.timings.unplanned_failover,
        prepare=prepare,
        validate=validate,
        on_item_failed=failed,
        after=after,
        records=records,
    )


def plan_failover_commit(ctx: Context) -> Response:
    """POST failoverCommit on a plan."""

    def prepare(item: ProtectedItem) -> Callable[[datetime], None]:
        item.phase = "committing"

        def done(_: datetime) -> None:
            item.phase = "committed"

        return done

    def failed(item: ProtectedItem, _: datetime) -> None:
        item.phase = "failed_over"

    return _run_plan(
        ctx,
        operation="Commit",
        scenario="CommitFailover",
        friendly="Commit",
        duration=ctx.emulator.timings.failover_commit,
        prepare=prepare,
        on_item_failed=failed,
    )


def plan_failover_cancel(ctx: Context) -> Response:
    """POST failoverCancel on a plan: offered only after a planned failover (from Azure back),
    never after a forward failover of InMageRcm items; refused like any disallowed operation."""
    vault, plan = plan_of(ctx)
    items = plan_items(vault, plan)
    for item in items:
        ctx.emulator.sample_item(item, ctx.now)
        check_allowed(ctx, item, "CancelFailover")
    raise invalid(f"The recovery plan '{plan.name}' has no replicated items.")


def plan_planned_failover(ctx: Context) -> Response:
    """POST plannedFailover on a plan: InMageRcm items have no planned failover."""
    vault, plan = plan_of(ctx)
    for item in plan_items(vault, plan):
        check_allowed(ctx, item, "PlannedFailover")
    raise ArmError(
        400, "OperationNotAllowed", "Planned failover is not supported for this recovery plan."
    )


_PLAN = "VAULT/replicationRecoveryPlans/{recoveryPlanName}"
ROUTES = [
    Route(
        "POST",
        _PLAN + "/testFailover",
        "ReplicationRecoveryPlans_TestFailover",
        plan_test_failover,
        write=True,
    ),
    Route(
        "POST",
        _PLAN + "/testFailoverCleanup",
        "ReplicationRecoveryPlans_TestFailoverCleanup",
        plan_test_failover_cleanup,
        write=True,
    ),
    Route(
        "POST",
        _PLAN + "/unplannedFailover",
        "ReplicationRecoveryPlans_UnplannedFailover",
        plan_unplanned_failover,
        write=True,
    ),
    Route(
        "POST",
        _PLAN + "/failoverCommit",
        "ReplicationRecoveryPlans_FailoverCommit",
        plan_failover_commit,
        write=True,
    ),
    Route(
        "POST",
        _PLAN + "/failoverCancel",
        "ReplicationRecoveryPlans_FailoverCancel",
        plan_failover_cancel,
        write=True,
    ),
    Route(
        "POST",
        _PLAN + "/plannedFailover",
        "ReplicationRecoveryPlans_PlannedFailover",
        plan_planned_failover,
        write=True,
    ),
]
