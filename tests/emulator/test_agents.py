"""Mobility agent registration: manual (configurator + configuration), push (run-as account +
network), and replication stalling when the source cannot reach the appliance."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from ec2asr.testing.emulator import (
    ApplianceInfo,
    AsrEmulator,
    MachineSpec,
    Reachability,
    ec2_bios_guid,
)
from tests.asr_helpers import (
    asr_code,
    enable_input,
    finish,
    items_api,
    linux_spec,
    protect,
    windows_spec,
)


class Network:
    """A connectivity oracle tests can open and close."""

    def __init__(self) -> None:
        self.push_closed: set[str] = set()
        self.egress_closed: set[str] = set()

    def push_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        if machine.instance_id in self.push_closed:
            ports = (
                "tcp/445, tcp/135, tcp/49152-65535" if machine.os_type == "windows" else "tcp/22"
            )
            return Reachability(
                False, (f"{ports} from {appliance.private_ip} to {machine.instance_id}",)
            )
        return Reachability(True)

    def replication_path(self, machine: MachineSpec, appliance: ApplianceInfo) -> Reachability:
        if machine.instance_id in self.egress_closed:
            return Reachability(
                False, (f"tcp/9443 from {machine.instance_id} to {appliance.private_ip}",)
            )
        return Reachability(True)


@pytest.fixture
def network(emulator: AsrEmulator) -> Network:
    net = Network()
    emulator.set_connectivity_oracle(net)
    return net


def _site_machines(emulator: AsrEmulator, client: Any) -> list[dict[str, Any]]:
    from azure.core.rest import HttpRequest

    request = HttpRequest("GET", f"{emulator.site_id}/machines?api-version=2023-06-06")
    response = client.send_request(request)
    response.raise_for_status()
    return list(response.json()["value"])


def test_ec2_bios_guid_is_deterministic_and_starts_with_ec2() -> None:
    guid = ec2_bios_guid("i-0123456789abcdef0")
    assert guid.startswith("EC2")
    assert guid == ec2_bios_guid("i-0123456789abcdef0")
    assert guid != ec2_bios_guid("i-0123456789abcdef1")
    assert len(guid) == 36


def test_registered_machine_appears_in_site_and_fabric(emulator: AsrEmulator, client: Any) -> None:
    spec = linux_spec()
    assert _site_machines(emulator, client) == []
    machine_id = emulator.register_machine(spec)
    [machine] = _site_machines(emulator, client)
    assert machine["id"] == machine_id
    props = machine["properties"]
    assert props["displayName"] == spec.hostname
    assert props["biosGuid"] == ec2_bios_guid(spec.instance_id)
    assert props["networkAdapters"][0]["ipAddressList"] == list(spec.private_ips)
    assert props["operatingSystemDetails"] == {
        "osType": "LinuxGuest",
        "osName": "Ubuntu 20.04 LTS",
        "osVersion": "20.04",
        "osArchitecture": "x64",
    }
    assert [d["maxSizeInBytes"] for d in props["disks"]] == [30 * 1024**3, 100 * 1024**3]
    fabric = client.replication_fabrics.get(
        emulator.resource_group, emulator.vault, emulator.fabric_name
    )
    [agent] = fabric.properties.custom_details.agent_details
    assert agent.bios_id == ec2_bios_guid(spec.instance_id)
    assert [e.registered for e in emulator.registration_log] == [True]


def test_configurator_registers_only_with_the_appliance_configuration(
    emulator: AsrEmulator, client: Any
) -> None:
    config = emulator.mobility_configuration()
    assert "**********" in repr(config)
    assert config.reveal() not in repr(emulator)
    spec = linux_spec()
    for text, reason in [
        (None, "missing or empty"),
        ("garbage", "not a Mobility service configuration"),
        (config.reveal().replace('"Otp": "', '"Otp": "x'), "one-time password"),
    ]:
        event = emulator.run_configurator(spec, text, command_id="cmd-1")
        assert not event.registered
        assert reason in event.reason
        assert config.reveal() not in event.reason
    assert _site_machines(emulator, client) == []
    assert len(emulator.registration_failures) == 3
    assert emulator.run_configurator(spec, config.reveal()).registered
    assert len(_site_machines(emulator, client)) == 1


def test_push_servers_are_discovered_without_agent_and_pushed_on_enable(
    emulator: AsrEmulator, client: Any, policy_id: str, network: Network
) -> None:
    spec = linux_spec()
    run_as = emulator.add_push_servers([spec], account_name="root-cred")
    [machine] = _site_machines(emulator, client)
    assert machine["properties"]["runAsAccountId"] == run_as
    from azure.core.rest import HttpRequest

    accounts = client.send_request(
        HttpRequest("GET", f"{emulator.site_id}/runAsAccounts?api-version=2023-06-06")
    ).json()
    assert [a["properties"]["displayName"] for a in accounts["value"]] == ["root-cred"]
    assert accounts["value"][0]["properties"]["credentialType"] == "LinuxServer"
    fabric = client.replication_fabrics.get(
        emulator.resource_group, emulator.vault, emulator.fabric_name
    )
    assert fabric.properties.custom_details.agent_details == []
    items, args = items_api(emulator, client)
    poller = items.begin_create(
        *args,
        spec.instance_id,
        enable_input(emulator, policy_id, machine["id"], runAsAccountId=run_as),
    )
    item = finish(emulator, poller, seconds=600)
    assert item.properties.protection_state == "InitialReplicationInProgress"
    assert item.properties.provider_specific_details.run_as_account_id == run_as
    assert [(e.method, e.registered) for e in emulator.registration_log] == [("push", True)]
    job = next(iter(client.replication_jobs.list(emulator.resource_group, emulator.vault)))
    assert "Installing Mobility Service" in [t.friendly_name for t in job.properties.tasks]


@pytest.mark.parametrize(("spec", "code"), [(linux_spec(), "95117"), (windows_spec(), "95117")])
def test_push_blocked_by_the_network_fails_the_job(
    emulator: AsrEmulator,
    client: Any,
    policy_id: str,
    network: Network,
    spec: MachineSpec,
    code: str,
) -> None:
    run_as = emulator.add_push_servers([spec], account_name="admin")
    network.push_closed.add(spec.instance_id)
    items, args = items_api(emulator, client)
    poller = items.begin_create(
        *args,
        spec.instance_id,
        enable_input(
            emulator, policy_id, emulator.machine_id(spec.instance_id), runAsAccountId=run_as
        ),
    )
    emulator.advance(600)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert asr_code(info.value) == code
    assert emulator.appliance.private_ip in info.value.error.message
    item = items.get(*args, spec.instance_id)
    assert item.properties.protection_state == "EnablingFailed"
    assert item.properties.allowed_operations == ["DisableProtection"]
    failed = next(
        j
        for j in client.replication_jobs.list(emulator.resource_group, emulator.vault)
        if j.properties.state == "Failed"
    )
    provider = failed.properties.errors[0].provider_error_details
    assert provider.error_code == int(code)
    assert (
        "445" in provider.recommended_action
        if spec.os_type == "windows"
        else "22" in provider.recommended_action
    )
    [event] = emulator.registration_failures
    assert (event.method, event.instance_id) == ("push", spec.instance_id)


@pytest.mark.parametrize(("spec", "code"), [(linux_spec(), "95108"), (windows_spec(), "95107")])
def test_push_with_bad_credentials_fails_with_the_os_specific_error(
    emulator: AsrEmulator, client: Any, policy_id: str, spec: MachineSpec, code: str
) -> None:
    run_as = emulator.add_push_servers([spec], account_name="admin", credentials_valid=False)
    items, args = items_api(emulator, client)
    poller = items.begin_create(
        *args,
        spec.instance_id,
        enable_input(
            emulator, policy_id, emulator.machine_id(spec.instance_id), runAsAccountId=run_as
        ),
    )
    emulator.advance(600)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert asr_code(info.value) == code
    assert "credentials" in info.value.error.message


def test_replication_stalls_with_health_error_while_egress_is_closed(
    emulator: AsrEmulator, client: Any, policy_id: str, network: Network
) -> None:
    spec = linux_spec(disks=(100,))
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    finish(
        emulator,
        items.begin_create(*args, spec.instance_id, enable_input(emulator, policy_id, machine_id)),
        seconds=240,
    )
    emulator.advance(1800)
    before = items.get(
        *args, spec.instance_id
    ).properties.provider_specific_details.initial_replication_progress_percentage
    assert before > 0
    network.egress_closed.add(spec.instance_id)
    emulator.advance(6 * 3600)
    item = items.get(*args, spec.instance_id)
    details = item.properties.provider_specific_details
    assert details.initial_replication_progress_percentage == before
    assert details.initial_replication_progress_health == "NoProgress"
    assert item.properties.protection_state == "InitialReplicationInProgress"
    assert item.properties.replication_health == "Critical"
    [error] = [e for e in item.properties.health_errors if e.error_code == "78186"]
    assert emulator.appliance.private_ip in error.error_message
    assert "9443" in error.recommended_action
    health = client.replication_vault_health.get(emulator.resource_group, emulator.vault)
    assert health.properties.protected_items_health.issues[0].summary_code == "78186"
    network.egress_closed.clear()
    emulator.advance(6 * 3600)
    item = items.get(*args, spec.instance_id)
    assert item.properties.protection_state == "Protected"
    assert item.properties.replication_health == "Normal"


def test_no_recovery_points_while_the_appliance_is_unreachable(
    emulator: AsrEmulator, client: Any, policy_id: str, network: Network
) -> None:
    spec = linux_spec(disks=(10,))
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    items.get(*args, spec.instance_id)
    closed = emulator.now()
    network.egress_closed.add(spec.instance_id)
    emulator.advance(2 * 3600)
    details = items.get(*args, spec.instance_id).properties.provider_specific_details
    listed = client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id)
    newest = next(iter(listed)).properties.recovery_point_time
    # Only data sent before the path closed made points (what was in flight was processed).
    assert newest <= closed
    assert details.last_rpo_in_seconds >= 2 * 3600
    assert details.protected_disks[0].data_pending_at_source_agent_in_mb > 6800  # 2 h at 8 Mbps
    network.egress_closed.clear()
    emulator.advance(600)
    points = list(
        client.recovery_points.list_by_replication_protected_items(*args, spec.instance_id)
    )
    gaps = [
        (a.properties.recovery_point_time - b.properties.recovery_point_time).total_seconds()
        for a, b in itertools.pairwise(points)
    ]
    assert max(gaps) >= 2 * 3600
    assert (
        items.get(*args, spec.instance_id).properties.provider_specific_details.last_rpo_in_seconds
        < 300 + 150  # the grid, behind by the lags (30 s at the agent, 120 s processing)
    )
