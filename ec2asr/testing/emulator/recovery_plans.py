"""``replicationRecoveryPlans``: create, get, list, update and delete (the plan operations are in
:mod:`ec2asr.testing.emulator.plan_operations`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import (
    NEVER_TIME,
    format_time,
    invalid,
    last_segment,
    not_found,
    stable_guid,
)
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.protected_items import ProtectedItem
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import RecoveryPlan, VaultState

if TYPE_CHECKING:
    from ec2asr.testing.emulator.emulator import AsrEmulator

__all__ = ["ROUTES", "plan_items", "plan_json", "plan_of"]

_GROUP_TYPES = {"Shutdown", "Boot", "Failover"}
_ITEM_OPS = ("TestFailover", "TestFailoverCleanup", "UnplannedFailover", "Commit")


def plan_items(vault: VaultState, plan: RecoveryPlan) -> list[ProtectedItem]:
    items = []
    for group in plan.groups:
        for entry in group["replicationProtectedItems"]:
            item = vault.find_item_by_id(entry["id"])
            if item is not None:
                items.append(item)
    return items


def plan_json(
    emulator: AsrEmulator, vault: VaultState, plan: RecoveryPlan, now: datetime
) -> dict[str, Any]:
    """A recovery plan as ASR returns it."""
    items = plan_items(vault, plan)
    for item in items:
        emulator.sample_item(item, now)
    allowed = [op for op in _ITEM_OPS if all(op in i.allowed_operations(now) for i in items)]
    job = vault.jobs.get(plan.current_job) if plan.current_job else None
    properties: dict[str, Any] = {
        "friendlyName": plan.name,
        "primaryFabricId": plan.primary_fabric_id,
        "primaryFabricFriendlyName": last_segment(plan.primary_fabric_id),
        "recoveryFabricId": plan.recovery_fabric_id,
        "recoveryFabricFriendlyName": "Microsoft Azure",
        "failoverDeploymentModel": plan.failover_deployment_model,
        "replicationProviders": ["InMageRcm"],
        "allowedOperations": allowed
        if job is None or job.state_at(now) not in ("InProgress", "Suspended")
        else [],
        "groups": plan.groups,
        "providerSpecificDetails": [],
    }
    properties["lastPlannedFailoverTime"] = NEVER_TIME
    properties["lastUnplannedFailoverTime"] = (
        format_time(plan.last_unplanned_failover) or NEVER_TIME
    )
    properties["lastTestFailoverTime"] = format_time(plan.last_test_failover) or NEVER_TIME
    if job is not None:
        state = job.state_at(now)
        properties["currentScenario"] = {
            "scenarioName": job.scenario_name,
            "jobId": f"{vault.asr_id}/replicationJobs/{job.name}",
            "startTime": format_time(job.start),
        }
        properties["currentScenarioStatus"] = state
        properties["currentScenarioStatusDescription"] = job.to_json(vault.asr_id, now)[
            "properties"
        ]["stateDescription"]
    return {
        "name": plan.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans",
        "id": f"{vault.asr_id}/replicationRecoveryPlans/{plan.name}",
        "properties": properties,
    }


def _groups(vault: VaultState, groups: Any) -> list[dict[str, Any]]:
    if not isinstance(groups, list) or not groups:
        raise invalid("A recovery plan needs at least one group.")
    seen: set[str] = set()
    result: list[dict[str, Any]] = [
        {
            "groupType": "Shutdown",
            "replicationProtectedItems": [],
            "startGroupActions": [],
            "endGroupActions": [],
        },
        {
            "groupType": "Failover",
            "replicationProtectedItems": [],
            "startGroupActions": [],
            "endGroupActions": [],
        },
    ]
    for group in groups:
        kind = group.get("groupType")
        if kind not in _GROUP_TYPES:
            raise invalid(f"groupType '{kind}' is not valid.")
        entries = []
        for entry in group.get("replicationProtectedItems") or []:
            item = vault.find_item_by_id(str(entry.get("id", "")))
            if item is None:
                raise invalid(
                    f"The replicated item '{entry.get('id')}' does not exist in the vault."
                )
            if item.arm_id.lower() in seen:
                raise invalid(f"The replicated item '{item.name}' appears twice in the plan.")
            seen.add(item.arm_id.lower())
            entries.append({"id": item.arm_id, "virtualMachineId": item.name})
        if kind != "Boot" and entries:
            raise invalid("Replicated items can only be placed in Boot groups.")
        if kind == "Boot":
            result.append(
                {
                    "groupType": "Boot",
                    "replicationProtectedItems": entries,
                    "startGroupActions": list(group.get("startGroupActions") or []),
                    "endGroupActions": list(group.get("endGroupActions") or []),
                }
            )
    return result


def plan_of(ctx: Context) -> tuple[VaultState, RecoveryPlan]:
    vault = ctx.vault()
    plan = vault.recovery_plans.get(ctx.params["recoveryPlanName"].lower())
    if plan is None:
        raise not_found("recovery plan", ctx.params["recoveryPlanName"])
    return vault, plan


def _simple_job(
    ctx: Context,
    vault: VaultState,
    plan: RecoveryPlan,
    scenario: str,
    friendly: str,
    done: Callable[[datetime], None],
    result: Any,
) -> Response:
    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=stable_guid("plan", vault.asr_id, plan.name),
        target_name=plan.name,
        target_type="RecoveryPlan",
        tasks=[
            TaskSpec(f"{scenario}Task", friendly, ctx.emulator.timings.recovery_plan, on_done=done)
        ],
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, result)


def create_plan(ctx: Context) -> Response:
    """PUT a recovery plan."""
    vault = ctx.vault()
    properties = ctx.body.get("properties") or {}
    primary = properties.get("primaryFabricId")
    if not primary or last_segment(str(primary)).lower() not in vault.fabrics:
        raise invalid(f"primaryFabricId '{primary}' is not a fabric of the vault.")
    recovery = properties.get("recoveryFabricId") or "Microsoft Azure"
    model = properties.get("failoverDeploymentModel") or "ResourceManager"
    if model not in ("NotApplicable", "Classic", "ResourceManager"):
        raise invalid(f"failoverDeploymentModel '{model}' is not valid.")
    fabric = vault.fabrics[last_segment(str(primary)).lower()]
    plan = RecoveryPlan(
        name=ctx.params["recoveryPlanName"],
        primary_fabric_id=f"{vault.asr_id}/replicationFabrics/{fabric.name}",
        recovery_fabric_id=str(recovery),
        failover_deployment_model=str(model),
        groups=_groups(vault, properties.get("groups")),
    )
    existing = vault.recovery_plans.get(plan.name.lower())

    def done(_: datetime) -> None:
        if existing is not None:
            existing.groups = plan.groups
        else:
            vault.recovery_plans[plan.name.lower()] = plan

    target = existing or plan
    scenario, friendly = (
        ("UpdateRecoveryPlan", "Update a recovery plan")
        if existing
        else ("CreateRecoveryPlan", "Create a recovery plan")
    )
    return _simple_job(
        ctx,
        vault,
        target,
        scenario,
        friendly,
        done,
        lambda: plan_json(ctx.emulator, vault, target, ctx.emulator.now()),
    )


def update_plan(ctx: Context) -> Response:
    """PATCH a recovery plan's groups."""
    vault, plan = plan_of(ctx)
    groups = _groups(vault, (ctx.body.get("properties") or {}).get("groups"))

    def done(_: datetime) -> None:
        plan.groups = groups

    return _simple_job(
        ctx,
        vault,
        plan,
        "UpdateRecoveryPlan",
        "Update a recovery plan",
        done,
        lambda: plan_json(ctx.emulator, vault, plan, ctx.emulator.now()),
    )


