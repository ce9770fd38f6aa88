"""replicationJobs: get, list with $filter and paging, cancel, restart, resume, export."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ec2asr.testing.emulator import AsrEmulator, JobError
from tests.asr_helpers import START, asr_code, enable_input, finish, items_api, linux_spec, protect

TFO = {
    "properties": {
        "failoverDirection": "PrimaryToRecovery",
        "providerSpecificDetails": {"instanceType": "InMageRcm"},
    }
}


def _jobs(emulator: AsrEmulator, client: Any, query: str | None = None) -> list[Any]:
    return list(client.replication_jobs.list(emulator.resource_group, emulator.vault, filter=query))


def test_job_details_tasks_and_times(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    poller = items.begin_test_failover(*args, spec.instance_id, TFO)
    emulator.advance(100)
    name = items.get(*args, spec.instance_id).properties.current_scenario.job_id.rsplit("/", 1)[1]
    job = client.replication_jobs.get(emulator.resource_group, emulator.vault, name)
    assert job.properties.state == "InProgress"
    assert job.properties.allowed_actions == ["Cancel"]
    assert [t.state for t in job.properties.tasks] == ["Succeeded", "InProgress", "NotStarted"]
    assert job.properties.end_time is None
    assert job.properties.target_instance_type == "ProtectionEntity"
    assert job.properties.custom_details.instance_type == "TestFailoverJobDetails"
    finish(emulator, poller)
    job = client.replication_jobs.get(emulator.resource_group, emulator.vault, name)
    assert (job.properties.state, job.properties.state_description) == ("Succeeded", "Completed")
    assert (
        job.properties.end_time - job.properties.start_time
    ).total_seconds() == emulator.timings.test_failover
    with pytest.raises(ResourceNotFoundError):
        client.replication_jobs.get(emulator.resource_group, emulator.vault, "nope")


def test_list_filters_and_pages(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    # policy + mapping jobs already exist (from the policy_id fixture)
    emulator.inject_fault("PUT */replicationPolicies/*", job_error="90000")
    client.replication_policies.begin_create(
        emulator.resource_group,
        emulator.vault,
        "doomed",
        {"properties": {"providerSpecificInput": {"instanceType": "InMageRcm"}}},
        polling=False,
    )
    emulator.advance(60)
    everything = _jobs(emulator, client)
    assert [j.properties.scenario_name for j in everything] == [
        "AddProtectionProfile",
        "ConfigureProtection",
        "AddProtectionProfile",
    ]
    failed = _jobs(emulator, client, "JobStatus eq 'Failed'")
    assert [j.properties.target_object_name for j in failed] == ["doomed"]
    by_type = _jobs(emulator, client, "AffectedObjectTypes eq 'ProtectionContainer'")
    assert [j.properties.scenario_name for j in by_type] == ["ConfigureProtection"]
    later = START + timedelta(minutes=90)
    assert [
        j.properties.target_object_name
        for j in _jobs(emulator, client, f"StartTime eq '{later:%Y-%m-%dT%H:%M:%SZ}'")
    ] == ["doomed"]
    assert len(_jobs(emulator, client, f"EndTime eq '{START:%Y-%m-%dT%H:%M:%SZ}'")) == 1
    assert len(_jobs(emulator, client, "JobName eq 'ConfigureProtection'")) == 1
    with pytest.raises(HttpResponseError) as info:
        _jobs(emulator, client, "Color eq 'red'")
    assert info.value.status_code == 400
    emulator.page_size = 2
    pages = list(client.replication_jobs.list(emulator.resource_group, emulator.vault).by_page())
    assert [len(list(p)) for p in pages] == [2, 1]


def test_cancel_restart_of_a_failed_job(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    spec = linux_spec()
    protect(emulator, client, spec, policy_id)
    items, args = items_api(emulator, client)
    emulator.inject_fault("POST */testFailover", job_error=JobError("28000", "boom"))
    poller = items.begin_test_failover(*args, spec.instance_id, TFO)
    emulator.advance(3600)
    with pytest.raises(HttpResponseError):
        poller.result()
    failed = _jobs(emulator, client, "JobStatus eq 'Failed'")[0]
    assert failed.properties.allowed_actions == ["Restart"]
    with pytest.raises(HttpResponseError) as info:
        client.replication_jobs.begin_cancel(emulator.resource_group, emulator.vault, failed.name)
    assert asr_code(info.value) == "JobCannotBeCancelled"
    poller = client.replication_jobs.begin_restart(
        emulator.resource_group, emulator.vault, failed.name
    )
    restarted = finish(emulator, poller)
    assert restarted.name != failed.name
    assert restarted.properties.state == "Succeeded"
    assert (
        items.get(*args, spec.instance_id).properties.test_failover_state == "WaitingForCompletion"
    )


def test_cancel_enable_protection_marks_it_failed(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    spec = linux_spec()
    machine_id = emulator.register_machine(spec)
    items, args = items_api(emulator, client)
    items.begin_create(
        *args, spec.instance_id, enable_input(emulator, policy_id, machine_id), polling=False
    )
    running = _jobs(emulator, client, "JobStatus eq 'InProgress'")[0]
    job = client.replication_jobs.begin_cancel(
        emulator.resource_group, emulator.vault, running.name
    ).result()
    assert job.properties.state == "Cancelled"
    assert {t.state for t in job.properties.tasks} <= {"Succeeded", "Cancelled"}
    assert items.get(*args, spec.instance_id).properties.protection_state == "EnablingFailed"
    with pytest.raises(HttpResponseError) as info:
        client.replication_jobs.begin_resume(
            emulator.resource_group, emulator.vault, running.name, {"properties": {"comments": "x"}}
        )
    assert asr_code(info.value) == "JobCannotBeResumed"


def test_export_jobs(emulator: AsrEmulator, client: Any, policy_id: str) -> None:
    job = finish(
        emulator,
        client.replication_jobs.begin_export(
            emulator.resource_group, emulator.vault, {"jobStatus": "Succeeded"}
        ),
        seconds=10,
    )
    assert job.properties.scenario_name == "ExportJobs"
    assert job.properties.custom_details.instance_type == "ExportJobDetails"
    assert job.properties.custom_details.blob_uri.startswith("https://")
    assert job.properties.custom_details.sas_token
