"""``replicationProtectedItems``: enable (create), get, list and update, and the helpers every
item operation uses. Disabling lives in :mod:`ec2asr.testing.emulator.item_removal`, failover
operations in :mod:`ec2asr.testing.emulator.failover`."""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import asr_errors, lro
from ec2asr.testing.emulator.arm import (
    ASR_API_VERSION,
    ArmError,
    decode_token,
    encode_token,
    invalid,
    not_found,
    page,
)
from ec2asr.testing.emulator.fabrics import get_container_of, site_id
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.protected_items import PHASES, ProtectedDisk, ProtectedItem
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import VaultState
from ec2asr.testing.emulator.validation import check_target_settings, parse_enable_input

__all__ = ["ITEM", "ROUTES", "check_allowed", "item_job", "item_of", "job_details"]

ITEM = (
    "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
    "/replicationProtectedItems/{replicatedProtectedItemName}"
)


def item_of(ctx: Context) -> tuple[VaultState, ProtectedItem]:
    """The protected item named in the path, sampled up to now.

    Raises:
        ArmError: 404 when it does not exist.
    """
    vault, _, container = get_container_of(ctx)
    item = container.items.get(ctx.params["replicatedProtectedItemName"].lower())
    if item is None:
        raise not_found("replication protected item", ctx.params["replicatedProtectedItemName"])
    ctx.emulator.sample_item(item, ctx.now)
    return vault, item


def check_allowed(ctx: Context, item: ProtectedItem, operation: str) -> None:
    """Refuse an operation the item's state does not allow, as ASR does.

    Raises:
        ArmError: 409 while another job runs on the item, 400 when the state forbids it.
    """
    if item.job_running(ctx.now) and item.current_job:
        raise asr_errors.operation_in_progress(item.name, item.current_job)
    allowed = item.allowed_operations(ctx.now)
    if operation not in allowed:
        raise asr_errors.state_refusal(operation, item.name, PHASES[item.phase][0], allowed)


def job_details(item: ProtectedItem, instance_type: str = "AsrJobDetails") -> dict[str, Any]:
    """``customDetails`` of a job on an item (affected-object details as ASR fills them)."""
    return {
        "instanceType": instance_type,
        "affectedObjectDetails": {
            "PrimaryFabricProviderId": "InMageRcm",
            "PrimaryVmId": item.name,
            "PrimaryVmName": item.friendly_name,
            "PrimaryCloudId": item.container.name,
            "PrimaryCloudName": item.container.name,
            "ProtectionProfileId": item.policy.name,
            "RecoveryFabricProviderId": "Azure",
            "RecoveryVmName": item.target_vm_name,
            "RecoveryCloudName": "Microsoft Azure",
        },
    }


def item_job(
    ctx: Context,
    vault: VaultState,
    item: ProtectedItem,
    *,
    scenario: str,
    friendly: str,
    tasks: list[TaskSpec],
    custom: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Response:
    """Start a job on an item and answer 202 (the final result is the item)."""
    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=item.name,
        target_name=item.friendly_name,
        target_type="ProtectionEntity",
        tasks=tasks,
        custom_details=custom or job_details(item),
        result=lambda: ctx.emulator.render_item(item),
        fabric=item.fabric.name,
        **kwargs,
    )
    item.current_job = job.name
    return lro.accept_job(ctx, vault, job, lambda: ctx.emulator.render_item(item))


def create_item(ctx: Context) -> Response:
    """PUT an item: enable replication (``InMageRcmEnableProtectionInput``)."""
    vault, fabric, container = get_container_of(ctx)
    name = ctx.params["replicatedProtectedItemName"]
    if name.lower() in container.items:
        raise ArmError(
            409,
            "ProtectionAlreadyEnabled",
            f"A replication protected item named '{name}' already exists.",
        )
    request = parse_enable_input(vault, fabric, container, ctx.body, site_id(vault, fabric))
    _check_room(ctx, fabric, request.appliance)
    spec = request.machine.spec
    by_id = {spec.disk_id(d).lower(): d for d in spec.disks}
    disks = [
        ProtectedDisk(
            disk_id=entry["diskId"],
            name=by_id[entry["diskId"].lower()].device_name,
            is_os=by_id[entry["diskId"].lower()].is_os,
            capacity_bytes=by_id[entry["diskId"].lower()].size_gib * 1024**3,
            disk_type=entry["diskType"],
            log_storage_account_id=entry["logStorageAccountId"],
            disk_encryption_set_id=entry.get("diskEncryptionSetId"),
        )
        for entry in request.disks
    ]
    item = ProtectedItem(
        name=name,
        vault=vault,
        fabric=fabric,
        container=container,
        machine=request.machine,
        policy=request.policy,
        process_server_id=request.appliance.info.appliance_id,
        settings=request.settings,
        disks=disks,
        created=ctx.now,
        run_as_account_id=request.settings.get("runAsAccountId"),
    )
    container.items[name.lower()] = item
    return _enable_job(ctx, vault, item, request)


_HOLDING_PHASES = frozenset({"enabling", "initial_replication", "protected"})
"""Phases in which an item uses its process server (replication about to start or running)."""


def _check_room(ctx: Context, fabric: Any, appliance: Any) -> None:
    """Refuse an enable through a process server already at its capacity (an assumption)."""
    capacity = ctx.emulator.appliance_capacity
    if capacity is None:
        return
    key = appliance.info.appliance_id.lower()
    replicating = sum(
        1
        for c in fabric.containers.values()
        for i in c.items.values()
        if i.phase in _HOLDING_PHASES and i.process_server_id.lower() == key
    )
    if replicating >= capacity:
        raise asr_errors.appliance_full(appliance.info.name, replicating, capacity)


