"""Both shipped Mobility strategies, through the whole migration, on the sandbox."""

from __future__ import annotations

from pathlib import Path

import ec2asr
from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration.stages import MachineStatus, Stage
from tests.e2e._migration import (
    ec2asr_rules,
    fast_sandbox,
    make_migration,
    sim_sleep,
    writes_by_item,
)


def test_manual_install_over_ssm_with_leased_egress(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        # rhel8's security group lets only 443 out: 9443 to the appliance must be leased.
        fleet = sandbox.seed_fleet(profiles=["rhel8", "win2019", "ubuntu2004"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        ssm = sandbox.new_aws_session().client("ssm")
        installer = ec2asr.ManualInstall(
            ec2asr.SsmRunCommand(ssm, sleep=sim_sleep(sandbox), clock=lambda: 0.0),
            sandbox.emulator.mobility_configuration(),
            installer_location="s3://asr-installers/agents/",
        )
        migration = make_migration(
            sandbox, tmp_path / "j.sqlite", installer=installer, manage_security_groups=True
        )
        with migration:
            plan = migration.plan(machines)
            rhel = next(p for p in plan if p.machine.name and p.machine.name.startswith("api"))
            assert rhel.migrates
            assert any("9443" in n and n.startswith("will lease") for n in rhel.notes)
            report = migration.run(plan, confirm_cutover=True)
            leases = migration.leases.list_leases()
        assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        # The agents registered through SSM Run Command (the sandbox saw the scripts).
        assert {e.instance_id for e in sandbox.emulator.registration_log if e.registered} >= set(
            fleet.instance_ids
        )
        # The lease was made while needed and is gone now.
        assert ec2asr_rules(sandbox) == []
        assert leases
        assert {lease.state for lease in leases} == {"revoked"}
        for ops in writes_by_item(sandbox).values():
            assert ops.count("PUT") == 1
            assert ops.count("unplannedFailover") == 1


def test_push_install_asks_for_the_appliance_step_then_finishes(tmp_path: Path) -> None:
    events: list[MigrationEvent] = []
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016", "rhel67"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        installer = ec2asr.PushInstall("ec2asr-admin", manage_security_groups=True)
        migration = make_migration(
            sandbox, tmp_path / "j.sqlite", installer=installer, on_event=events.append
        )
        with migration:
            plan = migration.plan(machines)
            assert all(p.migrates for p in plan), plan.explain()
            report = migration.run(plan, confirm_cutover=True)
            # Nobody added the servers on the appliance yet: ec2asr says exactly what to do.
            assert {m.status for m in report} == {MachineStatus.WAITING}
            asks = [e for e in events if e.kind is EventKind.ACTION_REQUIRED]
            assert asks
            assert "ec2asr-admin" in asks[0].message
            for machine in machines:
                assert machine.private_ip in " ".join(e.message for e in asks)
            # The appliance-side step, then carry on.
            sandbox.add_push_servers(fleet.instance_ids, account_name="ec2asr-admin")
            report = migration.run(plan, confirm_cutover=True)
        assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)
        assert ec2asr_rules(sandbox) == []
        for ops in writes_by_item(sandbox).values():
            assert ops.count("PUT") == 1


def test_push_install_with_closed_ports_fails_with_asr_error(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        sandbox.add_push_servers(fleet.instance_ids, account_name="ec2asr-admin")
        migration = make_migration(
            sandbox, tmp_path / "j.sqlite", installer=ec2asr.PushInstall("ec2asr-admin")
        )
        with migration:
            plan = migration.plan(machines)
            (only,) = plan
            # Without leases the closed push ports block the machine in the plan.
            assert not only.migrates
            assert any("445" in b for b in only.blockers)


def test_push_with_an_unknown_credential_fails_that_machine_clearly(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["win2016"])
        machines = ec2asr.Ec2Discovery(sandbox.new_aws_session()).discover(
            instance_ids=fleet.instance_ids
        )
        # The servers were added on the appliance with another credential than ec2asr names.
        sandbox.add_push_servers(fleet.instance_ids, account_name="someone-else")
        installer = ec2asr.PushInstall("ec2asr-admin", manage_security_groups=True)
        with make_migration(sandbox, tmp_path / "j.sqlite", installer=installer) as migration:
            report = migration.run(migration.plan(machines), confirm_cutover=True)
        (only,) = report
        assert only.status is MachineStatus.FAILED
        assert "ec2asr-admin" in (only.error or "")
        assert "someone-else" in (only.error or "")
        assert writes_by_item(sandbox) == {}
