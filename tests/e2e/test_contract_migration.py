"""A whole sandbox migration under contract validation: both Mobility strategies, a recovery
plan and a rollback, every exchange checked against the SDK/spec contract."""

from __future__ import annotations

from pathlib import Path

import pytest

import ec2asr
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.migration.stages import MachineStatus, Stage
from tests.contract.known import known_entry
from tests.contract.validator import validator_of
from tests.e2e._migration import delete_vm, fast_sandbox, make_migration, sim_sleep

pytestmark = pytest.mark.e2e


def test_a_whole_migration_keeps_to_the_published_contract(tmp_path: Path) -> None:
    with fast_sandbox() as sandbox:
        validator = validator_of(sandbox.emulator)
        session = sandbox.new_aws_session()
        discover = ec2asr.Ec2Discovery(session).discover

        # 1. Manual installation over SSM (rhel8 needs a leased egress rule); fail over, roll
        #    back, then cut over for good.
        manual_ids = list(sandbox.seed_fleet(profiles=["rhel8", "ubuntu2004"]).instance_ids)
        installer = ec2asr.ManualInstall(
            ec2asr.SsmRunCommand(
                session.client("ssm"), sleep=sim_sleep(sandbox), clock=lambda: 0.0
            ),
            sandbox.emulator.mobility_configuration(),
            installer_location="s3://asr-installers/agents/",
        )
        manual = make_migration(
            sandbox, tmp_path / "manual.sqlite", installer=installer, manage_security_groups=True
        )
        with manual as migration:
            plan = migration.plan(discover(instance_ids=manual_ids))
            report = migration.run(plan, until=Stage.FAILED_OVER, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.FAILED_OVER}, str(report)
            report = migration.rollback(plan)
            assert {m.status for m in report} == {MachineStatus.ROLLED_BACK}, str(report)
            for machine in report:  # what a person does before the next cutover
                assert machine.rolled_back is not None
                delete_vm(sandbox, str(machine.rolled_back["azure_vm_id"]))
            report = migration.run(plan, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)

        # 2. Push installation by the appliance with a run-as account.
        push_ids = list(sandbox.seed_fleet(profiles=["win2016"]).instance_ids)
        sandbox.add_push_servers(push_ids, account_name="ec2asr-admin")
        push = ec2asr.PushInstall("ec2asr-admin", manage_security_groups=True)
        with make_migration(sandbox, tmp_path / "push.sqlite", installer=push) as migration:
            report = migration.run(
                migration.plan(discover(instance_ids=push_ids)), confirm_cutover=True
            )
            assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)

        # 3. A recovery plan in two boot groups, rolled back as a whole, then cut over.
        plan_ids = list(sandbox.seed_fleet(profiles=["win2019", "rhel79"]).instance_ids)
        spec = RecoveryPlanSpec(name="wave1", groups=[plan_ids[:1], plan_ids[1:]])
        with make_migration(sandbox, tmp_path / "plan.sqlite") as migration:
            plan = migration.plan(discover(instance_ids=plan_ids), recovery_plan=spec)
            report = migration.run(
                plan, until=Stage.FAILED_OVER, confirm_cutover=True, recovery_plan=spec
            )
            assert {m.stage for m in report} == {Stage.FAILED_OVER}, str(report)
            for machine in migration.rollback(plan):
                assert machine.rolled_back is not None
                delete_vm(sandbox, str(machine.rolled_back["azure_vm_id"]))
            report = migration.run(plan, confirm_cutover=True, recovery_plan=spec)
            assert {m.stage for m in report} == {Stage.COMPLETED}, str(report)

    unexpected = [m for m in validator.since(0) if known_entry(m) is None]
    assert unexpected == [], "\n".join(str(m) for m in unexpected)
    assert validator.exchanges >= 200  # 240 measured: the JobTracker batches its polling
    seen = set(validator.operations)
    assert "unknown" not in seen
    assert {
        "ServersController_ListByServerSiteResource",  # OffAzure, through send_request
        "ServerRunAsAccountsController_ListByServerSiteResource",
        "ReplicationFabrics_List",
        "ReplicationPolicies_Create",
        "ReplicationProtectionContainerMappings_Create",
        "ReplicationProtectedItems_Create",
        "ReplicationProtectedItems_TestFailover",
        "ReplicationProtectedItems_TestFailoverCleanup",
        "ReplicationProtectedItems_UnplannedFailover",
        "ReplicationProtectedItems_FailoverCommit",
        "ReplicationProtectedItems_Delete",
        "ReplicationRecoveryPlans_Create",
        "ReplicationRecoveryPlans_UnplannedFailover",
        "ReplicationRecoveryPlans_FailoverCommit",
        "ReplicationJobs_List",  # the JobTracker's sweep
    } <= seen, sorted(seen)
    assert seen & {"ARM_AsyncOperationStatus", "ARM_OperationResult"}  # LRO polling URLs
