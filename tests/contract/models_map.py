"""Which SDK model each emulator operation's answer loads into (lossless checks of every body)."""

from __future__ import annotations

from typing import Any

from azure.mgmt.recoveryservices import models as rs
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.testing.emulator import AsrEmulator

from .shapes import lossless_problems

SINGLE: dict[str, Any] = {
    "Vaults_CreateOrUpdate": rs.Vault,
    "Vaults_Get": rs.Vault,
    "ReplicationFabrics_Get": m.Fabric,
    "ReplicationProtectionContainers_Get": m.ProtectionContainer,
    "ReplicationPolicies_Get": m.Policy,
    "ReplicationProtectionContainerMappings_Get": m.ProtectionContainerMapping,
    "ReplicationProtectedItems_Get": m.ReplicationProtectedItem,
    "ReplicationJobs_Get": m.Job,
    "ReplicationRecoveryPlans_Get": m.RecoveryPlan,
    "RecoveryPoints_Get": m.RecoveryPoint,
    "ReplicationRecoveryServicesProviders_Get": m.RecoveryServicesProvider,
    "ReplicationVaultHealth_Get": m.VaultHealthDetails,
    "SupportedOperatingSystems_Get": m.SupportedOperatingSystems,
}
LISTS: dict[str, Any] = {
    "ReplicationFabrics_List": m.Fabric,
    "ReplicationAppliances_List": m.ReplicationAppliance,
    "ReplicationProtectionContainers_List": m.ProtectionContainer,
    "ReplicationProtectionContainers_ListByReplicationFabrics": m.ProtectionContainer,
    "ReplicationPolicies_List": m.Policy,
    "ReplicationProtectionContainerMappings_List": m.ProtectionContainerMapping,
    (
        "ReplicationProtectionContainerMappings_ListByReplicationProtectionContainers"
    ): m.ProtectionContainerMapping,
    "ReplicationProtectedItems_List": m.ReplicationProtectedItem,
    "ReplicationProtectedItems_ListByReplicationProtectionContainers": m.ReplicationProtectedItem,
    "RecoveryPoints_ListByReplicationProtectedItems": m.RecoveryPoint,
    "TargetComputeSizes_ListByReplicationProtectedItems": m.TargetComputeSize,
    "ReplicationJobs_List": m.Job,
    "ReplicationRecoveryPlans_List": m.RecoveryPlan,
    "ReplicationRecoveryServicesProviders_List": m.RecoveryServicesProvider,
    "ReplicationRecoveryServicesProviders_ListByReplicationFabrics": m.RecoveryServicesProvider,
}
# Final results of long-running operations, read from their Location URL or the resource URL.
RESULTS: dict[str, Any] = {
    "OperationResults_Get": None,  # resolved from the body's "type"/"id" below
}
_BY_TYPE = {
    "Microsoft.RecoveryServices/vaults/replicationPolicies": m.Policy,
    "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans": m.RecoveryPlan,
    (
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
        "replicationProtectedItems"
    ): m.ReplicationProtectedItem,
    (
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
        "replicationProtectionContainerMappings"
    ): m.ProtectionContainerMapping,
}


def body_problems(
    emulator: AsrEmulator, method: str, path: str, body: Any
) -> tuple[str, list[str]]:
    """The operation answering ``method path`` and where its body does not load losslessly."""
    try:
        route, _ = emulator.router.match(method, path)
    except Exception:
        return "unknown", []
    operation = route.operation
    if not isinstance(body, dict):
        return operation, []
    if operation in SINGLE:
        return operation, lossless_problems(SINGLE[operation], body)
    if operation in LISTS:
        problems: list[str] = []
        for item in body.get("value", []):
            problems += lossless_problems(LISTS[operation], item)
        return operation, problems
    if operation == "OperationResults_Get":
        model = _BY_TYPE.get(str(body.get("type")))
        if model is None and "/replicationJobs/" in str(body.get("id")):
            model = m.Job
        return operation, lossless_problems(model, body) if model else [
            f"unmapped result {body.get('type')}"
        ]
    return operation, []