def delete_plan(ctx: Context) -> Response:
    """DELETE a recovery plan."""
    vault, plan = plan_of(ctx)

    def done(_: datetime) -> None:
        vault.recovery_plans.pop(plan.name.lower(), None)

    return _simple_job(
        ctx, vault, plan, "DeleteRecoveryPlan", "Delete a recovery plan", done, lambda: None
    )


def get_plan(ctx: Context) -> Response:
    """GET a recovery plan."""
    vault, plan = plan_of(ctx)
    return Response(200, plan_json(ctx.emulator, vault, plan, ctx.now))


def list_plans(ctx: Context) -> Response:
    """GET every recovery plan."""
    vault = ctx.vault()
    return Response(
        200,
        {
            "value": [
                plan_json(ctx.emulator, vault, p, ctx.now) for p in vault.recovery_plans.values()
            ]
        },
    )


_PLAN = "VAULT/replicationRecoveryPlans/{recoveryPlanName}"
ROUTES = [
    Route("GET", "VAULT/replicationRecoveryPlans", "ReplicationRecoveryPlans_List", list_plans),
    Route("GET", _PLAN, "ReplicationRecoveryPlans_Get", get_plan),
    Route("PUT", _PLAN, "ReplicationRecoveryPlans_Create", create_plan, write=True),
    Route("PATCH", _PLAN, "ReplicationRecoveryPlans_Update", update_plan, write=True),
    Route("DELETE", _PLAN, "ReplicationRecoveryPlans_Delete", delete_plan, write=True),
]
