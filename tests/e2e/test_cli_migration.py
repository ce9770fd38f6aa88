"""The migration commands end to end, in-process, against the rehearsal sandbox.

The commands read the same JSON config a user writes; only the environment (where the boto3
session, the Azure credential and the time come from) is swapped for the sandbox's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ec2asr import _migrate_cli
from ec2asr.aws.leases import LEASE_DESCRIPTION_PREFIX
from ec2asr.cli import main
from ec2asr.testing import Sandbox
from tests.e2e._migration import TARGET, delete_vm, fast_sandbox, sim_sleep, writes_by_item

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with fast_sandbox() as started:
        env = _migrate_cli.CliEnvironment(
            aws_session=lambda aws: started.new_aws_session(),
            azure_credential=lambda azure: started.credential,
            sleep=sim_sleep(started),
            now=started.now,
        )
        monkeypatch.setattr(_migrate_cli, "environment", lambda: env)
        yield started


def write_config(sandbox: Sandbox, folder: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "_comment": "rehearsal on the sandbox",
        "journal": "wave-1.sqlite",
        "aws": {"region": sandbox.region, "tags": {"MigrationWave": "wave-1"}},
        "azure": {
            "subscription_id": sandbox.subscription_id,
            "resource_group": sandbox.resource_group,
            "vault": sandbox.vault,
            "base_url": sandbox.base_url,
        },
        "target": {
            "resource_group_id": TARGET.resource_group_id,
            "network_id": TARGET.network_id,
            "subnet_name": "default",
            "log_storage_account_id": TARGET.log_storage_account_id,
            "test_network_id": TARGET.test_network_id,
        },
        "installer": {
            "kind": "ssm",
            "agent_config_file": "MobilityServiceConfig.json",
            "installer_location": "s3://asr-installers/agents/",
        },
        "poll_interval": 120,
    }
    data.update(changes)
    (folder / "MobilityServiceConfig.json").write_text(
        sandbox.emulator.mobility_configuration().reveal(), encoding="utf-8"
    )
    path = folder / "migration.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def states(sandbox: Sandbox, ids: list[str]) -> dict[str, str]:
    ec2 = sandbox.new_aws_session().client("ec2")
    reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}


def leased_rules(sandbox: Sandbox) -> list[dict[str, Any]]:
    rules = sandbox.new_aws_session().client("ec2").describe_security_group_rules()
    return [
        r
        for r in rules["SecurityGroupRules"]
        if (r.get("Description") or "").startswith(LEASE_DESCRIPTION_PREFIX)
    ]


def test_plan_migrate_status_with_ssm(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = sandbox.seed_fleet(profiles=["win2016", "rhel67", "graviton"])
    blocked = fleet.instance("graviton").instance_id
    movers = [fleet.instance("win2016").instance_id, fleet.instance("rhel67").instance_id]
    config = str(write_config(sandbox, tmp_path))
    secret = json.loads((tmp_path / "MobilityServiceConfig.json").read_text())["Otp"]
    outputs: list[str] = []

    # plan: reads only; exit 4 because one machine is blocked.
    code, out, err = cli(capsys, "plan", "--config", config, "--json")
    outputs += [out, err]
    assert code == 4
    plan = json.loads(out)
    assert {m["instance_id"]: m["migrates"] for m in plan["machines"]} == {
        movers[0]: True,
        movers[1]: True,
        blocked: False,
    }
    assert sandbox.emulator.writes == []
    assert not (tmp_path / "wave-1.sqlite").exists()

    # A run that returns early (--timeout) says so; the next run carries on.
    code, out, err = cli(capsys, "migrate", "--config", config, "--timeout", "240")
    outputs += [out, err]
    assert code == 6  # unfinished: run again
    assert "2 machine(s) have not reached completed yet (--timeout)" in err

    # migrate without --confirm-cutover: replicate, test, clean up; nothing stopped.
    code, out, err = cli(capsys, "migrate", "--config", config, "--json")
    outputs += [out, err]
    assert code == 4  # the blocked machine (the others are ready for cutover: done here)
    report = {m["instance_id"]: m for m in json.loads(out)["machines"]}
    assert report[blocked]["status"] == "blocked"
    for iid in movers:
        assert report[iid]["stage"] == "test-cleaned-up"
        assert report[iid]["status"] == "waiting"
    assert "--confirm-cutover" in err
    assert "not migrated: " in err
    assert set(states(sandbox, movers).values()) == {"running"}
    assert all("unplannedFailover" not in ops for ops in writes_by_item(sandbox).values())

    # status reads the journal (no cloud, no lock); its notes speak the command line.
    code, out, err = cli(capsys, "status", "--config", config, "--events", "3")
    outputs += [out, err]
    assert code == 4
    assert "2 in progress, 0 failed, 1 blocked" in out
    assert out.count("ready for cutover: run again with --confirm-cutover") >= 2
    assert "confirm_cutover=True" not in out + err

    # Cut over in two runs: the second re-plans over stopped sources and carries them on.
    code, out, err = cli(
        capsys, "migrate", "--config", config, "--confirm-cutover", "--until", "failed-over"
    )
    outputs += [out, err]
    assert code == 4
    assert set(states(sandbox, movers).values()) == {"stopped"}
    code, out, err = cli(capsys, "migrate", "--config", config, "--confirm-cutover", "--json")
    outputs += [out, err]
    report = {m["instance_id"]: m for m in json.loads(out)["machines"]}
    assert [report[i]["stage"] for i in movers] == ["completed", "completed"]
    assert all(report[i]["azure_vm_id"] for i in movers)

    writes = writes_by_item(sandbox)
    assert blocked not in writes
    for iid in movers:
        for op in ("PUT", "testFailover", "unplannedFailover", "failoverCommit", "remove"):
            assert writes[iid].count(op) == 1, (iid, op, writes[iid])
    assert set(states(sandbox, movers).values()) == {"stopped"}  # never terminated

    # The agent configuration never shows: not in output, not in the journal, not left in SSM.
    assert all(secret not in text for text in outputs)
    journal_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("wave-1.sqlite*"))
    assert secret.encode() not in journal_bytes
    parameters, _ = sandbox.ssm_backend().get_parameters_by_path("/ec2asr", recursive=True)
    assert parameters == []  # the agents registered by reading it; then it was deleted


def test_rollback_abort_and_cut_over_again(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = sandbox.seed_fleet(profiles=["win2016", "rhel8"])
    win, rhel = fleet.instance("win2016").instance_id, fleet.instance("rhel8").instance_id
    config = str(write_config(sandbox, tmp_path, manage_security_groups=True, test_migration=False))

    code, out, _ = cli(capsys, "plan", "--config", config)
    assert code == 0
    assert "will lease:" in out  # rhel8's security group lacks egress 9443 to the appliance
    rule = next(line for line in out.splitlines() if "will lease:" in line)
    assert out.count(rule.split("will lease: ", 1)[1]) == 1  # not again as a "network:" line

    code, out, _ = cli(
        capsys, "migrate", "--config", config, "--confirm-cutover", "--until", "failed-over"
    )
    assert code == 0, out
    assert leased_rules(sandbox)
    assert set(states(sandbox, [win, rhel]).values()) == {"stopped"}

    code, out, _ = cli(capsys, "rollback", "--config", config, "--instance-id", win, "--json")
    assert code == 0
    report = {m["instance_id"]: m for m in json.loads(out)["machines"]}
    assert report[win]["status"] == "rolled-back"
    assert report[rhel]["stage"] == "failed-over"
    assert states(sandbox, [win])[win] in ("pending", "running")
    assert "failoverCancel" not in writes_by_item(sandbox)[win]
    assert report[win]["stage"] == "discovered"  # replication starts over on the next run
    assert "new initial replication" in report[win]["rolled_back"]["cost"]
    delete_vm(sandbox, report[win]["rolled_back"]["azure_vm_id"])

    code, out, _ = cli(capsys, "abort", "--config", config)
    assert code == 0
    assert "leased rule(s) revoked" in out
    assert leased_rules(sandbox) == []

    code, out, _ = cli(capsys, "migrate", "--config", config, "--confirm-cutover", "--json")
    assert code == 0
    report = {m["instance_id"]: m for m in json.loads(out)["machines"]}
    assert report[win]["stage"] == report[rhel]["stage"] == "completed"
    writes = writes_by_item(sandbox)
    assert writes[win].count("unplannedFailover") == 2  # once, rolled back, once more
    assert writes[rhel].count("unplannedFailover") == 1
    assert writes[win].count("failoverCommit") == writes[rhel].count("failoverCommit") == 1
    assert leased_rules(sandbox) == []


def test_script_bundle_waits_for_people_then_resumes(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = sandbox.seed_fleet(profiles=["win2019", "rhel79"])
    ids = fleet.instance_ids
    config = str(
        write_config(
            sandbox,
            tmp_path,
            installer={
                "kind": "bundle",
                "directory": "mobility-scripts",
                "agent_config_file": "MobilityServiceConfig.json",
            },
        )
    )
    secret = (tmp_path / "MobilityServiceConfig.json").read_text()

    code, out, err = cli(
        capsys, "migrate", "--config", config, "--until", "replicating", "--timeout", "600"
    )
    assert code == 5  # waiting for people
    assert "2 machine(s) wait for a person" in err
    assert out.count("waiting") == 2
    assert "README.md" in out  # what people must do, in the report's note
    readme = (tmp_path / "mobility-scripts" / "README.md").read_text()
    scripts = list((tmp_path / "mobility-scripts").glob("*/install.*"))
    assert len(scripts) == 2
    for text in [readme, *(s.read_text() for s in scripts)]:
        assert secret not in text
    assert "PUT" not in str(writes_by_item(sandbox))

    sandbox.register_agents(ids)  # people ran the scripts
    code, out, _ = cli(capsys, "migrate", "--config", config, "--until", "replicating", "--json")
    assert code == 0
    report = json.loads(out)["machines"]
    assert {m["stage"] for m in report} == {"replicating"}
    assert all(ops.count("PUT") == 1 for ops in writes_by_item(sandbox).values())


def test_push_install_with_leases_and_a_recovery_plan(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = sandbox.seed_fleet(profiles=["win2016", "rhel67", "win2019"])
    ids = list(fleet.instance_ids)
    config = str(
        write_config(
            sandbox,
            tmp_path,
            aws={"region": sandbox.region, "instance_ids": ids},
            installer={
                "kind": "push",
                "run_as_account": "migration-admin",
                "manage_security_groups": True,
            },
            recovery_plan={"name": "wave1", "groups": [ids[1:2], [ids[0], ids[2]]]},
        )
    )
    # The push ports are closed in the sandbox's groups; the plan leases them.
    code, out, _ = cli(capsys, "plan", "--config", config)
    assert code == 0, out
    assert out.count("will lease: ") >= 3
    assert "fail over (recovery plan)" in out

    # The appliance has not discovered the servers yet: the run says who must add what.
    code, out, err = cli(capsys, "migrate", "--config", config, "--timeout", "900")
    assert code == 5  # waiting for a person on the appliance
    assert "credential 'migration-admin'" in out
    assert "3 machine(s) wait for a person" in err
    assert leased_rules(sandbox)

    sandbox.add_push_servers(ids, account_name="migration-admin")
    code, out, _ = cli(capsys, "migrate", "--config", config, "--confirm-cutover", "--json")
    assert code == 0
    assert {m["stage"] for m in json.loads(out)["machines"]} == {"completed"}
    plan_ops = [
        (w.method, w.path.split("?")[0].rsplit("/", 1)[-1])
        for w in sandbox.emulator.writes
        if "replicationRecoveryPlans" in w.path
    ]
    assert plan_ops == [("PUT", "wave1"), ("POST", "unplannedFailover"), ("POST", "failoverCommit")]
    assert leased_rules(sandbox) == []  # revoked after cutover
