"""Every fault kind: throttling, 5xx, connection resets, slow answers, failing and endless jobs;
ARM's request limits; the audit list and request counts."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from ec2asr.testing.emulator import NEVER_FINISHES, AsrEmulator
from tests.asr_helpers import asr_code, finish, items_api, linux_spec, protect

TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _fabrics(client: Any, emulator: AsrEmulator) -> list[Any]:
    return list(client.replication_fabrics.list(emulator.resource_group, emulator.vault))


def test_429_with_retry_after_then_served(emulator: AsrEmulator) -> None:
    rule = emulator.inject_fault("GET */replicationFabrics", status=429, retry_after=0, times=2)
    strict = emulator.asr_management_client(retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        _fabrics(strict, emulator)
    assert info.value.status_code == 429
    assert info.value.response.headers["Retry-After"] == "0"
    assert asr_code(info.value) == "TooManyRequests"
    # The SDK's retry policy honours Retry-After and gets through after the second 429.
    patient = emulator.asr_management_client(retry_backoff_factor=0)
    assert len(_fabrics(patient, emulator)) == 1
    assert rule.hits == 2
    assert emulator.request_counts()["reads"]["ReplicationFabrics_List"] == 3


def test_5xx_faults_are_retried_by_the_sdk(emulator: AsrEmulator) -> None:
    emulator.inject_fault("GET */replicationFabrics", status=503, times=1)
    emulator.inject_fault("GET */replicationPolicies", status=500, times=None)
    client = emulator.asr_management_client(retry_backoff_factor=0, retry_total=2)
    assert len(_fabrics(client, emulator)) == 1
    with pytest.raises(HttpResponseError) as info:
        list(client.replication_policies.list(emulator.resource_group, emulator.vault))
    assert info.value.status_code == 500
    assert emulator.request_counts()["reads"]["ReplicationPolicies_List"] == 3


def test_connection_reset(emulator: AsrEmulator) -> None:
    emulator.inject_fault("GET */replicationFabrics", reset=True, times=1)
    strict = emulator.asr_management_client(retry_total=0)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        _fabrics(strict, emulator)
    emulator.inject_fault("GET */replicationFabrics", reset=True, times=1)
    patient = emulator.asr_management_client(retry_backoff_factor=0)
    assert len(_fabrics(patient, emulator)) == 1


def test_slow_response(emulator: AsrEmulator, client: Any) -> None:
    emulator.inject_fault("GET */replicationFabrics", delay=0.3, times=1)
    started = time.monotonic()
    _fabrics(client, emulator)
    slow = time.monotonic() - started
    started = time.monotonic()
    _fabrics(client, emulator)
    fast = time.monotonic() - started
    assert slow >= 0.3
    assert fast < slow


def test_job_error_as_plain_code(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    emulator.inject_fault("POST */unplannedFailover", job_error="78027")
    items, args = items_api(emulator, client)
    body = {
        "properties": {
            "failoverDirection": "PrimaryToRecovery",
            "providerSpecificDetails": {"instanceType": "InMageRcm", "performShutdown": "false"},
        }
    }
    poller = items.begin_unplanned_failover(*args, linux_spec().instance_id, body)
    emulator.advance(3600)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert asr_code(info.value) == "78027"
    item = items.get(*args, linux_spec().instance_id)
    assert item.properties.protection_state == "UnplannedFailoverFailed"
    assert item.properties.active_location == "Primary"
    assert "UnplannedFailover" in item.properties.allowed_operations


def test_job_that_never_finishes(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    emulator.inject_fault("POST */testFailover", job_error=NEVER_FINISHES)
    items, args = items_api(emulator, client)
    responses: list[Any] = []
    items.begin_test_failover(
        *args,
        linux_spec().instance_id,
        TFO,
        polling=False,
        raw_response_hook=lambda r: responses.append(r.http_response),
    )
    emulator.advance(30 * 24 * 3600)
    jobs = [
        j
        for j in client.replication_jobs.list(emulator.resource_group, emulator.vault)
        if j.properties.scenario_name == "TestFailover"
    ]
    assert jobs[0].properties.state == "InProgress"
    assert jobs[0].properties.tasks[-1].state == "InProgress"
    item = items.get(*args, linux_spec().instance_id)
    assert item.properties.allowed_operations == []
    assert item.properties.current_scenario.scenario_name == "TestFailover"
    status_url = responses[0].headers["Azure-AsyncOperation"]
    request = urllib.request.Request(status_url, headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["status"] == "InProgress"


def test_fault_rule_validation(emulator: AsrEmulator) -> None:
    with pytest.raises(ValueError, match="METHOD path-glob"):
        emulator.inject_fault("GET", status=500)
    with pytest.raises(ValueError, match="needs"):
        emulator.inject_fault("GET *")
    with pytest.raises(ValueError, match="reset"):
        emulator.inject_fault("GET *", reset=True, status=500)
    with pytest.raises(ValueError, match="status"):
        emulator.inject_fault("GET *", status=302)


def test_arm_limits_throttle_reads_and_writes_separately(emulator: AsrEmulator) -> None:
    now = [0.0]
    emulator.enforce_arm_limits(reads=(3, 1), writes=(1, 0.5), clock=lambda: now[0])
    client = emulator.asr_management_client(retry_total=0)
    for _ in range(3):
        _fabrics(client, emulator)
    with pytest.raises(HttpResponseError) as info:
        _fabrics(client, emulator)
    assert info.value.status_code == 429
    assert asr_code(info.value) == "SubscriptionRequestsThrottled"
    assert info.value.response.headers["Retry-After"] == "1"
    body = {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}}
    client.replication_policies.begin_create(
        emulator.resource_group, emulator.vault, "a", body, polling=False
    )
    with pytest.raises(HttpResponseError) as info:
        client.replication_policies.begin_create(
            emulator.resource_group, emulator.vault, "b", body, polling=False
        )
    assert info.value.response.headers["Retry-After"] == "2"
    now[0] += 1.0
    assert len(_fabrics(client, emulator)) == 1
    emulator.disable_arm_limits()
    for _ in range(5):
        _fabrics(client, emulator)


def test_writes_audit_and_request_counts(emulator: AsrEmulator, client: Any) -> None:
    body = {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}}
    finish(
        emulator,
        client.replication_policies.begin_create(
            emulator.resource_group, emulator.vault, "p1", body
        ),
    )
    with pytest.raises(HttpResponseError):
        client.replication_policies.begin_create(
            emulator.resource_group,
            emulator.vault,
            "p2",
            {"properties": {"providerSpecificInput": {"instanceType": "HyperVReplicaAzure"}}},
        )
    writes = emulator.writes
    assert [(w.method, w.operation, w.status) for w in writes] == [
        ("PUT", "ReplicationPolicies_Create", 202)
    ]
    assert writes[0].path.endswith("/replicationPolicies/p1")
    assert writes[0].job_name
    assert writes[0].time == emulator.now() - __import__("datetime").timedelta(seconds=3600)
    counts = emulator.request_counts()
    assert counts["writes"]["ReplicationPolicies_Create"] == 2
    assert counts["reads"]["ReplicationOperationStatus_Get"] >= 1
    assert counts["reads"]["ReplicationPolicies_Get"] == 1
