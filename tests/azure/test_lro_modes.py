"""The SiteRecoveryClient against the emulator in the spec's LRO mode (no Azure-AsyncOperation:
the job id comes from Location, which is polled) and with missing child resources answered 400
(as the live service has been seen to): every get-then-create still works."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import ec2asr
from ec2asr.azure._errors import translate
from ec2asr.azure._protection import ItemKey
from ec2asr.azure.operation import AsrOperation, job_name_of
from ec2asr.errors import AsrJobError, AzureResourceNotFoundError
from ec2asr.testing import Sandbox, SimulatedClock, Timings


@pytest.fixture(scope="module", params=[("spec", 400), ("live", 400), ("spec", 404)])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    mode, missing = request.param
    with Sandbox(
        clock=SimulatedClock(speed=0),
        timings=Timings(bandwidth_mbps=5000),
        lro_mode=mode,
        missing_child_status=missing,
    ) as sb:
        sb.seed_fleet(profiles=["rhel79"])
        yield sb


def _client(sandbox: Sandbox) -> ec2asr.SiteRecoveryClient:
    def sleep(seconds: float) -> None:
        sandbox.emulator.clock.advance(max(seconds, 1.0))

    return ec2asr.SiteRecoveryClient(
        sandbox.credential,
        sandbox.subscription_id,
        resource_group=sandbox.resource_group,
        vault=sandbox.vault,
        base_url=sandbox.base_url,
        polling_interval=30,
        sleep=sleep,
        retry_total=0,
    )


def test_job_ids_come_from_either_header() -> None:
    location = (
        "https://management.azure.com/Subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers"
        "/c/replicationProtectedItems/i/operationresults/0f1e2d3c?api-version=2025-08-01"
    )
    status = "https://x/vaults/v/replicationOperationStatus/aa-bb?api-version=2025-08-01"
    assert job_name_of(None, location) == "0f1e2d3c"
    assert job_name_of(status, location) == "aa-bb"
    assert job_name_of(None, None) is None


def test_get_then_create_tolerates_both_not_found_answers(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    with pytest.raises(AzureResourceNotFoundError):
        client.get_policy("does-not-exist")
    with pytest.raises(AzureResourceNotFoundError):
        client.get_recovery_plan("no-such-plan")
    fabric = client.get_appliance_fabric()
    container = client.get_protection_container(fabric.name)
    with pytest.raises(AzureResourceNotFoundError):
        client.get_protected_item(ItemKey(fabric.name, container, "i-00000000000000000"))
    policy = client.ensure_policy(ec2asr.ReplicationPolicy(name="modes-policy"))
    assert policy.name == "modes-policy"
    assert client.ensure_policy(ec2asr.ReplicationPolicy(name="modes-policy")).id == policy.id
    mapping = client.ensure_container_mapping(fabric.name, container, policy)
    assert client.ensure_container_mapping(fabric.name, container, policy) == mapping
    creates = [w for w in sandbox.emulator.writes if w.operation == "ReplicationPolicies_Create"]
    assert len(creates) == 1


def _update_policy(client: ec2asr.SiteRecoveryClient, sandbox: Sandbox) -> AsrOperation[str]:
    """A policy update: a cheap LRO that every mode serves."""
    client.ensure_policy(ec2asr.ReplicationPolicy(name="modes-policy"))
    return client._begin(
        "update policy",
        lambda **kw: client.sdk.replication_policies.begin_update(
            sandbox.resource_group,
            sandbox.vault,
            "modes-policy",
            {"properties": {"replicationProviderSettings": {"instanceType": "InMageRcm"}}},
            **kw,
        ),
        lambda: "done",
    )


def test_an_operation_is_followed_on_the_header_the_service_sent(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    op = _update_policy(client, sandbox)
    assert op.job_name is not None
    assert op.location is not None
    assert f"/operationresults/{op.job_name}" in op.location
    if sandbox.emulator.lro_mode == "spec":
        assert op.polling_url == op.location  # no Azure-AsyncOperation: Location is polled
    else:
        assert "/replicationOperationStatus/" in str(op.polling_url)
    assert op.result() == "done"
    assert op.status() == "Succeeded"
    assert client.get_job(op.job_name).succeeded


def test_issuing_an_operation_starts_no_poller_thread(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ec2asr follows jobs itself: the SDK's LROPoller must not start a thread per write."""
    client = _client(sandbox)
    client.ensure_policy(ec2asr.ReplicationPolicy(name="modes-policy"))
    started: list[str] = []
    start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    op = _update_policy(client, sandbox)
    assert op.job_name is not None
    assert op.continuation_token  # the SDK's token is still kept for a resume
    assert [name for name in started if name.startswith("LROPoller")] == []
    monkeypatch.undo()
    assert op.result() == "done"


def test_a_failed_operation_carries_the_asr_code_from_details(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    sandbox.emulator.inject_fault("PATCH */replicationPolicies/modes-policy", job_error="28050")
    op = _update_policy(client, sandbox)
    with pytest.raises(AsrJobError) as info:
        op.result()
    assert info.value.error_code == "28050"
    assert op.status() == "Failed"


def test_a_refusal_reads_the_asr_code_cause_and_action(sandbox: Sandbox) -> None:
    from azure.core.exceptions import HttpResponseError

    client = _client(sandbox)
    fabric = client.get_appliance_fabric()
    container = client.get_protection_container(fabric.name)
    with pytest.raises(HttpResponseError) as raw:
        client.sdk.replication_protection_container_mappings.begin_delete(
            sandbox.resource_group,
            sandbox.vault,
            fabric.name,
            container,
            "no-such-mapping",
            {"properties": {}},
        ).result()
    error = translate(raw.value, what="remove a mapping")
    assert isinstance(error, AzureResourceNotFoundError)
    assert error.status_code == sandbox.emulator.missing_child_status