def _enable_job(ctx: Context, vault: VaultState, item: ProtectedItem, request: Any) -> Response:
    emulator = ctx.emulator
    timings = emulator.timings
    machine = item.machine
    tasks = [
        TaskSpec(
            "EnableProtectionPrerequisiteCheck", "Prerequisites check for enabling protection", 30.0
        )
    ]
    error = None
    fail_at = None
    push = not machine.agent_registered
    if push:
        outcome = emulator.push_outcome(item, request.run_as, request.appliance)

        def installed(when: datetime) -> None:
            machine.agent_registered = True
            machine.agent_installed_by = "push"
            machine.updated_at = when
            emulator.record_registration(
                machine.spec.instance_id, "push", True, "pushed by the appliance", when
            )

        tasks.append(
            TaskSpec(
                "InstallMobilityService",
                "Installing Mobility Service",
                timings.push_install,
                on_done=installed,
            )
        )
        if outcome is not None:
            error, fail_at = outcome, 1
    remaining = max(0.0, timings.enable_protection - 30.0)
    tasks.append(TaskSpec("EnableProtection", "Enable replication", remaining))
    tasks.append(TaskSpec("StartInitialReplication", "Starting initial replication", 0.0))

    def succeeded(when: datetime) -> None:
        item.start_replication(when, timings)

    def restart(now: datetime) -> Any:
        item.phase = "enabling"
        fresh = ctx.at(now)
        _enable_job(fresh, vault, item, request)
        return vault.jobs.get(fresh.created_job or "")

    def failed(when: datetime) -> None:
        item.phase = "enable_failed"
        job = vault.jobs.get(item.current_job or "")
        if push and job is not None and job.error is not None and job.fail_at == 1:
            emulator.record_registration(
                machine.spec.instance_id,
                "push",
                False,
                f"{job.error.code}: {job.error.message}",
                when,
            )

    return item_job(
        ctx,
        vault,
        item,
        scenario="EnableDr",
        friendly="Enable replication",
        tasks=tasks,
        on_success=succeeded,
        on_failure=failed,
        on_cancel=failed,
        error=error,
        fail_at=fail_at,
        restart=restart,
    )


def get_item(ctx: Context) -> Response:
    """GET an item."""
    _, item = item_of(ctx)
    return Response(200, ctx.emulator.render_item(item))


def _list(ctx: Context, vault: VaultState, items: list[ProtectedItem], path: str) -> Response:
    query = ctx.request.query
    token = query.get("skipToken") or query.get("$skipToken")
    offset = decode_token(token) if token else 0
    size = ctx.emulator.page_size
    chosen = items[offset : offset + size]
    for item in chosen:
        ctx.emulator.sample_item(item, ctx.now)
    next_url = None
    if offset + size < len(items):
        params = urllib.parse.urlencode(
            {"api-version": ASR_API_VERSION, "skipToken": encode_token(offset + size)}
        )
        next_url = f"{ctx.base_url}{path}?{params}"
    rendered = [ctx.emulator.render_item(i) for i in chosen]
    return Response(200, page(rendered, offset=0, size=size, next_url=next_url))


def list_items_by_container(ctx: Context) -> Response:
    """GET the items of a container."""
    vault, fabric, container = get_container_of(ctx)
    path = (
        f"{vault.asr_id}/replicationFabrics/{fabric.name}/replicationProtectionContainers/"
        f"{container.name}/replicationProtectedItems"
    )
    return _list(ctx, vault, list(container.items.values()), path)


def list_items(ctx: Context) -> Response:
    """GET every item of the vault."""
    vault = ctx.vault()
    return _list(ctx, vault, vault.items(), f"{vault.asr_id}/replicationProtectedItems")


def update_item(ctx: Context) -> Response:
    """PATCH an item (``InMageRcmUpdateReplicationProtectedItemInput``)."""
    vault, item = item_of(ctx)
    if item.job_running(ctx.now) and item.current_job:
        raise asr_errors.operation_in_progress(item.name, item.current_job)
    if item.phase not in ("initial_replication", "protected", "failover_failed"):
        raise asr_errors.state_refusal(
            "Update", item.name, PHASES[item.phase][0], item.allowed_operations(ctx.now)
        )
    properties = ctx.body.get("properties") or {}
    changes = dict(properties.get("providerSpecificDetails") or {})
    if str(changes.pop("instanceType", "")).lower() != "inmagercm":
        raise invalid("providerSpecificDetails.instanceType must be 'InMageRcm'.")
    merged = {**item.settings, **{k: v for k, v in changes.items() if v is not None}}
    check_target_settings(merged, item.machine.spec.os_type)

    def apply(_: datetime) -> None:
        item.settings = merged

    tasks = [
        TaskSpec(
            "UpdateVmProperties",
            "Update the virtual machine properties",
            ctx.emulator.timings.update_item,
            on_done=apply,
        )
    ]
    return item_job(
        ctx,
        vault,
        item,
        scenario="UpdateVmProperties",
        friendly="Update the virtual machine",
        tasks=tasks,
        cancellable=False,
    )


ROUTES = [
    Route("GET", ITEM, "ReplicationProtectedItems_Get", get_item),
    Route("PUT", ITEM, "ReplicationProtectedItems_Create", create_item, write=True),
    Route("PATCH", ITEM, "ReplicationProtectedItems_Update", update_item, write=True),
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
        "/replicationProtectedItems",
        "ReplicationProtectedItems_ListByReplicationProtectionContainers",
        list_items_by_container,
    ),
    Route("GET", "VAULT/replicationProtectedItems", "ReplicationProtectedItems_List", list_items),
]
