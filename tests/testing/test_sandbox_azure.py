"""The sandbox's Azure half: the emulator with the seeded appliance, agents installed through SSM
Run Command in moto, push installation gated by security groups, replication gated by egress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from ec2asr.testing import Sandbox, SeededFleet, SimulatedClock
from ec2asr.testing._azure import SecurityGroupOracle, machine_spec
from tests.asr_helpers import START, asr_code, enable_input, finish, items_api, setup_policy

LINUX = [
    "CFG=$(mktemp)",
    "aws ssm get-parameter --name '/ec2asr/agent-config/{iid}' --with-decryption "
    '--query Parameter.Value --output text > "$CFG"',
    "sudo ./install -q -r MS -v VmWare -c CSPrime",
    'sudo /usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh -c CSPrime -S "$CFG" -q',
]
WINDOWS = [
    '$cfg = "C:\\Windows\\Temp\\asr.json"',
    "(Get-SSMParameter -Name '/ec2asr/agent-config/{iid}' -WithDecryption $true).Value "
    "| Set-Content -Path $cfg",
    ".\\UnifiedAgentInstaller.exe /Platform vmware /Silent /Role MS /CSType CSPrime "
    '/InstallLocation "C:\\Program Files (x86)\\Microsoft Azure Site Recovery"',
    '& "C:\\Program Files (x86)\\Microsoft Azure Site Recovery\\agent\\'
    'UnifiedAgentConfigurator.exe" '
    "/SourceConfigFilePath $cfg /CSType CSPrime /CredentialLessDiscovery false",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=SimulatedClock(START, speed=0)) as started:
        yield started


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet(profiles=["rhel79", "win2019", "rhel8", "ubuntu1804"])


@pytest.fixture(scope="module")
def client(sandbox: Sandbox, fleet: SeededFleet) -> Any:
    return sandbox.asr_management_client(retry_total=0)


@pytest.fixture(scope="module")
def policy_id(sandbox: Sandbox, client: Any) -> str:
    return setup_policy(sandbox.emulator, client)


def _machines(sandbox: Sandbox, client: Any) -> dict[str, dict[str, Any]]:
    site = sandbox.emulator.site_id
    body = client.send_request(HttpRequest("GET", f"{site}/machines?api-version=2023-06-06")).json()
    return {m["properties"]["biosGuid"]: m for m in body["value"]}


def _install(
    sandbox: Sandbox, instance_id: str, document: str, script: list[str], value: str | None
) -> Any:
    ssm = sandbox.ec2_session.client("ssm")
    if value is not None:
        ssm.put_parameter(
            Name=f"/ec2asr/agent-config/{instance_id}",
            Value=value,
            Type="SecureString",
            Overwrite=True,
        )
    command = ssm.send_command(
        InstanceIds=[instance_id],
        DocumentName=document,
        Parameters={"commands": [line.replace("{iid}", instance_id) for line in script]},
    )["Command"]
    return ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=instance_id)


def test_sandbox_gives_the_azure_half(sandbox: Sandbox, fleet: SeededFleet, client: Any) -> None:
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    assert sandbox.credential.get_token("x").token
    [fabric] = list(client.replication_fabrics.list(sandbox.resource_group, sandbox.vault))
    [server] = fabric.properties.custom_details.process_servers
    assert server.ip_addresses == [fleet.appliance.private_ip]
    assert sandbox.emulator.appliance.instance_id == fleet.appliance.instance_id
    assert sandbox.subscription_id == sandbox.emulator.subscription_id
    assert "**********" in repr(sandbox.emulator.mobility_configuration())


def test_machine_spec_from_moto(sandbox: Sandbox, fleet: SeededFleet) -> None:
    linux = fleet.instance("rhel79")
    spec = machine_spec(sandbox.ec2_session.client("ec2"), linux.instance_id)
    assert (spec.os_type, spec.os_name, spec.os_version) == (
        "linux",
        "Red Hat Enterprise Linux 7.9",
        "7.9",
    )
    assert spec.private_ips[0] == linux.private_ip
    assert spec.hostname == linux.name
    assert any(d.is_os for d in spec.disks)
    windows = machine_spec(sandbox.ec2_session.client("ec2"), fleet.instance("win2019").instance_id)
    assert (windows.os_type, windows.os_version) == ("windows", "10.0.17763")


def test_manual_install_through_ssm_registers_linux_and_windows(
    sandbox: Sandbox, fleet: SeededFleet, client: Any
) -> None:
    config = sandbox.emulator.mobility_configuration().reveal()
    for profile, document, script in [
        ("rhel79", "AWS-RunShellScript", LINUX),
        ("win2019", "AWS-RunPowerShellScript", WINDOWS),
    ]:
        instance = fleet.instance(profile)
        invocation = _install(sandbox, instance.instance_id, document, script, config)
        assert invocation["Status"] == "Success"
        spec = machine_spec(sandbox.ec2_session.client("ec2"), instance.instance_id)
        machine = _machines(sandbox, client)[spec.resolved_bios_guid]
        assert machine["properties"]["networkAdapters"][0]["ipAddressList"] == [instance.private_ip]
    assert [e.registered for e in sandbox.emulator.registration_log if e.method == "manual"][
        -2:
    ] == [True, True]


def test_wrong_or_missing_configuration_does_not_register(
    sandbox: Sandbox, fleet: SeededFleet, client: Any
) -> None:
    instance = fleet.instance("ubuntu1804")
    before = len(sandbox.emulator.registration_failures)
    invocation = _install(
        sandbox,
        instance.instance_id,
        "AWS-RunShellScript",
        LINUX,
        '{"ApplianceFqdn": "other", "Otp": "x"}',
    )
    assert invocation["Status"] == "Failed"
    assert "another appliance" in invocation["StandardErrorContent"]
    ssm = sandbox.ec2_session.client("ssm")
    ssm.delete_parameter(Name=f"/ec2asr/agent-config/{instance.instance_id}")
    invocation = _install(sandbox, instance.instance_id, "AWS-RunShellScript", LINUX, None)
    assert invocation["Status"] == "Failed"
    assert "does not exist" in invocation["StandardErrorContent"]
    bad_script = [line for line in LINUX if "Configurator" not in line]
    invocation = _install(
        sandbox,
        instance.instance_id,
        "AWS-RunShellScript",
        bad_script,
        sandbox.emulator.mobility_configuration().reveal(),
    )
    assert invocation["Status"] == "Failed"
    assert "configurator did not run" in invocation["StandardErrorContent"]
    failures = sandbox.emulator.registration_failures[before:]
    assert [f.instance_id for f in failures] == [instance.instance_id] * 3
    assert all(f.command_id for f in failures)
    spec = machine_spec(sandbox.ec2_session.client("ec2"), instance.instance_id)
    assert spec.resolved_bios_guid not in _machines(sandbox, client)


def test_push_install_needs_the_security_groups_to_let_the_appliance_in(
    sandbox: Sandbox, fleet: SeededFleet, client: Any, policy_id: str
) -> None:
    instance = fleet.instance("rhel8")
    emulator = sandbox.emulator
    run_as = sandbox.add_push_servers([instance.instance_id], account_name="root")
    items, args = items_api(emulator, client)
    body = enable_input(
        emulator,
        policy_id,
        emulator.machine_id(instance.instance_id),
        runAsAccountId=run_as,
        targetVmName="rhel8",
    )
    poller = items.begin_create(*args, instance.instance_id, body)
    emulator.advance(900)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert asr_code(info.value) == "95117"
    job = next(
        j
        for j in client.replication_jobs.list(sandbox.resource_group, sandbox.vault)
        if j.properties.state == "Failed"
    )
    assert "tcp/22" in job.properties.errors[0].service_error_details.possible_causes

    ec2 = sandbox.ec2_session.client("ec2")
    ec2.authorize_security_group_ingress(
        GroupId=instance.security_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "UserIdGroupPairs": [{"GroupId": fleet.appliance.security_group_id}],
            }
        ],
    )
    restarted = finish(
        emulator,
        client.replication_jobs.begin_restart(sandbox.resource_group, sandbox.vault, job.name),
        seconds=900,
    )
    assert restarted.properties.state == "Succeeded"
    item = items.get(*args, instance.instance_id)
    assert item.properties.protection_state == "InitialReplicationInProgress"
    # The restricted tier allows egress on 443 only: replication stalls on 9443.
    emulator.advance(3600)
    item = items.get(*args, instance.instance_id)
    assert item.properties.replication_health == "Critical"
    [error] = [e for e in item.properties.health_errors if e.error_code == "78186"]
    assert "tcp/9443" in error.possible_causes
    assert item.properties.provider_specific_details.initial_replication_progress_percentage == 0
    ec2.authorize_security_group_egress(
        GroupId=instance.security_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 9443,
                "ToPort": 9443,
                "IpRanges": [{"CidrIp": f"{fleet.appliance.private_ip}/32"}],
            }
        ],
    )
    emulator.advance(12 * 3600)
    item = items.get(*args, instance.instance_id)
    assert item.properties.protection_state == "Protected"
    assert item.properties.replication_health == "Normal"


def test_oracle_needs_the_whole_dynamic_rpc_range_for_windows(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    windows = fleet.instance("win2019")
    oracle = SecurityGroupOracle(sandbox.ec2_backend)
    spec = machine_spec(sandbox.ec2_session.client("ec2"), windows.instance_id)
    appliance = sandbox.emulator.appliance
    verdict = oracle.push_path(spec, appliance)
    assert not verdict.open
    assert {m.split(":")[0] for m in verdict.missing} == {"tcp/445", "tcp/135", "tcp/49152-65535"}
    ec2 = sandbox.ec2_session.client("ec2")
    peer = [{"GroupId": fleet.appliance.security_group_id}]
    ec2.authorize_security_group_ingress(
        GroupId=windows.security_group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 445, "ToPort": 445, "UserIdGroupPairs": peer},
            {"IpProtocol": "tcp", "FromPort": 135, "ToPort": 135, "UserIdGroupPairs": peer},
            {"IpProtocol": "tcp", "FromPort": 49152, "ToPort": 60000, "UserIdGroupPairs": peer},
        ],
    )
    assert [m.split(":")[0] for m in oracle.push_path(spec, appliance).missing] == [
        "tcp/49152-65535"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=windows.security_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 60001,
                "ToPort": 65535,
                "IpRanges": [{"CidrIp": f"{appliance.private_ip}/32"}],
            }
        ],
    )
    assert oracle.push_path(spec, appliance).open
    assert oracle.replication_path(spec, appliance).open
