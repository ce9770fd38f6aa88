"""ARM long-running operations as the real SDK pollers see them."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from ec2asr.testing.emulator import AsrEmulator, JobError
from tests.asr_helpers import finish, items_api, linux_spec, new_emulator, protect

TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _record(responses: list[Any]) -> Any:
    return lambda pipeline_response: responses.append(pipeline_response.http_response)


def test_202_has_async_operation_location_and_integer_retry_after(
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
    aao = first.headers["Azure-AsyncOperation"]
    assert "/Subscriptions/" in aao
    assert "/replicationOperationStatus/" in aao
    assert "api-version=2025-08-01" in aao
    assert "/replicationOperationResults/" in first.headers["Location"]
    assert first.headers["Retry-After"] == "0"
    result = finish(emulator, poller)
    assert result.properties.test_failover_state == "WaitingForCompletion"
    assert any(
        r.status_code == 200 and "replicationOperationResults" in r.request.url for r in responses
    )


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
    assert info.value.error.code == "28155"
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
    job_name = (
        responses[0]
        .headers["Azure-AsyncOperation"]
        .split("/replicationOperationStatus/")[1]
        .split("?")[0]
    )
    cancelled = client.replication_jobs.begin_cancel(
        emulator.resource_group, emulator.vault, job_name
    ).result()
    assert cancelled.properties.state == "Cancelled"
    assert cancelled.properties.state_description == "Cancelled"
    with pytest.raises(HttpResponseError):
        poller.result()
    assert poller.status() == "Canceled"
