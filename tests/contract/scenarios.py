"""How each official example is replayed: the emulator state it needs, the SDK call that sends
its request, the SDK model its answer loads into.

The emulator is built with the example's own subscription, resource group, vault, fabric,
container, policy, mapping, item and plan names, so the example's path (and the ids inside its
request bodies) address real resources. Only provider-specific request parts are swapped:
the examples mostly use HyperVReplicaAzure; the emulator serves InMageRcm, so their
``providerSpecificInput``/``providerSpecificDetails`` become InMageRcm inputs. A ``jobName`` is
replaced by the name of a job in the needed state (job names are generated).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from azure.mgmt.recoveryservices import models as rs
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.testing.emulator import AsrEmulator, DiskSpec, JobError, MachineSpec, SimulatedClock

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
INMAGE_POLICY = {
    "instanceType": "InMageRcm",
    "recoveryPointHistoryInMinutes": 1440,
    "crashConsistentFrequencyInMinutes": 5,
    "appConsistentFrequencyInMinutes": 60,
    "enableMultiVmSync": "True",
}


# A recovery-plan test failover input with the fields the spec requires
# (RecoveryPlanTestFailoverInputProperties: failoverDirection, networkType).
PLAN_TFO = {
    "properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput"}
}


class Env:
    """An emulator laid out with an example's names."""

    def __init__(self, params: dict[str, Any], *, create_vault: bool = True) -> None:
        self.p = params
        self.emulator = AsrEmulator(
            subscription_id=params["subscriptionId"],
            resource_group=params["resourceGroupName"],
            vault=params.get("resourceName") or params.get("vaultName") or "vault1",
            clock=SimulatedClock(START, speed=0),
            create_vault=create_vault,
        ).start()
        self.client = self.emulator.asr_management_client(retry_total=0)
        self.rv = (self.emulator.resource_group, self.emulator.vault)
        self.notes: list[str] = []

    def close(self) -> None:
        self.emulator.stop()

    def finish(self, poller: Any, seconds: float = 6 * 3600) -> Any:
        self.emulator.advance(seconds)
        result = poller.result(timeout=20)
        assert poller.done(), "the operation did not finish"
        return result

    # -- layout -----------------------------------------------------------------------------
    @property
    def fabric(self) -> str:
        return str(self.p.get("fabricName", "cloud1"))

    @property
    def container(self) -> str:
        return str(
            self.p.get("protectionContainerName", "cloud_6d224fc6-f326-5d35-96de-fbf51efb3179")
        )

    @property
    def item_name(self) -> str:
        return str(
            self.p.get("replicatedProtectedItemName", "f8491e4f-817a-40dd-a90c-af773978c75b")
        )

    @property
    def fc(self) -> tuple[str, str, str, str]:
        return (*self.rv, self.fabric, self.container)

    def with_fabric(self) -> Env:
        self.emulator.register_appliance(
            "appliance01",
            "10.0.0.4",
            appliance_id=self.p.get("providerName", "241641e6-ee7b-4ee4-8141-821fadda43fa"),
            fabric_name=self.fabric,
            container_name=self.container,
        )
        return self

    def with_policy(self, name: str | None = None) -> str:
        self.with_fabric()
        body = {"properties": {"providerSpecificInput": INMAGE_POLICY}}
        policy = self.finish(
            self.client.replication_policies.begin_create(
                *self.rv, name or self.p.get("policyName", "protectionprofile1"), body
            )
        )
        return str(policy.id)

    def with_mapping(self) -> str:
        policy_id = self.with_policy("protectionprofile1")
        body = {
            "properties": {"policyId": policy_id, "targetProtectionContainerId": "Microsoft Azure"}
        }
        self.finish(
            self.client.replication_protection_container_mappings.begin_create(
                *self.fc, self.p.get("mappingName", "cloud1protectionprofile1"), body
            )
        )
        return policy_id

    def enable_details(self, machine_id: str) -> dict[str, Any]:
        sub = self.emulator.subscription_id
        net = f"/subscriptions/{sub}/resourceGroups/net/providers"
        return {
            "instanceType": "InMageRcm",
            "fabricDiscoveryMachineId": machine_id,
            "processServerId": self.emulator.appliance.appliance_id,
            "targetResourceGroupId": f"/subscriptions/{sub}/resourceGroups/target-rg",
            "targetNetworkId": f"{net}/Microsoft.Network/virtualNetworks/vnet1",
            "testNetworkId": f"{net}/Microsoft.Network/virtualNetworks/vnet2",
            "targetSubnetName": "default",
            "disksDefault": {
                "diskType": "Standard_LRS",
                "logStorageAccountId": f"{net}/Microsoft.Storage/storageAccounts/cachesa01",
            },
        }

    def machine(self, index: int = 1) -> str:
        spec = MachineSpec(
            f"i-0123456789abcdef{index}",
            f"vm{index}",
            [f"10.0.1.{index}"],
            "windows",
            os_name="Windows Server 2019 Datacenter",
            os_version="10.0.17763",
            disks=[DiskSpec(60, "disk0", is_os=True), DiskSpec(20, "disk1")],
        )
        return self.emulator.register_machine(spec)

    def with_item(self, extra: tuple[str, ...] = ()) -> Any:
        policy_id = self.with_mapping()
        for index, name in enumerate((self.item_name, *extra), start=1):
            details = self.enable_details(self.machine(index))
            details["targetVmName"] = f"vm{index}"
            body = {"properties": {"policyId": policy_id, "providerSpecificDetails": details}}
            self.finish(self.client.replication_protected_items.begin_create(*self.fc, name, body))
        return self.client.replication_protected_items.get(*self.fc, self.item_name)

    def tested(self) -> None:
        """A protected item whose test failover succeeded and was cleaned up."""
        self.with_item()
        items = self.client.replication_protected_items
        body = {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "providerSpecificDetails": {"instanceType": "InMageRcm"},
            }
        }
        self.finish(items.begin_test_failover(*self.fc, self.item_name, body))
        self.finish(
            items.begin_test_failover_cleanup(
                *self.fc, self.item_name, {"properties": {"comments": "ok"}}
            )
        )

    def test_failed_over(self) -> None:
        """An item whose test failover waits for its cleanup."""
        self.with_item()
        items = self.client.replication_protected_items
        body = {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "providerSpecificDetails": {"instanceType": "InMageRcm"},
            }
        }
        self.finish(items.begin_test_failover(*self.fc, self.item_name, body))

    def with_plan(self, example_input: dict[str, Any] | None = None) -> None:
        item = self.with_item()
        fabric_id = item.id.split("/replicationProtectionContainers/")[0]
        body = example_input or {
            "properties": {
                "primaryFabricId": fabric_id,
                "recoveryFabricId": "Microsoft Azure",
                "failoverDeploymentModel": "ResourceManager",
                "groups": [
                    {
                        "groupType": "Boot",
                        "replicationProtectedItems": [
                            {"id": item.id, "virtualMachineId": item.name}
                        ],
                    }
                ],
            }
        }
        self.finish(
            self.client.replication_recovery_plans.begin_create(
                *self.rv, self.p.get("recoveryPlanName", "RPtest1"), body
            )
        )

    def failed_over(self) -> None:
        self.tested()
        body = {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "providerSpecificDetails": {
                    "instanceType": "InMageRcm",
                    "performShutdown": "false",
                },
            }
        }
        self.finish(
            self.client.replication_protected_items.begin_unplanned_failover(
                *self.fc, self.item_name, body
            )
        )

    def job(self, state: str) -> str:
        """A job in ``state``: Succeeded, Failed, InProgress or Suspended."""
        if state == "Suspended":
            action = {
                "actionName": "check",
                "failoverTypes": ["TestFailover"],
                "failoverDirections": ["PrimaryToRecovery"],
                "customDetails": {"instanceType": "ManualActionDetails", "description": "check"},
            }
            self.with_item()
            item = self.client.replication_protected_items.get(*self.fc, self.item_name)
            fabric_id = item.id.split("/replicationProtectionContainers/")[0]
            body = {
                "properties": {
                    "primaryFabricId": fabric_id,
                    "recoveryFabricId": "Microsoft Azure",
                    "groups": [
                        {
                            "groupType": "Boot",
                            "replicationProtectedItems": [{"id": item.id}],
                            "startGroupActions": [action],
                        }
                    ],
                }
            }
            self.finish(
                self.client.replication_recovery_plans.begin_create(*self.rv, "RPtest1", body)
            )
            self.client.replication_recovery_plans.begin_test_failover(
                *self.rv, "RPtest1", PLAN_TFO, polling=False
            )
            self.emulator.advance(60)
        elif state == "InProgress":
            self.with_item()
            body = {
                "properties": {
                    "failoverDirection": "PrimaryToRecovery",
                    "providerSpecificDetails": {"instanceType": "InMageRcm"},
                }
            }
            self.client.replication_protected_items.begin_test_failover(
                *self.fc, self.item_name, body, polling=False
            )
        else:
            self.with_fabric()
            if state == "Failed":
                self.emulator.inject_fault(
                    "PUT */replicationPolicies/*", job_error=JobError("28000", "Failed.")
                )
            poller = self.client.replication_policies.begin_create(
                *self.rv,
                "jobpolicy",
                {"properties": {"providerSpecificInput": INMAGE_POLICY}},
                polling=False,
            )
            del poller
            self.emulator.advance(3600)
        jobs = list(self.client.replication_jobs.list(*self.rv, filter=f"JobStatus eq '{state}'"))
        self.notes.append(f"jobName replaced by a {state} job")
        return str(jobs[0].name)


