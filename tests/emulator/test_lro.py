"""ARM long-running operations as the real SDK pollers see them, in both emulator modes:
``live`` (Location + Retry-After + Azure-AsyncOperation, as the live service answers) and
``spec`` (only what the published spec declares: Location + Retry-After)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from ec2asr.testing.emulator import AsrEmulator, JobError
from tests.asr_helpers import asr_code, finish, items_api, linux_spec, new_emulator, protect

TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _record(responses: list[Any]) -> Any:
    return lambda pipeline_response: responses.append(pipeline_response.http_response)


@pytest.fixture(params=["live", "spec"])
def emulator(request: pytest.FixtureRequest) -> Iterator[AsrEmulator]:
    emu = new_emulator(lro_mode=request.param)
    yield emu
    emu.stop()


def _job_of(response: Any) -> str:
    """The job id, from ``Location`` (``.../operationresults/{jobId}``) as Az.RecoveryServices
    reads it."""
    return str(response.headers["Location"]).split("/operationresults/")[1].split("?")[0]


def test_202_has_location_retry_after_and_in_live_mode_azure_async_operation(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    items, args = items_api(emulator, client)
    responses: list[Any] = []
    poller = items.begin_test_failover(
        *args, linux_spec().instance_id, TFO, raw_response_hook=_record(responses)
    )
    first = responses[0]
    assert first.status_code == 202
    assert first.text() == ""
    location = first.headers["Location"]
    item_path = f"/replicationProtectedItems/{linux_spec().instance_id}/operationresults/"
    assert item_path in location  # {resource}/operationresults/{jobId}
    assert "/Subscriptions/" in location
    assert "api-version=2025-08-01" in location
    assert first.headers["Retry-After"] == "0"
    job = _job_of(first)
    assert client.replication_jobs.get(emulator.resource_group, emulator.vault, job).name == job
    if emulator.lro_mode == "live":
        aao = first.headers["Azure-AsyncOperation"]
        assert f"/replicationOperationStatus/{job}?" in aao
    else:
        assert "Azure-AsyncOperation" not in first.headers
    result = finish(emulator, poller)
    assert result.properties.test_failover_state == "WaitingForCompletion"
    assert any(r.status_code == 200 and "/operationresults/" in r.request.url for r in responses)


def test_location_answers_202_while_running_then_the_resource(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    items, args = items_api(emulator, client)
    responses: list[Any] = []
    items.begin_test_failover(
        *args, linux_spec().instance_id, TFO, raw_response_hook=_record(responses), polling=False
    )
    request = urllib.request.Request(
        responses[0].headers["Location"], headers={"Authorization": "Bearer t"}
    )
    with urllib.request.urlopen(request) as running:
        assert running.status == 202
        assert "/operationresults/" in running.headers["Location"]
        assert running.headers["Retry-After"] == "0"
    emulator.advance(3600)
    with urllib.request.urlopen(request) as done:
        assert done.status == 200
        assert json.loads(done.read())["name"] == linux_spec().instance_id


def test_operation_status_body_and_retry_after_while_running(
    emulator: AsrEmulator, client: Any
) -> None:
    responses: list[Any] = []
    client.replication_policies.begin_create(
        emulator.resource_group,
        emulator.vault,
        "p1",
        {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}},
        raw_response_hook=_record(responses),
        polling=False,
    )
    if emulator.lro_mode == "spec":
        assert "Azure-AsyncOperation" not in responses[0].headers
        return
    url = responses[0].headers["Azure-AsyncOperation"]
    request = urllib.request.Request(url, headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(request) as response:
        body = json.loads(response.read())
        assert response.headers["Retry-After"] == "0"
    assert body["status"] == "InProgress"
    assert set(body) == {"id", "name", "status", "startTime"}
    emulator.advance(60)
    with urllib.request.urlopen(request) as response:
        body = json.loads(response.read())
    assert body["status"] == "Succeeded"
    assert body["endTime"]
    assert body["name"] == url.split("/replicationOperationStatus/")[1].split("?")[0]


def test_retry_after_is_configurable() -> None:
    emulator = new_emulator(retry_after=7)
    try:
        client = emulator.asr_management_client()
        responses: list[Any] = []
        client.replication_policies.begin_create(
            emulator.resource_group,
            emulator.vault,
            "p1",
            {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}},
            raw_response_hook=_record(responses),
            polling=False,
        )
        assert responses[0].headers["Retry-After"] == "7"
    finally:
        emulator.stop()


def test_failed_job_fails_the_poller_with_the_asr_error_code(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    emulator.inject_fault(
        "POST */testFailover",
        job_error=JobError(
            "28155", "The test failover failed.", "A network problem.", "Retry the operation."
        ),
    )
    items, args = items_api(emulator, client)
    poller = items.begin_test_failover(*args, linux_spec().instance_id, TFO)
    emulator.advance(3600)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert asr_code(info.value) == "28155"
    assert "test failover failed" in info.value.error.message
    item = items.get(*args, linux_spec().instance_id)
    assert item.properties.test_failover_state == "TestFailoverFailed"
    assert item.properties.current_scenario.scenario_name == "None"
    failed = [
        j
        for j in client.replication_jobs.list(emulator.resource_group, emulator.vault)
        if j.properties.state == "Failed"
    ]
    assert len(failed) == 1
    error = failed[0].properties.errors[0]
    assert error.service_error_details.code == "28155"
    assert error.service_error_details.possible_causes == "A network problem."
    assert error.service_error_details.recommended_action == "Retry the operation."


def test_poller_resumes_from_continuation_token_on_a_fresh_client(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    items, args = items_api(emulator, client)
    poller = items.begin_test_failover(*args, linux_spec().instance_id, TFO)
    token = poller.continuation_token()
    fresh = emulator.asr_management_client()
    emulator.advance(3600)
    resumed = fresh.replication_protected_items.begin_test_failover(
        *args, linux_spec().instance_id, TFO, continuation_token=token
    )
    item = resumed.result()
    assert item.name == linux_spec().instance_id
    assert item.properties.test_failover_state == "WaitingForCompletion"
    # The resumed poller did not start a second test failover.
    assert sum(1 for w in emulator.writes if w.operation.endswith("_TestFailover")) == 1


def test_cancelled_job_reports_canceled_in_operation_and_cancelled_in_job(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    items, args = items_api(emulator, client)
    responses: list[Any] = []
    poller = items.begin_test_failover(
        *args, linux_spec().instance_id, TFO, raw_response_hook=_record(responses)
    )
    job_name = _job_of(responses[0])
    cancelled = client.replication_jobs.begin_cancel(
        emulator.resource_group, emulator.vault, job_name
    ).result()
    assert cancelled.properties.state == "Cancelled"
    assert cancelled.properties.state_description == "Cancelled"
    with pytest.raises(HttpResponseError):
        poller.result()
    assert poller.status() in ("Canceled", "Failed")
