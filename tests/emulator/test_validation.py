"""Enable-replication input validated as ASR does, before anything changes."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from ec2asr.testing.emulator import AsrEmulator
from ec2asr.testing.emulator.validation import check_vm_name
from tests.asr_helpers import arm, asr_code, enable_input, items_api, linux_spec, windows_spec


@pytest.mark.parametrize(
    ("name", "os_type", "valid"),
    [
        ("web01", "linux", True),
        ("web-01.prod", "linux", True),
        ("a" * 64, "linux", True),
        ("a" * 65, "linux", False),
        ("web01.", "linux", False),
        ("web01-", "linux", False),
        ("WIN-SQL-01", "windows", True),
        ("a" * 15, "windows", True),
        ("a" * 16, "windows", False),
        ("win.sql", "windows", False),
        ("12345", "windows", False),
        ("win-", "windows", False),
        ("bad_name", "linux", False),
        ("bad name", "windows", False),
        ("-lead", "linux", False),
        ("", "linux", False),
    ],
)
def test_azure_vm_name_rules(name: str, os_type: str, valid: bool) -> None:
    assert (check_vm_name(name, os_type) is None) is valid


def _create(emulator: AsrEmulator, client: Any, name: str, body: dict[str, Any]) -> Any:
    items, args = items_api(emulator, client)
    return items.begin_create(*args, name, body, polling=False)


def _refused(emulator: AsrEmulator, client: Any, body: dict[str, Any], name: str = "item1") -> Any:
    accepted = len(emulator.writes)
    with pytest.raises(HttpResponseError) as info:
        _create(emulator, client, name, body)
    items, args = items_api(emulator, client)
    assert name not in {i.name for i in items.list_by_replication_protection_containers(*args)}
    assert len(emulator.writes) == accepted  # refused before anything changed
    return info.value


@pytest.mark.contract_refused_requests("enable inputs missing required ids")
def test_required_ids(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    machine_id = emulator.register_machine(linux_spec())
    for key in ("fabricDiscoveryMachineId", "processServerId", "targetResourceGroupId"):
        body = enable_input(emulator, policy_id, machine_id)
        del body["properties"]["providerSpecificDetails"][key]
        error = _refused(emulator, client, body)
        assert error.status_code == 400
        assert key in error.error.message
    body = enable_input(emulator, policy_id, machine_id)
    del body["properties"]["policyId"]
    assert "policyId" in _refused(emulator, client, body).error.message


def test_policy_must_be_mapped_to_the_container(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    machine_id = emulator.register_machine(linux_spec())
    body = {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}}
    client.replication_policies.begin_create(
        emulator.resource_group, emulator.vault, "unmapped", body, polling=False
    )
    emulator.advance(60)
    other = policy_id.replace("ec2asr-policy", "unmapped")
    error = _refused(emulator, client, enable_input(emulator, other, machine_id))
    assert asr_code(error) == "PolicyNotAssociated"


def test_machine_must_be_discovered(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    ghost = f"{emulator.site_id}/machines/00000000-1111-2222-3333-444444444444"
    error = _refused(emulator, client, enable_input(emulator, policy_id, ghost))
    assert asr_code(error) == "MachineNotDiscovered"


def test_target_vm_name_must_be_valid_for_azure(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    machine_id = emulator.register_machine(windows_spec())
    error = _refused(
        emulator,
        client,
        enable_input(emulator, policy_id, machine_id, targetVmName="WINDOWS-SERVER-01"),
    )
    assert asr_code(error) == "InvalidTargetVmName"
    assert "1-15" in error.error.message


def test_default_target_vm_name_is_the_host_name(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    machine_id = emulator.register_machine(spec)
    _create(emulator, client, spec.instance_id, enable_input(emulator, policy_id, machine_id))
    items, args = items_api(emulator, client)
    assert (
        items.get(*args, spec.instance_id).properties.provider_specific_details.target_vm_name
        == spec.hostname
    )


def test_ids_must_be_well_formed(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    machine_id = emulator.register_machine(linux_spec())
    error = _refused(
        emulator,
        client,
        enable_input(emulator, policy_id, machine_id, targetResourceGroupId="target-rg"),
    )
    assert "resource group" in error.error.message
    error = _refused(
        emulator,
        client,
        enable_input(emulator, policy_id, machine_id, targetNetworkId=arm(emulator, "x")),
    )
    assert "virtual network" in error.error.message


def test_disk_inputs(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    spec = linux_spec(disks=(30, 100))
    machine_id = emulator.register_machine(spec)
    storage = arm(emulator, "rg/providers/Microsoft.Storage/storageAccounts/cachesa01")
    data_disk = spec.disk_id(spec.disks[1])
    only_data = [{"diskId": data_disk, "diskType": "Standard_LRS", "logStorageAccountId": storage}]
    error = _refused(
        emulator,
        client,
        enable_input(emulator, policy_id, machine_id, disksDefault=None, disksToInclude=only_data),
    )
    assert "OS disk" in error.error.message
    both = enable_input(emulator, policy_id, machine_id, disksToInclude=only_data)
    assert "not both" in _refused(emulator, client, both).error.message
    ultra = enable_input(
        emulator,
        policy_id,
        machine_id,
        disksDefault={"diskType": "UltraSSD_LRS", "logStorageAccountId": storage},
    )
    assert "UltraSSD_LRS" in _refused(emulator, client, ultra).error.message
    os_disk = spec.disk_id(spec.disks[0])
    chosen = [{"diskId": os_disk, "diskType": "Premium_LRS", "logStorageAccountId": storage}]
    _create(
        emulator,
        client,
        spec.instance_id,
        enable_input(emulator, policy_id, machine_id, disksDefault=None, disksToInclude=chosen),
    )
    items, args = items_api(emulator, client)
    details = items.get(*args, spec.instance_id).properties.provider_specific_details
    assert [d.disk_id for d in details.protected_disks] == [os_disk]
    assert [d.disk_id for d in details.unprotected_disks] == [data_disk]


def test_machine_without_agent_needs_a_run_as_account(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    emulator.add_push_servers([spec], account_name="root-cred")
    machine_id = emulator.machine_id(spec.instance_id)
    error = _refused(emulator, client, enable_input(emulator, policy_id, machine_id))
    assert asr_code(error) == "RunAsAccountRequired"
    missing = f"{emulator.site_id}/runasaccounts/nope"
    error = _refused(
        emulator, client, enable_input(emulator, policy_id, machine_id, runAsAccountId=missing)
    )
    assert "run-as account" in error.error.message


def test_enable_twice_is_a_conflict(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    spec = linux_spec()
    machine_id = emulator.register_machine(spec)
    _create(emulator, client, spec.instance_id, enable_input(emulator, policy_id, machine_id))
    with pytest.raises(ResourceExistsError) as info:
        _create(emulator, client, spec.instance_id, enable_input(emulator, policy_id, machine_id))
    assert asr_code(info.value) == "ProtectionAlreadyEnabled"
    with pytest.raises(ResourceExistsError):
        _create(emulator, client, "other-name", enable_input(emulator, policy_id, machine_id))


def test_target_vm_name_unique_in_target_resource_group(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    first, second = linux_spec(1), linux_spec(2)
    _create(
        emulator,
        client,
        first.instance_id,
        enable_input(emulator, policy_id, emulator.register_machine(first), targetVmName="app"),
    )
    error = _refused(
        emulator,
        client,
        enable_input(emulator, policy_id, emulator.register_machine(second), targetVmName="APP"),
        name=second.instance_id,
    )
    assert asr_code(error) == "TargetVmNameInUse"


def test_policies_validate_their_settings(emulator: AsrEmulator, client: Any) -> None:
    rg, vault = emulator.resource_group, emulator.vault
    for settings, text in [
        ({"recoveryPointHistoryInMinutes": 30 * 24 * 60}, "15 days"),
        ({"crashConsistentFrequencyInMinutes": 10}, "must be 5"),
        ({"appConsistentFrequencyInMinutes": 13 * 60}, "12 hours"),
        ({"enableMultiVmSync": "maybe"}, "enableMultiVmSync"),
    ]:
        body = {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm", **settings}}}
        with pytest.raises(HttpResponseError) as info:
            client.replication_policies.begin_create(rg, vault, "p", body)
        assert text in info.value.error.message
