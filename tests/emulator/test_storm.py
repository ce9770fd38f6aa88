"""The fault storm and the lost answer: seeded, reproducible random faults; a write accepted
whose answer never arrives."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError

from ec2asr.testing.emulator import AsrEmulator
from ec2asr.testing.emulator.storm import INTERNAL_ERROR, FaultStorm
from tests.asr_helpers import items_api, linux_spec, protect

TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _decisions(storm: FaultStorm, n: int) -> list[tuple[str, int | None, bool]]:
    out = []
    for i in range(n):
        d = storm.decide("POST" if i % 3 else "GET", "/x", write=bool(i % 3), creates_job=True)
        out.append((d.kind, d.status, d.job_error is not None))
    return out


def test_the_storm_is_reproducible_and_near_its_rates() -> None:
    first = _decisions(FaultStorm(seed=7), 3000)
    assert first == _decisions(FaultStorm(seed=7), 3000)
    assert first != _decisions(FaultStorm(seed=8), 3000)
    faults = sum(1 for kind, _, _ in first if kind != "none")
    assert 240 <= faults <= 360  # 10% of 3000
    kinds = {kind for kind, _, _ in first}
    assert kinds == {"none", "status", "reset", "reset-after"}
    assert {s for _, s, _ in first if s} == {429, 500, 503}
    # reset-after only ever hits writes
    storm = FaultStorm(seed=3, rate=1.0, statuses=())
    assert {storm.decide("GET", "/x", write=False, creates_job=False).kind for _ in range(50)} == {
        "reset"
    }
    job_failures = sum(1 for kind, _, failed in first if failed)
    assert 40 <= job_failures <= 140  # 5% of the ~1800 fault-free writes
    with pytest.raises(ValueError, match="rate"):
        FaultStorm(seed=1, rate=1.5)
    with pytest.raises(ValueError, match="statuses"):
        FaultStorm(seed=1, statuses=(302,))


def test_a_storm_answers_faults_and_fails_jobs_with_asr_499(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    protect(emulator, client, linux_spec(), policy_id)
    storm = emulator.start_fault_storm(1, rate=0.0, job_failure_rate=1.0)
    items, args = items_api(emulator, client)
    poller = items.begin_test_failover(*args, linux_spec().instance_id, TFO)
    emulator.advance(3600)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert "499" in str(info.value)
    assert storm.counts["job-failure"] == 1
    jobs = [
        j
        for j in client.replication_jobs.list(emulator.resource_group, emulator.vault)
        if j.properties.scenario_name == "TestFailover"
    ]
    assert jobs[0].properties.state == "Failed"
    assert jobs[0].properties.allowed_actions == ["Restart"]
    assert jobs[0].properties.errors[0].service_error_details.code == INTERNAL_ERROR.code
    # Restarting gets past it (the storm no longer fails jobs).
    emulator.clear_faults()
    restarted = client.replication_jobs.begin_restart(
        emulator.resource_group, emulator.vault, jobs[0].name
    )
    emulator.advance(3600)
    assert restarted.result().properties.state == "Succeeded"
    # Every request counted; a storm at rate 1 answers only faults.
    storm = emulator.start_fault_storm(2, rate=1.0, resets=False)
    strict = emulator.asr_management_client(retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        list(strict.replication_fabrics.list(emulator.resource_group, emulator.vault))
    assert info.value.status_code in (429, 500, 503)
    assert storm.counts["requests"] == 1


def test_reset_after_accepts_the_write_and_loses_its_answer(
    emulator: AsrEmulator, policy_id: str
) -> None:
    patient = emulator.asr_management_client(retry_backoff_factor=0)
    protect(emulator, patient, linux_spec(), policy_id)
    rule = emulator.inject_fault("POST */testFailover", reset_after=True)
    items, args = items_api(emulator, patient)
    before = len(emulator.writes)
    with pytest.raises(ServiceResponseError):
        items.begin_test_failover(*args, linux_spec().instance_id, TFO)
    assert rule.hits == 1
    accepted = emulator.writes[before:]
    assert [w.path.rsplit("/", 1)[-1] for w in accepted] == ["testFailover"]
    assert accepted[0].job_name  # the job runs although nobody got the answer
    with pytest.raises(ValueError, match="exclude"):
        emulator.inject_fault("GET *", reset=True, reset_after=True)
