"""``from_json`` reads a protected item or a job exactly as ``from_azure`` reads its SDK model.

Sweeps parse pages from their JSON (building the SDK's generated models cost ~600 µs per item);
these tests hold the two constructors to the same values on every protected item and job of the
official examples and on the emulator's answers (InMageRcm items in several states, failed jobs
with ASR's error details).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.azure import _json
from ec2asr.azure.items import AsrJob, ProtectedItem
from ec2asr.testing.emulator import AsrEmulator
from ec2asr.testing.emulator.router import Request, Response
from tests.asr_helpers import items_api, linux_spec, new_emulator, protect, setup_policy

EXAMPLES = Path(__file__).parents[1] / "contract" / "examples"


def _members(body: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(body, dict):
        return
    values = body.get("value")
    yield from values if isinstance(values, list) else [body]


def _kind(member: dict[str, Any]) -> str | None:
    parts = str(member.get("id", "")).rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "replicationProtectedItems":
        return "item"
    if len(parts) >= 2 and parts[-2] == "replicationJobs":
        return "job"
    return None


def _example_members() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text())
        for status, answer in (document.get("responses") or {}).items():
            for n, member in enumerate(_members(answer.get("body"))):
                kind = _kind(member)
                if kind is not None:
                    found.append((f"{path.stem}-{status}-{n}", kind, member))
    return found


EXAMPLE_MEMBERS = _example_members()


def _assert_same(kind: str, member: dict[str, Any]) -> None:
    if kind == "item":
        from_json: Any = ProtectedItem.from_json(member)
        from_sdk: Any = ProtectedItem.from_azure(m.ReplicationProtectedItem(member))
    else:
        from_json = AsrJob.from_json(member)
        from_sdk = AsrJob.from_azure(m.Job(member))
    assert from_json == from_sdk


def test_the_examples_hold_items_and_jobs() -> None:
    kinds = [kind for _, kind, _ in EXAMPLE_MEMBERS]
    assert kinds.count("item") >= 15
    assert kinds.count("job") >= 8


@pytest.mark.parametrize(
    ("kind", "member"),
    [(kind, member) for _, kind, member in EXAMPLE_MEMBERS],
    ids=[name for name, _, _ in EXAMPLE_MEMBERS],
)
def test_official_examples_read_the_same(kind: str, member: dict[str, Any]) -> None:
    _assert_same(kind, member)


@pytest.fixture
def recorded() -> Iterator[tuple[AsrEmulator, list[dict[str, Any]]]]:
    emulator = new_emulator()
    bodies: list[dict[str, Any]] = []

    def hook(request: Request, response: Response) -> None:
        if request.method == "GET" and response.status == 200:
            bodies.extend(b for b in _members(response.body) if _kind(b))

    emulator.add_exchange_hook(hook)
    try:
        yield emulator, bodies
    finally:
        emulator.stop()


def test_emulator_answers_read_the_same(
    recorded: tuple[AsrEmulator, list[dict[str, Any]]],
) -> None:
    emulator, bodies = recorded
    client = emulator.asr_management_client(retry_total=0)
    policy_id = setup_policy(emulator, client)
    items, args = items_api(emulator, client)
    protect(emulator, client, linux_spec(1), policy_id)
    protect(emulator, client, linux_spec(2, disks=(30,)), policy_id)
    # A failed job (ASR's error details in the job's JSON).
    emulator.inject_fault("POST */testFailover", job_error="28092")
    net = (
        f"/subscriptions/{emulator.subscription_id}/resourceGroups/rg"
        "/providers/Microsoft.Network/virtualNetworks/test"
    )
    poller = items.begin_test_failover(
        *args,
        linux_spec(1).instance_id,
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "networkType": "VmNetworkAsInput",
                "networkId": net,
                "providerSpecificDetails": {"instanceType": "InMageRcm", "networkId": net},
            }
        },
    )
    emulator.advance(3600)
    with pytest.raises(HttpResponseError):  # the job fails as injected; its JSON is wanted
        poller.result(timeout=20)
    emulator.advance(3600)
    list(items.list_by_replication_protection_containers(*args[:4]))
    list(items.list(emulator.resource_group, emulator.vault))
    list(client.replication_jobs.list(emulator.resource_group, emulator.vault))
    kinds = [_kind(b) for b in bodies]
    assert kinds.count("item") >= 4
    assert kinds.count("job") >= 3
    inmage = [
        b
        for b in bodies
        if _json.get(b, "properties", "providerSpecificDetails", "instanceType") == "InMageRcm"
    ]
    assert inmage, "the emulator's items are InMageRcm"
    assert any(_json.get(b, "properties", "errors") for b in bodies if _kind(b) == "job")
    assert any(
        _json.get(b, "properties", "providerSpecificDetails", "protectedDisks") for b in inmage
    )
    for body in bodies:
        _assert_same(str(_kind(body)), body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-04-27T12:46:04.6418511Z", datetime(2017, 4, 27, 12, 46, 4, 641851, timezone.utc)),
        ("2017-04-27T12:46:04Z", datetime(2017, 4, 27, 12, 46, 4, tzinfo=timezone.utc)),
        (
            "2017-04-27T12:46:04.5+05:30",
            datetime(2017, 4, 27, 12, 46, 4, 500000, timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2017-04-27T12:46:04", datetime(2017, 4, 27, 12, 46, 4)),
        ("not a time", None),
        (None, None),
        (17, None),
    ],
)
def test_times_are_read_as_the_sdk_reads_them(text: Any, expected: datetime | None) -> None:
    assert _json.json_time(text) == expected