def _inmage(body: dict[str, Any], key: str, details: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["properties"][key] = details
    return body


@dataclass
class Scenario:
    """How to replay one example."""

    model: Any
    run: Callable[[Env, dict[str, Any], Callable[[Any], None]], Any]
    create_vault: bool = True
    list_model: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _lro(env: Env, poller: Any) -> Any:
    return env.finish(poller)


TFO_INPUT = {"instanceType": "InMageRcm", "networkId": None}
UFO_INPUT = {"instanceType": "InMageRcm", "performShutdown": "false"}

SCENARIOS: dict[str, Scenario] = {
    # -- vault ------------------------------------------------------------------------------
    "Vaults_CreateOrUpdate": Scenario(
        rs.Vault,
        lambda env, p, hook: (
            env.emulator.recovery_services_client()
            .vaults.begin_create_or_update(*env.rv, p["vault"], raw_response_hook=hook)
            .result()
        ),
        create_vault=False,
    ),
    "Vaults_Get": Scenario(
        rs.Vault,
        lambda env, p, hook: (
            env.emulator.recovery_services_client()
            .vaults.begin_create_or_update(
                *env.rv,
                {
                    "location": "westus",
                    "sku": {"name": "Standard"},
                    "identity": {"type": "SystemAssigned"},
                },
            )
            .result(),
            env.emulator.recovery_services_client().vaults.get(*env.rv, raw_response_hook=hook),
        )[1],
        create_vault=False,
    ),
    # -- fabric -----------------------------------------------------------------------------
    "ReplicationFabrics_Get": Scenario(
        m.Fabric,
        lambda env, p, hook: env.with_fabric().client.replication_fabrics.get(
            *env.rv, env.fabric, raw_response_hook=hook
        ),
    ),
    "ReplicationFabrics_List": Scenario(
        m.Fabric,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_fabrics.list(*env.rv, raw_response_hook=hook)
        ),
        list_model=True,
    ),
    "ReplicationAppliances_List": Scenario(
        m.ReplicationAppliance,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_appliances.list(*env.rv, raw_response_hook=hook)
        ),
        list_model=True,
    ),
    "ReplicationProtectionContainers_Get": Scenario(
        m.ProtectionContainer,
        lambda env, p, hook: env.with_fabric().client.replication_protection_containers.get(
            *env.fc, raw_response_hook=hook
        ),
    ),
    "ReplicationProtectionContainers_List": Scenario(
        m.ProtectionContainer,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_protection_containers.list(
                *env.rv, raw_response_hook=hook
            )
        ),
        list_model=True,
    ),
    "ReplicationProtectionContainers_ListByReplicationFabrics": Scenario(
        m.ProtectionContainer,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_protection_containers.list_by_replication_fabrics(
                *env.rv, env.fabric, raw_response_hook=hook
            )
        ),
        list_model=True,
    ),
    "ReplicationRecoveryServicesProviders_Get": Scenario(
        m.RecoveryServicesProvider,
        lambda env, p, hook: env.with_fabric().client.replication_recovery_services_providers.get(
            *env.rv, env.fabric, p["providerName"], raw_response_hook=hook
        ),
    ),
    "ReplicationRecoveryServicesProviders_List": Scenario(
        m.RecoveryServicesProvider,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_recovery_services_providers.list(
                *env.rv, raw_response_hook=hook
            )
        ),
        list_model=True,
    ),
    "ReplicationRecoveryServicesProviders_ListByReplicationFabrics": Scenario(
        m.RecoveryServicesProvider,
        lambda env, p, hook: list(
            env.with_fabric().client.replication_recovery_services_providers.list_by_replication_fabrics(
                *env.rv, env.fabric, raw_response_hook=hook
            )
        ),
        list_model=True,
    ),
    "ReplicationVaultHealth_Get": Scenario(
        m.VaultHealthDetails,
        lambda env, p, hook: env.with_fabric().client.replication_vault_health.get(
            *env.rv, raw_response_hook=hook
        ),
    ),
    "SupportedOperatingSystems_Get": Scenario(
        m.SupportedOperatingSystems,
        lambda env, p, hook: env.client.supported_operating_systems.get(
            *env.rv, raw_response_hook=hook
        ),
    ),
}


