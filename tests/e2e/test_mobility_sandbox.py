"""Push install and Run Command install against moto, through the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from ec2asr import Ec2Discovery
from ec2asr._secret import Secret
from ec2asr.aws.leases import LEASE_DESCRIPTION_PREFIX, SecurityGroupLeases
from ec2asr.errors import ConnectivityError, MobilityError
from ec2asr.migration.journal import Journal
from ec2asr.mobility import (
    ApplianceEndpoint,
    InstallContext,
    InstallState,
    ManualInstall,
    PushInstall,
    SsmRunCommand,
)
from ec2asr.models import OsFamily, SourceMachine
from ec2asr.testing import Sandbox, SeededFleet

pytestmark = pytest.mark.e2e

SECRET_TEXT = '{"Otp": "sandbox-0tp-5e3c7a91", "IpAddresses": "10.0.0.10"}'


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as started:
        yield started


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet()


@pytest.fixture(scope="module")
def machines(sandbox: Sandbox, fleet: SeededFleet) -> list[SourceMachine]:
    found = Ec2Discovery(ec2_client=sandbox.ec2_session.client("ec2")).discover(
        instance_ids=fleet.instance_ids
    )
    return [m for m in found if m.state == "running"]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "migration.sqlite") as opened:
        yield opened


def appliance(fleet: SeededFleet) -> ApplianceEndpoint:
    return ApplianceEndpoint(fleet.appliance.private_ip, name=fleet.appliance.name)


def leased(ec2: Any, fleet: SeededFleet) -> list[dict[str, Any]]:
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": sorted(fleet.security_groups.values())}]
    )["SecurityGroupRules"]
    return [r for r in rules if (r.get("Description") or "").startswith(LEASE_DESCRIPTION_PREFIX)]


# -- push --------------------------------------------------------------------------------------


def test_push_fails_closed_paths_when_it_may_not_change_groups(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine]
) -> None:
    push = PushInstall({"windows": "win-admin", "linux": "linux-root"})
    context = InstallContext(appliance(fleet), ec2_client=sandbox.ec2_session.client("ec2"))
    results = push.install(machines, context)
    for machine, result in zip(machines, results, strict=True):
        assert result.state is InstallState.FAILED, machine.display_name
        if machine.os.family is OsFamily.UNKNOWN:
            assert isinstance(result.error, MobilityError)
            continue
        assert isinstance(result.error, ConnectivityError)
        port = "445" if machine.is_windows else "22"
        assert any(f"inbound TCP {port} from" in rule for rule in result.error.missing)
        assert all("10.0.0.10/32" in rule for rule in result.error.missing)


def test_push_leases_rules_then_asks_for_the_appliance_step_then_hands_over(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    ec2 = sandbox.ec2_session.client("ec2")
    known = [m for m in machines if m.os.family is not OsFamily.UNKNOWN]
    leases = SecurityGroupLeases(ec2, journal, namespace="push-e2e")
    push = PushInstall({"windows": "win-admin", "linux": "linux-root"}, manage_security_groups=True)
    context = InstallContext(appliance(fleet), ec2_client=ec2, leases=leases, migration_id="p1")
    try:
        first = push.install(known, context)
        assert {r.state for r in first} == {InstallState.ACTION_REQUIRED}
        instructions = first[0].instructions or ""
        assert "asr-appliance-01 (10.0.0.10)" in instructions
        windows = [m for m in known if m.is_windows]
        linux = [m for m in known if not m.is_windows]
        assert all(f"{m.private_ip} ({m.display_name})" in instructions for m in known)
        assert "Windows, credential 'win-admin'" in instructions
        assert "Linux, credential 'linux-root'" in instructions
        assert {r.run_as_account for r, m in zip(first, known, strict=True) if m in windows} == {
            "win-admin"
        }
        rules = leased(ec2, fleet)
        assert rules
        assert all(r["CidrIpv4"] == "10.0.0.10/32" and not r["IsEgress"] for r in rules)
        assert {(r["FromPort"], r["ToPort"]) for r in rules} == (
            {(445, 445), (135, 135), (49152, 65535)} if windows else set()
        ) | ({(22, 22)} if linux else set())
        # The appliance discovered them: handed over, nothing added twice.
        discovered = frozenset(ip for m in known for ip in m.private_ips)
        second = push.install(known, attrs.evolve(context, discovered_ips=discovered))
        assert {r.state for r in second} == {InstallState.HANDED_OVER}
        assert all(r.run_as_account in ("win-admin", "linux-root") for r in second)
        assert len(leased(ec2, fleet)) == len(rules)
        assert {r.state for r in journal.leases()} == {"active"}
    finally:
        leases.revoke_all()
    assert leased(ec2, fleet) == []


def test_leased_push_paths_agree_with_the_sandbox_oracle_and_the_appliance_step(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    """ec2asr's analysis and leases against the sandbox's independent connectivity oracle."""
    from ec2asr.testing._azure import machine_spec

    ec2 = sandbox.ec2_session.client("ec2")
    known = [m for m in machines if m.os.family is not OsFamily.UNKNOWN]
    oracle = sandbox.emulator.connectivity
    info = sandbox.emulator.appliance
    specs = {m.instance_id: machine_spec(ec2, m.instance_id) for m in known}
    assert not any(oracle.push_path(spec, info).open for spec in specs.values())
    leases = SecurityGroupLeases(ec2, journal, namespace="oracle")
    push = PushInstall({"windows": "win-admin", "linux": "linux-root"}, manage_security_groups=True)
    context = InstallContext(appliance(fleet), ec2_client=ec2, leases=leases, migration_id="o1")
    try:
        first = push.install(known, context)
        assert {r.state for r in first} == {InstallState.ACTION_REQUIRED}
        assert all(oracle.push_path(spec, info).open for spec in specs.values())
        # The person's step on the appliance, as the instructions say: then hand-over.
        for family, account in ((OsFamily.WINDOWS, "win-admin"), (OsFamily.LINUX, "linux-root")):
            ids = [m.instance_id for m in known if m.os.family is family]
            if ids:
                sandbox.add_push_servers(ids, account_name=account)
        discovered = frozenset(
            ip for m in known if sandbox.emulator.machine_id(m.instance_id) for ip in m.private_ips
        )
        second = push.install(known, attrs.evolve(context, discovered_ips=discovered))
        assert {r.state for r in second} == {InstallState.HANDED_OVER}
    finally:
        leases.revoke_all()
    assert not any(oracle.push_path(spec, info).open for spec in specs.values())


def test_replication_leases_open_what_the_sandbox_oracle_finds_closed(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    from ec2asr.aws.network import FlowPurpose, NetworkInspector
    from ec2asr.testing._azure import machine_spec

    ec2 = sandbox.ec2_session.client("ec2")
    oracle, info = sandbox.emulator.connectivity, sandbox.emulator.appliance
    report = NetworkInspector(ec2).analyze(machines, fleet.appliance.private_ip)
    assert not report.ok  # the restricted tier allows egress on 443 only
    for machine in machines:
        spec = machine_spec(ec2, machine.instance_id)
        assert oracle.replication_path(spec, info).open == report[machine.instance_id].ok
    leases = SecurityGroupLeases(ec2, journal, namespace="replication")
    try:
        assert leases.acquire(report, purposes=[FlowPurpose.REPLICATION]).ok
        for machine in machines:
            assert oracle.replication_path(machine_spec(ec2, machine.instance_id), info).open
    finally:
        leases.revoke_all()


def test_push_preconditions(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine]
) -> None:
    with pytest.raises(MobilityError, match="ec2_client"):
        PushInstall("admin").install(machines[:1], InstallContext(appliance(fleet)))
    with pytest.raises(MobilityError, match=r"context\.leases"):
        PushInstall("admin", manage_security_groups=True).install(
            machines[:1],
            InstallContext(appliance(fleet), ec2_client=sandbox.ec2_session.client("ec2")),
        )


# -- Run Command -------------------------------------------------------------------------------


def _targets(machines: list[SourceMachine]) -> list[SourceMachine]:
    return [m for m in machines if m.os.family is not OsFamily.UNKNOWN]


def test_run_command_install_registers_the_agents_with_the_appliance(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine]
) -> None:
    from ec2asr.testing.emulator.mobility_commands import parse_mobility_script

    targets = _targets(machines)
    ssm = sandbox.ec2_session.client("ssm")
    name = "/ec2asr/agent-config/e2e-ssm"
    seen_at_send: list[str] = []

    def parameter_at_send(**_: Any) -> None:
        parameter = sandbox.ssm_backend().get_parameter(name)
        seen_at_send.append(parameter.parameter_type if parameter else "missing")

    ssm.meta.events.register("before-call.ssm.SendCommand", parameter_at_send)
    configuration = sandbox.emulator.mobility_configuration()
    runner = SsmRunCommand(ssm, sleep=lambda _s: None, clock=lambda: 0.0, batch_size=5)
    installer = ManualInstall(
        runner, configuration, installer_location="s3://asr-installers/agents/"
    )
    results = installer.install(targets, InstallContext(appliance(fleet), migration_id="e2e-ssm"))
    assert {r.state for r in results} == {InstallState.INSTALLED}
    # The appliance discovered every machine: the agents registered.
    for machine in targets:
        assert sandbox.emulator.machine_id(machine.instance_id)
    assert seen_at_send
    assert set(seen_at_send) == {"SecureString"}
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=name, WithDecryption=True)
    # What moto recorded: forms the sandbox recognises, never the configuration.
    commands = [c for c in sandbox.ssm_backend()._commands if c.comment.endswith("(e2e-ssm)")]
    windows = sum(1 for m in targets if m.is_windows)
    expected = -(-windows // 5) + -(-(len(targets) - windows) // 5)
    assert len(commands) == expected
    assert {r.details["command_id"] for r in results} == {c.command_id for c in commands}
    secret_text = configuration.reveal()
    for command in commands:
        lines = [str(c) for c in command.parameters["commands"]]
        parsed = parse_mobility_script(command.document_name, lines)
        assert parsed.registers, parsed.problems
        assert parsed.parameter_name == name
        assert secret_text not in "\n".join(lines)


def test_run_command_with_a_wrong_configuration_fails_per_machine(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine]
) -> None:
    targets = _targets(machines)[:3]
    runner = SsmRunCommand(
        sandbox.ec2_session.client("ssm"), sleep=lambda _s: None, clock=lambda: 0.0
    )
    installer = ManualInstall(
        runner, Secret(SECRET_TEXT), installer_location="s3://asr-installers/agents/"
    )
    results = installer.install(targets, InstallContext(appliance(fleet), migration_id="e2e-bad"))
    assert {r.state for r in results} == {InstallState.FAILED}
    for result in results:
        assert isinstance(result.error, MobilityError)
        assert "ended Failed" in result.message
        assert "with exit code 1" in result.message
        assert "registration failed" in result.details["output"]
        assert SECRET_TEXT not in repr(result)
