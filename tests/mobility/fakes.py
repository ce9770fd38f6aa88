"""Test doubles for the Mobility tests: an SSM client, a clock, an event collector."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

from ec2asr._secret import Secret
from ec2asr.mobility.base import ApplianceEndpoint, InstallContext
from ec2asr.models import SourceMachine
from tests.factories import make_machine

SECRET_TEXT = '{"Otp": "0tp-8f3a9c1d-secret-value", "IpAddresses": "10.0.0.10"}'
APPLIANCE = ApplianceEndpoint("10.0.0.10", name="asr-appliance-01", fabric_name="fabric-1")

Outcome = tuple[str, int, str]  # status, exit code, output


def client_error(code: str, operation: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


class FakeClock:
    """Monotonic seconds that only move when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSsm:
    """Enough of a boto3 SSM client for SsmRunCommand.

    Each instance's invocation is ``InProgress`` for ``polls`` polls of its command, then ends
    with ``outcome(instance_id, document)``.
    """

    def __init__(
        self,
        *,
        polls: int = 1,
        outcome: Callable[[str, str], Outcome] | None = None,
        invalid: Iterable[str] = (),
        page_size: int = 50,
        region: str = "eu-west-1",
    ) -> None:
        self.meta = SimpleNamespace(region_name=region)
        self.polls = polls
        self.outcome = outcome or (lambda _i, _d: ("Success", 0, "ec2asr: registered"))
        self.invalid = set(invalid)
        self.page_size = page_size
        self.parameters: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, str]] = []
        self.sent: list[dict[str, Any]] = []
        self.commands: dict[str, dict[str, Any]] = {}
        self.list_calls = 0
        self.cancelled: list[tuple[str, list[str]]] = []
        self.fail_put: ClientError | None = None
        self.fail_delete: ClientError | None = None
        self.fail_list: ClientError | Exception | None = None
        self._ids = itertools.count(1)

    def put_parameter(self, **kw: Any) -> dict[str, Any]:
        if self.fail_put is not None:
            raise self.fail_put
        self.parameters[kw["Name"]] = kw
        self.events.append(("put", kw["Name"]))
        return {"Version": 1, "Tier": "Standard"}

    def delete_parameter(self, Name: str) -> dict[str, Any]:
        if self.fail_delete is not None:
            raise self.fail_delete
        if Name not in self.parameters:
            raise client_error("ParameterNotFound", "DeleteParameter")
        del self.parameters[Name]
        self.events.append(("delete", Name))
        return {}

    def send_command(self, **kw: Any) -> dict[str, Any]:
        bad = self.invalid & set(kw["InstanceIds"])
        if bad:
            raise client_error(
                "InvalidInstanceId", "SendCommand", f"Instances {sorted(bad)} not valid"
            )
        command_id = f"cmd-{next(self._ids):04d}"
        self.sent.append(kw)
        self.events.append(("send", command_id))
        self.commands[command_id] = {"kw": kw, "polls": 0}
        return {"Command": {"CommandId": command_id, "InstanceIds": kw["InstanceIds"]}}

    def list_command_invocations(
        self, CommandId: str, Details: bool, NextToken: str | None = None
    ) -> dict[str, Any]:
        self.list_calls += 1
        if self.fail_list is not None:
            raise self.fail_list
        command = self.commands[CommandId]
        start = int(NextToken or 0)
        if start == 0:
            command["polls"] += 1
        ids = command["kw"]["InstanceIds"]
        page = ids[start : start + self.page_size]
        items = []
        for instance_id in page:
            if command["polls"] < self.polls:
                status, code, output = "InProgress", -1, ""
            else:
                status, code, output = self.outcome(instance_id, command["kw"]["DocumentName"])
            items.append(
                {
                    "CommandId": CommandId,
                    "InstanceId": instance_id,
                    "Status": status,
                    "StatusDetails": status,
                    "CommandPlugins": [
                        {"Name": "aws:runShellScript", "ResponseCode": code, "Output": output}
                    ],
                }
            )
        answer: dict[str, Any] = {"CommandInvocations": items}
        if start + self.page_size < len(ids):
            answer["NextToken"] = str(start + self.page_size)
        return answer

    def cancel_command(self, CommandId: str, InstanceIds: list[str]) -> dict[str, Any]:
        self.cancelled.append((CommandId, list(InstanceIds)))
        return {}


class Events:
    """Collects InstallContext.emit calls."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None]] = []

    def __call__(self, message: str, instance_id: str | None = None) -> None:
        self.messages.append((message, instance_id))


def context(**kw: Any) -> InstallContext:
    kw.setdefault("appliance", APPLIANCE)
    kw.setdefault("migration_id", "wave-1")
    return InstallContext(**kw)


def fleet(windows: int, linux: int) -> list[SourceMachine]:
    machines = [make_machine(distribution="windows", version="2019") for _ in range(windows)]
    machines += [make_machine(distribution="rhel", version="8.6") for _ in range(linux)]
    return machines


def secret() -> Secret:
    return Secret(SECRET_TEXT, label="Mobility service configuration")
