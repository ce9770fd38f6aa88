"""InMageRcm replication policies (create, get, list, update, delete)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import ArmError, invalid, not_found, stable_guid
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import Policy, VaultState

__all__ = ["ROUTES", "policy_json"]

MAX_RETENTION_MINUTES = 15 * 24 * 60
MAX_APP_CONSISTENT_MINUTES = 12 * 60


def policy_json(vault: VaultState, policy: Policy) -> dict[str, Any]:
    """A policy as ASR returns it."""
    return {
        "name": policy.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationPolicies",
        "id": f"{vault.asr_id}/replicationPolicies/{policy.name}",
        "properties": {
            "friendlyName": policy.name,
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "recoveryPointHistoryInMinutes": policy.recovery_point_history_minutes,
                "appConsistentFrequencyInMinutes": policy.app_consistent_minutes,
                "crashConsistentFrequencyInMinutes": policy.crash_consistent_minutes,
                "enableMultiVmSync": policy.enable_multi_vm_sync,
            },
        },
    }


def _int_field(settings: dict[str, Any], key: str, default: int) -> int:
    value = settings.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"'{key}' must be an integer number of minutes.")
    return value


def _policy_from(name: str, settings: dict[str, Any]) -> Policy:
    if str(settings.get("instanceType", "")).lower() != "inmagercm":
        raise invalid(
            "Only InMageRcm replication policies are supported by this vault's replication "
            f"appliance; got instanceType '{settings.get('instanceType')}'."
        )
    history = _int_field(settings, "recoveryPointHistoryInMinutes", 1440)
    crash = _int_field(settings, "crashConsistentFrequencyInMinutes", 5)
    app = _int_field(settings, "appConsistentFrequencyInMinutes", 240)
    if not 0 <= history <= MAX_RETENTION_MINUTES:
        raise invalid(
            "recoveryPointHistoryInMinutes must be between 0 and "
            f"{MAX_RETENTION_MINUTES} (15 days)."
        )
    if crash != 5:
        raise invalid("crashConsistentFrequencyInMinutes must be 5 for InMageRcm.")
    if not 0 <= app <= MAX_APP_CONSISTENT_MINUTES or (app and app > max(history, 1)):
        raise invalid(
            "appConsistentFrequencyInMinutes must be between 0 and 720 (12 hours) and not exceed "
            "the recovery point retention."
        )
    multi_vm = str(settings.get("enableMultiVmSync", "True"))
    if multi_vm.lower() not in ("true", "false"):
        raise invalid("enableMultiVmSync must be 'True' or 'False'.")
    return Policy(name, history, crash, app, multi_vm)


def _policy_of(ctx: Context) -> tuple[VaultState, Policy]:
    vault = ctx.vault()
    policy = vault.policies.get(ctx.params["policyName"].lower())
    if policy is None:
        raise not_found("replication policy", ctx.params["policyName"])
    return vault, policy


def _policy_job(
    ctx: Context, vault: VaultState, policy: Policy, scenario: str, friendly: str
) -> Response:
    timings = ctx.emulator.timings

    def done(_: datetime) -> None:
        vault.policies[policy.name.lower()] = policy

    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=stable_guid("policy", vault.asr_id, policy.name),
        target_name=policy.name,
        target_type="ProtectionProfile",
        tasks=[TaskSpec("CreateProtectionProfileTask", friendly, timings.policy, on_done=done)],
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, lambda: policy_json(vault, policy))


def create_policy(ctx: Context) -> Response:
    """PUT a policy (ReplicationPolicies_Create)."""
    vault = ctx.vault()
    properties = ctx.body.get("properties") or {}
    settings = properties.get("providerSpecificInput") or {}
    policy = _policy_from(ctx.params["policyName"], settings)
    existing = vault.policies.get(policy.name.lower())
    if existing is not None:
        policy.name = existing.name
        return _policy_job(
            ctx, vault, policy, "UpdateProtectionProfile", "Update replication policy"
        )
    return _policy_job(ctx, vault, policy, "AddProtectionProfile", "Create replication policy")


def update_policy(ctx: Context) -> Response:
    """PATCH a policy (ReplicationPolicies_Update)."""
    vault, current = _policy_of(ctx)
    properties = ctx.body.get("properties") or {}
    settings = dict(properties.get("replicationProviderSettings") or {})
    merged = {
        "instanceType": settings.get("instanceType"),
        "recoveryPointHistoryInMinutes": settings.get(
            "recoveryPointHistoryInMinutes", current.recovery_point_history_minutes
        ),
        "crashConsistentFrequencyInMinutes": settings.get(
            "crashConsistentFrequencyInMinutes", current.crash_consistent_minutes
        ),
        "appConsistentFrequencyInMinutes": settings.get(
            "appConsistentFrequencyInMinutes", current.app_consistent_minutes
        ),
        "enableMultiVmSync": settings.get("enableMultiVmSync", current.enable_multi_vm_sync),
    }
    policy = _policy_from(current.name, merged)
    return _policy_job(ctx, vault, policy, "UpdateProtectionProfile", "Update replication policy")


def get_policy(ctx: Context) -> Response:
    """GET a policy."""
    vault, policy = _policy_of(ctx)
    return Response(200, policy_json(vault, policy))


def list_policies(ctx: Context) -> Response:
    """GET every policy."""
    vault = ctx.vault()
    return Response(200, {"value": [policy_json(vault, p) for p in vault.policies.values()]})


def delete_policy(ctx: Context) -> Response:
    """DELETE a policy; refused while a container mapping uses it."""
    vault, policy = _policy_of(ctx)
    for fabric in vault.fabrics.values():
        for container in fabric.containers.values():
            for mapping in container.mappings.values():
                if mapping.policy_name.lower() == policy.name.lower():
                    raise ArmError(
                        400,
                        "PolicyInUse",
                        (
                            f"The replication policy '{policy.name}' is associated with the "
                            f"protection container '{container.name}'. Dissociate it first."
                        ),
                    )

    def done(_: datetime) -> None:
        vault.policies.pop(policy.name.lower(), None)

    job = start_job(
        ctx,
        vault,
        scenario="DeleteProtectionProfile",
        friendly="Delete replication policy",
        target_id=stable_guid("policy", vault.asr_id, policy.name),
        target_name=policy.name,
        target_type="ProtectionProfile",
        tasks=[
            TaskSpec(
                "DeleteProtectionProfileTask",
                "Delete replication policy",
                ctx.emulator.timings.policy,
                on_done=done,
            )
        ],
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, lambda: None)


ROUTES = [
    Route("GET", "VAULT/replicationPolicies", "ReplicationPolicies_List", list_policies),
    Route("GET", "VAULT/replicationPolicies/{policyName}", "ReplicationPolicies_Get", get_policy),
    Route(
        "PUT",
        "VAULT/replicationPolicies/{policyName}",
        "ReplicationPolicies_Create",
        create_policy,
        write=True,
    ),
    Route(
        "PATCH",
        "VAULT/replicationPolicies/{policyName}",
        "ReplicationPolicies_Update",
        update_policy,
        write=True,
    ),
    Route(
        "DELETE",
        "VAULT/replicationPolicies/{policyName}",
        "ReplicationPolicies_Delete",
        delete_policy,
        write=True,
    ),
]
