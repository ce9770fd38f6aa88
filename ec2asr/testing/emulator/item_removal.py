"""Disabling replication of a protected item: ``remove`` (disable, or complete the migration
after a committed failover) and ``DELETE`` (purge)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import invalid
from ec2asr.testing.emulator.item_handlers import ITEM, check_allowed, item_of, job_details
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.protected_items import REPLICATING_PHASES, ProtectedItem
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import VaultState

__all__ = ["ROUTES"]

_PROVIDER_INPUTS = frozenset({"DisableProtectionProviderSpecificInput", "InMage"})
"""``DisableProtectionProviderSpecificInput`` discriminator values: the base (what the cmdlet
Remove-AzRecoveryServicesAsrReplicationProtectedItem sends for every provider but InMage, and the
official example ReplicationProtectedItems_Delete.json) and ``InMage``."""


def remove_item(ctx: Context) -> Response:
    """POST remove: disable replication (``MigrationComplete`` after a committed failover)."""
    vault, item = item_of(ctx)
    properties = ctx.body.get("properties") or {}
    reason = properties.get("disableProtectionReason") or "NotSpecified"
    if reason not in ("NotSpecified", "MigrationComplete"):
        raise invalid(f"disableProtectionReason '{reason}' is not valid.")
    provider = properties.get("replicationProviderInput")
    if provider is not None:
        kind = provider.get("instanceType") if isinstance(provider, dict) else None
        if kind not in _PROVIDER_INPUTS:
            raise invalid(
                f"replicationProviderInput.instanceType '{kind}' is not valid; use one of "
                f"{', '.join(sorted(_PROVIDER_INPUTS))}."
            )
    # A complete migration is offered as its own operation (CompleteMigration in
    # allowedOperations after a failover: ReplicationProtectedItems_UnplannedFailover.json).
    check_allowed(
        ctx, item, "CompleteMigration" if reason == "MigrationComplete" else "DisableProtection"
    )
    previous = item.phase
    item.phase = "disabling"
    if item.replication:
        item.replication.stop(ctx.now)

    def removed(_: datetime) -> None:
        item.container.items.pop(item.name.lower(), None)

    def failed(when: datetime) -> None:
        item.phase = previous
        if item.replication and previous in REPLICATING_PHASES:
            item.replication.resume(when)

    friendly = "Complete migration" if reason == "MigrationComplete" else "Disable replication"
    tasks = [
        TaskSpec(
            "DisableProtectionOnPrimary",
            "Disable replication on the source",
            ctx.emulator.timings.disable_protection / 2,
        ),
        TaskSpec(
            "DeleteReplicaResources",
            "Delete replication resources",
            ctx.emulator.timings.disable_protection / 2,
        ),
    ]
    return _no_result_job(ctx, vault, item, "DisableDr", friendly, tasks, removed, failed)


def _no_result_job(
    ctx: Context,
    vault: VaultState,
    item: ProtectedItem,
    scenario: str,
    friendly: str,
    tasks: list[TaskSpec],
    done: Any,
    failed: Any,
) -> Response:
    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=item.name,
        target_name=item.friendly_name,
        target_type="ProtectionEntity",
        tasks=tasks,
        custom_details=job_details(item),
        on_success=done,
        on_failure=failed,
        cancellable=False,
        fabric=item.fabric.name,
    )
    item.current_job = job.name
    return lro.accept_job(ctx, vault, job, lambda: None)


def purge_item(ctx: Context) -> Response:
    """DELETE an item: remove it from the vault without cleaning up the source."""
    vault, item = item_of(ctx)
    item.phase = "disabling"
    if item.replication:
        item.replication.stop(ctx.now)

    def removed(_: datetime) -> None:
        item.container.items.pop(item.name.lower(), None)

    tasks = [TaskSpec("PurgeProtection", "Remove the replicated item", 10.0)]
    return _no_result_job(ctx, vault, item, "DisableDr", "Purge replication", tasks, removed, None)


ROUTES = [
    Route("DELETE", ITEM, "ReplicationProtectedItems_Purge", purge_item, write=True),
    Route("POST", ITEM + "/remove", "ReplicationProtectedItems_Delete", remove_item, write=True),
]