def _policy_create(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
    env.with_fabric()
    body = _inmage(p["input"], "providerSpecificInput", INMAGE_POLICY)
    return env.finish(
        env.client.replication_policies.begin_create(
            *env.rv, p["policyName"], body, raw_response_hook=hook
        )
    )


def _policy_update(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
    env.with_policy()
    body = _inmage(
        p["input"],
        "replicationProviderSettings",
        {**INMAGE_POLICY, "appConsistentFrequencyInMinutes": 120},
    )
    return env.finish(
        env.client.replication_policies.begin_update(
            *env.rv, p["policyName"], body, raw_response_hook=hook
        )
    )


def _item_create(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
    env.with_mapping()
    body = _inmage(p["input"], "providerSpecificDetails", env.enable_details(env.machine()))
    return env.finish(
        env.client.replication_protected_items.begin_create(
            *env.fc, env.item_name, body, raw_response_hook=hook
        )
    )


def _item_update(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
    env.with_item()
    body = _inmage(
        p["updateProtectionInput"],
        "providerSpecificDetails",
        {"instanceType": "InMageRcm", "targetVmSize": "Standard_D4s_v3"},
    )
    return env.finish(
        env.client.replication_protected_items.begin_update(
            *env.fc, env.item_name, body, raw_response_hook=hook
        )
    )


def _item_op(
    method: str, body_key: str | None, details: dict[str, Any] | None, prepare: str = "with_item"
) -> Callable[..., Any]:
    def run(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
        getattr(env, prepare)()
        args: list[Any] = [*env.fc, env.item_name]
        if body_key is not None:
            body = p[body_key]
            if details is not None:
                body = _inmage(
                    body,
                    "providerSpecificDetails",
                    {k: v for k, v in details.items() if v is not None},
                )
            args.append(body)
        return env.finish(
            getattr(env.client.replication_protected_items, method)(*args, raw_response_hook=hook)
        )

    return run


def _mapping_op(method: str, body_key: str | None, prepare: str) -> Callable[..., Any]:
    def run(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
        getattr(env, prepare)()
        api = env.client.replication_protection_container_mappings
        args: list[Any] = [*env.fc, p["mappingName"]]
        if body_key:
            args.append(p[body_key])
        return env.finish(getattr(api, method)(*args, raw_response_hook=hook))

    return run


def _job_op(method: str, state: str, body_key: str | None = None) -> Callable[..., Any]:
    def run(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
        name = env.job(state)
        args: list[Any] = [*env.rv, name]
        if body_key:
            args.append(p[body_key])
        return env.finish(
            getattr(env.client.replication_jobs, method)(*args, raw_response_hook=hook)
        )

    return run


def _plan_op(
    method: str, prepare: Callable[[Env], None], body: Callable[[dict[str, Any]], Any] | None
) -> Callable[..., Any]:
    def run(env: Env, p: dict[str, Any], hook: Callable[[Any], None]) -> Any:
        prepare(env)
        args: list[Any] = [*env.rv, p["recoveryPlanName"]]
        if body is not None:
            args.append(body(p))
        return env.finish(
            getattr(env.client.replication_recovery_plans, method)(*args, raw_response_hook=hook)
        )

    return run


def _plan_two_items(env: Env) -> None:
    env.with_item(extra=("c0c14913-3d7a-48ea-9531-cc99e0e686e6",))
    item = env.client.replication_protected_items.get(*env.fc, env.item_name)
    fabric_id = item.id.split("/replicationProtectionContainers/")[0]
    body = {
        "properties": {
            "primaryFabricId": fabric_id,
            "recoveryFabricId": "Microsoft Azure",
            "groups": [{"groupType": "Boot", "replicationProtectedItems": [{"id": item.id}]}],
        }
    }
    env.finish(env.client.replication_recovery_plans.begin_create(*env.rv, "RPtest1", body))


def _plan_failed_over(env: Env) -> None:
    env.with_plan()
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "sourceSiteOperations": "NotRequired",
        }
    }
    env.finish(
        env.client.replication_recovery_plans.begin_unplanned_failover(*env.rv, "RPtest1", body)
    )


def _plan_tfo_done(env: Env) -> None:
    env.with_plan()
    env.finish(
        env.client.replication_recovery_plans.begin_test_failover(*env.rv, "RPtest1", PLAN_TFO)
    )


def _plan_provider(p: dict[str, Any]) -> Any:
    body = copy.deepcopy(p["input"])
    body["properties"]["providerSpecificDetails"] = [
        {"instanceType": "InMageRcm", "recoveryPointType": "Latest"}
    ]
    return body


SCENARIOS.update(
    {
        "ReplicationPolicies_Create": Scenario(m.Policy, _policy_create),
        "ReplicationPolicies_Update": Scenario(m.Policy, _policy_update),
        "ReplicationPolicies_Get": Scenario(
            m.Policy,
            lambda env, p, hook: (
                env.with_policy(),
                env.client.replication_policies.get(
                    *env.rv, p["policyName"], raw_response_hook=hook
                ),
            )[1],
        ),
        "ReplicationPolicies_List": Scenario(
            m.Policy,
            lambda env, p, hook: (
                env.with_policy(),
                list(env.client.replication_policies.list(*env.rv, raw_response_hook=hook)),
            )[1],
            list_model=True,
        ),
        "ReplicationPolicies_Delete": Scenario(
            None,
            lambda env, p, hook: (
                env.with_policy(),
                env.finish(
                    env.client.replication_policies.begin_delete(
                        *env.rv, p["policyName"], raw_response_hook=hook
                    )
                ),
            )[1],
        ),
        "ReplicationProtectionContainerMappings_Create": Scenario(
            m.ProtectionContainerMapping,
            lambda env, p, hook: (
                env.with_policy(),
                env.finish(
                    env.client.replication_protection_container_mappings.begin_create(
                        *env.fc, p["mappingName"], p["creationInput"], raw_response_hook=hook
                    )
                ),
            )[1],
        ),
        "ReplicationProtectionContainerMappings_Get": Scenario(
            m.ProtectionContainerMapping,
            lambda env, p, hook: (
                env.with_mapping(),
                env.client.replication_protection_container_mappings.get(
                    *env.fc, p["mappingName"], raw_response_hook=hook
                ),
            )[1],
        ),
        "ReplicationProtectionContainerMappings_List": Scenario(
            m.ProtectionContainerMapping,
            lambda env, p, hook: (
                env.with_mapping(),
                list(
                    env.client.replication_protection_container_mappings.list(
                        *env.rv, raw_response_hook=hook
                    )
                ),
            )[1],
            list_model=True,
        ),
        "ReplicationProtectionContainerMappings_ListByReplicationProtectionContainers": Scenario(
            m.ProtectionContainerMapping,
            lambda env, p, hook: (
                env.with_mapping(),
                list(
                    env.client.replication_protection_container_mappings.list_by_replication_protection_containers(
                        *env.fc, raw_response_hook=hook
                    )
                ),
            )[1],
            list_model=True,
        ),
        "ReplicationProtectionContainerMappings_Delete": Scenario(
            None, _mapping_op("begin_delete", "removalInput", "with_mapping")
        ),
        "ReplicationProtectionContainerMappings_Purge": Scenario(
            None, _mapping_op("begin_purge", None, "with_mapping")
        ),
        "ReplicationProtectedItems_Create": Scenario(m.ReplicationProtectedItem, _item_create),
        "ReplicationProtectedItems_Update": Scenario(m.ReplicationProtectedItem, _item_update),
        "ReplicationProtectedItems_Get": Scenario(
            m.ReplicationProtectedItem,
            lambda env, p, hook: (
                env.with_item(),
                env.client.replication_protected_items.get(
                    *env.fc, env.item_name, raw_response_hook=hook
                ),
            )[1],
        ),
        "ReplicationProtectedItems_List": Scenario(
            m.ReplicationProtectedItem,
            lambda env, p, hook: (
                env.with_item(),
                list(env.client.replication_protected_items.list(*env.rv, raw_response_hook=hook)),
            )[1],
            list_model=True,
        ),
        "ReplicationProtectedItems_ListByReplicationProtectionContainers": Scenario(
            m.ReplicationProtectedItem,
            lambda env, p, hook: (
                env.with_item(),
                list(
                    env.client.replication_protected_items.list_by_replication_protection_containers(
                        *env.fc, raw_response_hook=hook
                    )
                ),
            )[1],
            list_model=True,
        ),
        "ReplicationProtectedItems_TestFailover": Scenario(
            m.ReplicationProtectedItem,
            _item_op("begin_test_failover", "testfailoverInput", TFO_INPUT),
        ),
        "ReplicationProtectedItems_TestFailoverCleanup": Scenario(
            m.ReplicationProtectedItem,
            _item_op(
                "begin_test_failover_cleanup",
                "cleanupInput",
                None,
                "test_failed_over",
            ),
        ),
        "ReplicationProtectedItems_UnplannedFailover": Scenario(
            m.ReplicationProtectedItem,
            _item_op("begin_unplanned_failover", "failoverInput", UFO_INPUT, "tested"),
        ),
        "ReplicationProtectedItems_FailoverCommit": Scenario(
            m.ReplicationProtectedItem, _item_op("begin_failover_commit", None, None, "failed_over")
        ),
        "ReplicationProtectedItems_Delete": Scenario(
            None, _item_op("begin_delete", "disableProtectionInput", None)
        ),
        "ReplicationProtectedItems_Purge": Scenario(None, _item_op("begin_purge", None, None)),
        "RecoveryPoints_ListByReplicationProtectedItems": Scenario(
            m.RecoveryPoint,
            lambda env, p, hook: (
                env.with_item(),
                list(
                    env.client.recovery_points.list_by_replication_protected_items(
                        *env.fc, env.item_name, raw_response_hook=hook
                    )
                ),
            )[1],
            list_model=True,
        ),
        "TargetComputeSizes_ListByReplicationProtectedItems": Scenario(
            m.TargetComputeSize,
            lambda env, p, hook: (
                env.with_item(),
                list(
                    env.client.target_compute_sizes.list_by_replication_protected_items(
                        *env.fc, env.item_name, raw_response_hook=hook
                    )
                ),
            )[1],
            list_model=True,
        ),
        "ReplicationJobs_Get": Scenario(
            m.Job,
            lambda env, p, hook: env.client.replication_jobs.get(
                *env.rv, env.job("Succeeded"), raw_response_hook=hook
            ),
        ),
        "ReplicationJobs_List": Scenario(
            m.Job,
            lambda env, p, hook: (
                env.job("Succeeded"),
                list(env.client.replication_jobs.list(*env.rv, raw_response_hook=hook)),
            )[1],
            list_model=True,
        ),
        "ReplicationJobs_Cancel": Scenario(m.Job, _job_op("begin_cancel", "InProgress")),
        "ReplicationJobs_Restart": Scenario(m.Job, _job_op("begin_restart", "Failed")),
        "ReplicationJobs_Resume": Scenario(
            m.Job, _job_op("begin_resume", "Suspended", "resumeJobParams")
        ),
        "ReplicationJobs_Export": Scenario(
            m.Job,
            lambda env, p, hook: (
                env.with_fabric(),
                env.finish(
                    env.client.replication_jobs.begin_export(
                        *env.rv, p["jobQueryParameter"], raw_response_hook=hook
                    ),
                    seconds=60,
                ),
            )[1],
        ),
        "ReplicationRecoveryPlans_Create": Scenario(
            m.RecoveryPlan,
            lambda env, p, hook: (
                env.with_item(),
                env.finish(
                    env.client.replication_recovery_plans.begin_create(
                        *env.rv, p["recoveryPlanName"], p["input"], raw_response_hook=hook
                    )
                ),
            )[1],
        ),
        "ReplicationRecoveryPlans_Update": Scenario(
            m.RecoveryPlan, _plan_op("begin_update", _plan_two_items, lambda p: p["input"])
        ),
        "ReplicationRecoveryPlans_Get": Scenario(
            m.RecoveryPlan,
            lambda env, p, hook: (
                env.with_plan(),
                env.client.replication_recovery_plans.get(
                    *env.rv, p["recoveryPlanName"], raw_response_hook=hook
                ),
            )[1],
        ),
        "ReplicationRecoveryPlans_List": Scenario(
            m.RecoveryPlan,
            lambda env, p, hook: (
                env.with_plan(),
                list(env.client.replication_recovery_plans.list(*env.rv, raw_response_hook=hook)),
            )[1],
            list_model=True,
        ),
        "ReplicationRecoveryPlans_Delete": Scenario(
            None, _plan_op("begin_delete", Env.with_plan, None)
        ),
        "ReplicationRecoveryPlans_TestFailover": Scenario(
            m.RecoveryPlan, _plan_op("begin_test_failover", Env.with_plan, _plan_provider)
        ),
        "ReplicationRecoveryPlans_TestFailoverCleanup": Scenario(
            m.RecoveryPlan,
            _plan_op("begin_test_failover_cleanup", _plan_tfo_done, lambda p: p["input"]),
        ),
        "ReplicationRecoveryPlans_UnplannedFailover": Scenario(
            m.RecoveryPlan, _plan_op("begin_unplanned_failover", Env.with_plan, _plan_provider)
        ),
        "ReplicationRecoveryPlans_FailoverCommit": Scenario(
            m.RecoveryPlan, _plan_op("begin_failover_commit", _plan_failed_over, None)
        ),
    }
)

NOT_COVERED: dict[str, str] = {
    "ReplicationProtectedItems_FailoverCancel": (
        "the example cancels a HyperVReplicaAzure failover; a forward InMageRcm failover cannot "
        "be cancelled in the modernized stack (CancelFailover is not in allowedOperations after "
        "ReplicationProtectedItems_UnplannedFailover.json): the emulator refuses it (400)."
    ),
    "ReplicationEligibilityResults_List": (
        "Azure-to-Azure (A2A) eligibility of an Azure VM; not part of the InMageRcm flow."
    ),
    "ReplicationEvents_List": "replicationEvents are not served by the emulator.",
    "ReplicationFabrics_Create": (
        "an InMageRcm fabric is created by registering the appliance, not by this API."
    ),
    "ReplicationProtectableItems_Get": (
        "InMageRcm enables replication from OffAzure machines "
        "(fabricDiscoveryMachineId), not protectable items."
    ),
    "ReplicationProtectableItems_ListByReplicationProtectionContainers": (
        "as above: no protectable items for InMageRcm. "
    ),
    "ReplicationProtectedItems_PlannedFailover": (
        "InMageRcm has no planned failover: the emulator refuses it "
        "(400), the example documents 200/202."
    ),
    "ReplicationProtectedItems_RepairReplication": "resynchronisation is not emulated.",
    "ReplicationProtectedItems_Reprotect": (
        "reprotect (failback to on-premises) does not apply to EC2 migration."
    ),
    "ReplicationProtectedItems_ResolveHealthErrors": "not served.",
    "ReplicationProtectedItems_UpdateMobilityService": "agent upgrade is not emulated.",
    "ReplicationProtectionContainers_Create": (
        "the InMageRcm container is created with the fabric by appliance registration."
    ),
    "ReplicationRecoveryPlans_PlannedFailover": "InMageRcm has no planned failover: refused (400).",
    "ReplicationvCenters_List": "no vCenter: EC2 machines are physical servers for ASR.",
    "VaultCertificates_Create": "vault credentials are only needed to register a real appliance.",
}
