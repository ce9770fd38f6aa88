"""Protection container mappings: pair a container with a policy and Azure (InMageRcm)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ec2asr.testing.emulator import lro
from ec2asr.testing.emulator.arm import ArmError, invalid, last_segment, not_found, stable_guid
from ec2asr.testing.emulator.fabrics import get_container_of
from ec2asr.testing.emulator.jobs import TaskSpec
from ec2asr.testing.emulator.jobs_api import start_job
from ec2asr.testing.emulator.router import Context, Response, Route
from ec2asr.testing.emulator.state import Container, Mapping, VaultState

__all__ = ["ROUTES", "mapping_json"]

_PROVIDER_MAPPING_INPUTS = {"", "replicationproviderspecificcontainermappinginput", "inmagercm"}


def mapping_json(
    vault: VaultState, container: Container, mapping: Mapping, *, short_type: bool = False
) -> dict[str, Any]:
    """A container mapping (``short_type`` for the vault-wide list, as ASR does)."""
    kind = (
        "Microsoft.RecoveryServices/vaults/replicationProtectionContainerMappings"
        if short_type
        else "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
        "replicationProtectionContainerMappings"
    )
    return {
        "name": mapping.name,
        "type": kind,
        "id": f"{vault.asr_id}/replicationFabrics/{container.fabric_name}"
        f"/replicationProtectionContainers/{container.name}"
        f"/replicationProtectionContainerMappings/{mapping.name}",
        "properties": {
            "targetProtectionContainerId": mapping.target_container_id,
            "targetProtectionContainerFriendlyName": "Microsoft Azure",
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "enableAgentAutoUpgrade": mapping.enable_agent_auto_upgrade,
            },
            "health": "Normal",
            "healthErrorDetails": [],
            "policyId": f"{vault.asr_id}/replicationPolicies/{mapping.policy_name}",
            "state": mapping.state,
            "sourceProtectionContainerFriendlyName": container.name,
            "sourceFabricFriendlyName": container.fabric_name,
            "targetFabricFriendlyName": "Microsoft Azure",
            "policyFriendlyName": mapping.policy_name,
        },
    }


def _mapping_of(ctx: Context) -> tuple[VaultState, Container, Mapping]:
    vault, _, container = get_container_of(ctx)
    mapping = container.mappings.get(ctx.params["mappingName"].lower())
    if mapping is None:
        raise not_found("protection container mapping", ctx.params["mappingName"])
    return vault, container, mapping


def _mapping_job(
    ctx: Context,
    vault: VaultState,
    container: Container,
    mapping: Mapping,
    scenario: str,
    friendly: str,
    done: Any,
) -> Response:
    job = start_job(
        ctx,
        vault,
        scenario=scenario,
        friendly=friendly,
        target_id=stable_guid("container", vault.asr_id, container.name),
        target_name=container.name,
        target_type="ProtectionContainer",
        fabric=container.fabric_name,
        tasks=[
            TaskSpec(
                "ConfigureProtectionTask", friendly, ctx.emulator.timings.mapping, on_done=done
            )
        ],
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, lambda: mapping_json(vault, container, mapping))


def create_mapping(ctx: Context) -> Response:
    """PUT a container mapping (pair the container with a policy and Azure)."""
    vault, _, container = get_container_of(ctx)
    properties = ctx.body.get("properties") or {}
    policy_id = properties.get("policyId")
    if not policy_id:
        raise invalid("policyId is required.")
    policy = vault.policies.get(last_segment(str(policy_id)).lower())
    if policy is None:
        raise invalid(
            f"The replication policy '{policy_id}' does not exist.", code="PolicyNotFound"
        )
    target = properties.get("targetProtectionContainerId") or "Microsoft Azure"
    provider = properties.get("providerSpecificInput") or {}
    if str(provider.get("instanceType", "")).lower() not in _PROVIDER_MAPPING_INPUTS:
        raise invalid(
            f"The provider input '{provider.get('instanceType')}' does not apply to an "
            "InMageRcm container."
        )
    name = ctx.params["mappingName"]
    for other in container.mappings.values():
        if other.policy_name.lower() == policy.name.lower() and other.name.lower() != name.lower():
            raise ArmError(
                409,
                "ContainerAlreadyMapped",
                (
                    f"The container is already associated with the policy '{policy.name}' "
                    f"by '{other.name}'."
                ),
            )
    mapping = Mapping(name, container.name, policy.name, str(target), "Paired")

    def done(_: datetime) -> None:
        container.mappings[name.lower()] = mapping

    return _mapping_job(
        ctx, vault, container, mapping, "ConfigureProtection", "Associate replication policy", done
    )


def update_mapping(ctx: Context) -> Response:
    """PATCH a container mapping (agent auto-upgrade)."""
    vault, container, mapping = _mapping_of(ctx)
    provider = (ctx.body.get("properties") or {}).get("providerSpecificInput") or {}
    if "enableAgentAutoUpgrade" in provider:
        value = str(provider["enableAgentAutoUpgrade"]).lower()
        if value not in ("true", "false"):
            raise invalid("enableAgentAutoUpgrade must be 'true' or 'false'.")

        def done(_: datetime) -> None:
            mapping.enable_agent_auto_upgrade = value

    else:

        def done(_: datetime) -> None:
            return None

    return _mapping_job(
        ctx,
        vault,
        container,
        mapping,
        "UpdateProtectionContainerMapping",
        "Update replication policy association",
        done,
    )


def _remove_mapping(ctx: Context, *, force: bool) -> Response:
    vault, container, mapping = _mapping_of(ctx)
    if not force:
        users = [
            i.name
            for i in container.items.values()
            if i.policy.name.lower() == mapping.policy_name.lower()
        ]
        if users:
            raise ArmError(
                400,
                "MappingInUse",
                (
                    f"The policy association '{mapping.name}' is used by replicated items "
                    f"({', '.join(users[:5])}). Disable their replication first."
                ),
            )

    def done(_: datetime) -> None:
        container.mappings.pop(mapping.name.lower(), None)

    job = start_job(
        ctx,
        vault,
        scenario="UnconfigureProtection",
        friendly="Dissociate replication policy",
        target_id=stable_guid("container", vault.asr_id, container.name),
        target_name=container.name,
        target_type="ProtectionContainer",
        fabric=container.fabric_name,
        tasks=[
            TaskSpec(
                "UnconfigureProtectionTask",
                "Dissociate replication policy",
                ctx.emulator.timings.mapping,
                on_done=done,
            )
        ],
        cancellable=False,
    )
    return lro.accept_job(ctx, vault, job, lambda: None)


def remove_mapping(ctx: Context) -> Response:
    """POST remove (ReplicationProtectionContainerMappings_Delete)."""
    return _remove_mapping(ctx, force=False)


def purge_mapping(ctx: Context) -> Response:
    """DELETE (ReplicationProtectionContainerMappings_Purge): remove even if in use."""
    return _remove_mapping(ctx, force=True)


def get_mapping(ctx: Context) -> Response:
    """GET a container mapping."""
    vault, container, mapping = _mapping_of(ctx)
    return Response(200, mapping_json(vault, container, mapping))


def list_mappings_by_container(ctx: Context) -> Response:
    """GET the mappings of a container."""
    vault, _, container = get_container_of(ctx)
    return Response(
        200, {"value": [mapping_json(vault, container, m) for m in container.mappings.values()]}
    )


def list_mappings(ctx: Context) -> Response:
    """GET every mapping of the vault (short resource type)."""
    vault = ctx.vault()
    values = [
        mapping_json(vault, c, m, short_type=True)
        for f in vault.fabrics.values()
        for c in f.containers.values()
        for m in c.mappings.values()
    ]
    return Response(200, {"value": values})


_MAPPING = (
    "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
    "/replicationProtectionContainerMappings/{mappingName}"
)
ROUTES = [
    Route(
        "GET",
        "VAULT/replicationProtectionContainerMappings",
        "ReplicationProtectionContainerMappings_List",
        list_mappings,
    ),
    Route(
        "GET",
        "VAULT/replicationFabrics/{fabricName}/replicationProtectionContainers/{protectionContainerName}"
        "/replicationProtectionContainerMappings",
        "ReplicationProtectionContainerMappings_ListByReplicationProtectionContainers",
        list_mappings_by_container,
    ),
    Route("GET", _MAPPING, "ReplicationProtectionContainerMappings_Get", get_mapping),
    Route(
        "PUT", _MAPPING, "ReplicationProtectionContainerMappings_Create", create_mapping, write=True
    ),
    Route(
        "PATCH",
        _MAPPING,
        "ReplicationProtectionContainerMappings_Update",
        update_mapping,
        write=True,
    ),
    Route(
        "DELETE",
        _MAPPING,
        "ReplicationProtectionContainerMappings_Purge",
        purge_mapping,
        write=True,
    ),
    Route(
        "POST",
        _MAPPING + "/remove",
        "ReplicationProtectionContainerMappings_Delete",
        remove_mapping,
        write=True,
    ),
]
