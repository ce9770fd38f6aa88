"""SsmRunCommand: batching, polling, timeouts, per-instance results, the secret parameter."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from ec2asr.errors import InvalidInputError, MobilityError
from ec2asr.mobility import InstallState, ManualInstall, SsmRunCommand
from ec2asr.mobility.manual import InstallJob
from ec2asr.mobility.scripts import InstallerLocation, Platform
from ec2asr.models import SsmStatus
from tests.factories import make_machine
from tests.mobility.fakes import (
    APPLIANCE,
    SECRET_TEXT,
    Events,
    FakeClock,
    FakeSsm,
    client_error,
    context,
    fleet,
    secret,
)

S3 = "s3://asr-installers/agents/"


def executor(ssm: FakeSsm, clock: FakeClock, **kw) -> SsmRunCommand:
    kw.setdefault("poll_interval", 10)
    return SsmRunCommand(ssm, sleep=clock.sleep, clock=clock, **kw)


def install(ssm: FakeSsm, clock: FakeClock, machines, **kw):
    events = Events()
    installer = ManualInstall(executor(ssm, clock, **kw), secret(), installer_location=S3)
    return installer.install(machines, context(emit=events)), events


def test_batches_of_50_per_platform_and_one_poll_per_command() -> None:
    ssm, clock = FakeSsm(polls=3), FakeClock()
    machines = fleet(windows=120, linux=120)
    results, events = install(ssm, clock, machines)
    assert [r.state for r in results] == [InstallState.INSTALLED] * 240
    documents = Counter(c["DocumentName"] for c in ssm.sent)
    assert documents == {"AWS-RunPowerShellScript": 3, "AWS-RunShellScript": 3}
    assert sorted(len(c["InstanceIds"]) for c in ssm.sent) == [20, 20, 50, 50, 50, 50]
    sent_ids = [i for c in ssm.sent for i in c["InstanceIds"]]
    assert sorted(sent_ids) == sorted(m.instance_id for m in machines)
    # Every command finished on its 3rd poll: 6 commands x 3 polls, whatever the instance count.
    assert ssm.list_calls == 6 * 3
    assert clock.sleeps == [10, 10, 10]
    for command in ssm.sent:
        assert command["MaxErrors"] == "100%"
        assert command["TimeoutSeconds"] == 600
        assert command["Parameters"]["executionTimeout"] == ["3600"]
    assert sum(1 for m, _ in events.messages if m.startswith("Mobility agent install sent")) == 6


def test_polling_does_not_grow_with_instances() -> None:
    few, many = FakeSsm(polls=2), FakeSsm(polls=2)
    install(few, FakeClock(), fleet(windows=0, linux=5))
    install(many, FakeClock(), fleet(windows=0, linux=50))
    assert few.list_calls == many.list_calls == 2


def test_invocation_pages_are_followed() -> None:
    ssm = FakeSsm(polls=1, page_size=20)
    results, _ = install(ssm, FakeClock(), fleet(windows=0, linux=50))
    assert all(r.state is InstallState.INSTALLED for r in results)
    assert ssm.list_calls == 3  # one command, one poll, three pages


def test_configuration_is_a_secure_parameter_created_first_and_deleted_last() -> None:
    ssm = FakeSsm()
    results, _ = install(ssm, FakeClock(), fleet(windows=1, linux=1))
    name = "/ec2asr/agent-config/wave-1"
    assert ssm.events[0] == ("put", name)
    assert ssm.events[-1] == ("delete", name)
    assert ssm.parameters == {}
    results_text = repr(results)
    assert SECRET_TEXT not in results_text
    for command in ssm.sent:
        text = "\n".join(command["Parameters"]["commands"])
        assert SECRET_TEXT not in text
        assert f"'{name}'" in text
        assert "Otp" not in text


def test_parameter_is_stored_as_securestring_with_the_value() -> None:
    ssm = FakeSsm()
    stored = {}
    original = ssm.put_parameter

    def spy(**kw):
        stored.update(kw)
        return original(**kw)

    ssm.put_parameter = spy  # type: ignore[method-assign]
    install(ssm, FakeClock(), fleet(windows=0, linux=1), kms_key_id="alias/ec2asr")
    assert stored["Type"] == "SecureString"
    assert stored["Value"] == SECRET_TEXT
    assert stored["Overwrite"] is True
    assert stored["KeyId"] == "alias/ec2asr"
    assert stored["Tier"] == "Intelligent-Tiering"


def test_failures_are_per_instance_with_the_exit_code_meaning() -> None:
    machines = fleet(windows=0, linux=3)
    broken = machines[1].instance_id

    def outcome(instance_id: str, document: str):
        if instance_id == broken:
            return (
                "Failed",
                66,
                f"ec2asr: no Mobility service package for RHEL8-64\n{SECRET_TEXT}",
            )
        return ("Success", 0, "ok")

    ssm = FakeSsm(outcome=outcome)
    results, events = install(ssm, FakeClock(), machines)
    assert [r.state for r in results] == [
        InstallState.INSTALLED,
        InstallState.FAILED,
        InstallState.INSTALLED,
    ]
    failed = results[1]
    assert isinstance(failed.error, MobilityError)
    assert failed.error.instance_id == broken
    assert "exit code 66: the installer package was not found" in str(failed.error)
    assert failed.details["exit_code"] == 66
    assert failed.details["command_id"] == "cmd-0001"
    assert SECRET_TEXT not in failed.details["output"]
    assert "**********" in failed.details["output"]
    assert any(i == broken for _, i in events.messages)


def test_overall_timeout_cancels_and_fails_the_unfinished() -> None:
    ssm, clock = FakeSsm(polls=10**6), FakeClock()
    machines = fleet(windows=2, linux=3)
    results, _ = install(ssm, clock, machines, timeout=95, poll_interval=30)
    assert all(r.state is InstallState.FAILED for r in results)
    assert all("did not finish within 95 s and was cancelled" in r.message for r in results)
    assert all("last status InProgress" in r.message for r in results)
    assert sum(clock.sleeps) == pytest.approx(95)
    assert clock.sleeps == [30, 30, 30, 5]
    assert sorted(i for _, ids in ssm.cancelled for i in ids) == sorted(
        m.instance_id for m in machines
    )
    assert ssm.parameters == {}  # deleted even then


def test_unknown_instance_is_isolated_and_the_rest_runs() -> None:
    machines = fleet(windows=0, linux=4)
    ghost = machines[2].instance_id
    ssm = FakeSsm(invalid=[ghost])
    results, _ = install(ssm, FakeClock(), machines)
    states = {r.instance_id: r.state for r in results}
    assert states.pop(ghost) is InstallState.FAILED
    assert set(states.values()) == {InstallState.INSTALLED}
    assert "InvalidInstanceId" in next(r.message for r in results if r.instance_id == ghost)


def test_machines_ssm_cannot_reach_fail_without_a_command() -> None:
    offline = make_machine(
        distribution="rhel",
        ssm=SsmStatus(available=True, managed=True, ping_status="ConnectionLost"),
    )
    unmanaged = make_machine(distribution="rhel", ssm=SsmStatus(available=True, managed=False))
    unknown = make_machine(distribution="rhel", ssm=SsmStatus(available=False))
    ssm = FakeSsm()
    results, _ = install(ssm, FakeClock(), [offline, unmanaged, unknown])
    assert [r.state for r in results] == [
        InstallState.FAILED,
        InstallState.FAILED,
        InstallState.INSTALLED,
    ]
    assert "ConnectionLost" in results[0].message
    assert "not a Systems Manager managed node" in results[1].message
    assert [c["InstanceIds"] for c in ssm.sent] == [[unknown.instance_id]]


def test_storing_the_parameter_fails_without_leaking_the_value() -> None:
    ssm = FakeSsm()
    ssm.fail_put = client_error(
        "ValidationException", "PutParameter", f"Value '{SECRET_TEXT}' failed to satisfy constraint"
    )
    with pytest.raises(MobilityError) as raised:
        install(ssm, FakeClock(), fleet(windows=0, linux=1))
    chain, error = [], raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert "ValidationException" in chain[0]
    assert all(SECRET_TEXT not in text and "Otp" not in text for text in chain)
    assert ssm.sent == []


def test_parameter_deleted_even_when_polling_breaks() -> None:
    ssm = FakeSsm()
    ssm.fail_list = RuntimeError("network cable unplugged")
    with pytest.raises(RuntimeError):
        install(ssm, FakeClock(), fleet(windows=0, linux=1))
    assert ssm.parameters == {}


def test_permission_to_poll_refused_fails_the_command_instances() -> None:
    ssm = FakeSsm()
    ssm.fail_list = client_error("AccessDeniedException", "ListCommandInvocations")
    results, _ = install(ssm, FakeClock(), fleet(windows=0, linux=2))
    assert all(r.state is InstallState.FAILED for r in results)
    assert all("cannot follow it" in r.message for r in results)


def test_parameter_left_behind_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    ssm = FakeSsm()
    ssm.fail_delete = client_error("AccessDeniedException", "DeleteParameter")
    with caplog.at_level(logging.ERROR, logger="ec2asr"):
        results, _ = install(ssm, FakeClock(), fleet(windows=0, linux=1))
    assert results[0].details["parameter_not_deleted"] == "/ec2asr/agent-config/wave-1"
    assert "still in Parameter Store" in caplog.text


def test_secret_never_reaches_logs_reprs_or_commands(caplog: pytest.LogCaptureFixture) -> None:
    ssm = FakeSsm(outcome=lambda i, d: ("Failed", 1, f"boom {SECRET_TEXT}"))
    runner = executor(ssm, FakeClock())
    manual = ManualInstall(runner, secret(), installer_location=S3)
    with caplog.at_level(logging.DEBUG, logger="ec2asr"):
        results = manual.install(fleet(windows=1, linux=1), context())
    job = InstallJob(
        make_machine(), Platform.LINUX, APPLIANCE, InstallerLocation.parse(S3), secret()
    )
    texts = [
        caplog.text,
        repr(results),
        *(str(r.error) for r in results),
        *(str(r.details) for r in results),
        repr(manual),
        repr(runner),
        repr(job),
        *("\n".join(c["Parameters"]["commands"]) for c in ssm.sent),
        *(str(c) for c in ssm.sent),
    ]
    for text in texts:
        assert SECRET_TEXT not in text
        assert "0tp-8f3a9c1d" not in text


def test_validation() -> None:
    with pytest.raises(InvalidInputError):
        SsmRunCommand(batch_size=51)
    with pytest.raises(InvalidInputError):
        SsmRunCommand(timeout=0)
    with pytest.raises(InvalidInputError):
        SsmRunCommand(delivery_timeout=5)
    with pytest.raises(InvalidInputError):
        SsmRunCommand(parameter_prefix="no-slash")
    runner = SsmRunCommand(FakeSsm())
    machine = make_machine()
    beside = InstallJob(
        machine, Platform.LINUX, APPLIANCE, InstallerLocation.beside_script(), secret()
    )
    with pytest.raises(InvalidInputError, match="installer_location"):
        runner.run([beside], context())
    s3 = InstallerLocation.parse(S3)
    other = InstallJob(make_machine(), Platform.LINUX, APPLIANCE, s3, secret().__class__("other"))
    with pytest.raises(InvalidInputError, match="one agent configuration"):
        runner.run([InstallJob(machine, Platform.LINUX, APPLIANCE, s3, secret()), other], context())
    with pytest.raises(InvalidInputError, match="migration id"):
        runner.run(
            [InstallJob(machine, Platform.LINUX, APPLIANCE, s3, secret())],
            context(migration_id="a b"),
        )
    with pytest.raises(MobilityError, match="SSM client"):
        SsmRunCommand().run(
            [InstallJob(machine, Platform.LINUX, APPLIANCE, s3, secret())], context()
        )
    assert runner.run([], context()) == []


def test_context_client_is_used_when_none_is_given() -> None:
    ssm, clock = FakeSsm(), FakeClock()
    runner = SsmRunCommand(sleep=clock.sleep, clock=clock)
    results = ManualInstall(runner, secret(), installer_location=S3).install(
        fleet(windows=0, linux=1), context(ssm_client=ssm)
    )
    assert results[0].state is InstallState.INSTALLED
    assert len(ssm.sent) == 1


def test_a_command_that_cannot_be_polled_is_given_up_after_repeated_failures() -> None:
    ssm, clock = FakeSsm(), FakeClock()
    ssm.fail_list = client_error("NotImplemented", "ListCommandInvocations")
    results, _ = install(ssm, clock, fleet(windows=0, linux=2), timeout=10_000)
    assert all(r.state is InstallState.FAILED for r in results)
    assert all("5 polls failed" in r.message for r in results)
    assert ssm.list_calls == 5
    assert sum(clock.sleeps) == 50  # gave up long before the deadline
    assert ssm.parameters == {}
