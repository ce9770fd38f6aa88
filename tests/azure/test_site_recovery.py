"""SiteRecoveryClient against the ASR emulator, through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ec2asr
from ec2asr.azure._protection import EnableReplicationRequest, ItemKey
from ec2asr.errors import (
    AsrJobError,
    AzureConflictError,
    AzureResourceNotFoundError,
    AzureThrottlingError,
    InvalidInputError,
)
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from tests.e2e._migration import TARGET


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=5000)) as sb:
        sb.seed_fleet(profiles=["win2016", "rhel67"])
        yield sb


def client(sandbox: Sandbox, **kw: object) -> ec2asr.SiteRecoveryClient:
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
        **kw,  # type: ignore[arg-type]
    )


SUB = "00000000-0000-4000-8000-000000000001"


class _NoTokens:
    """A credential that must never be asked for a token (the constructor does no I/O)."""

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("the constructor asked for a token")


def test_constructor_does_no_io_and_validates() -> None:
    c = ec2asr.SiteRecoveryClient(
        _NoTokens(),  # type: ignore[arg-type]
        SUB,
        resource_group="rg",
        vault="vault-1",
        base_url="http://127.0.0.1:1",
    )
    assert "vault='vault-1'" in repr(c)
    assert c.vault_id.startswith(f"/Subscriptions/{SUB}/resourceGroups/rg/")
    with pytest.raises(InvalidInputError, match="resource_group"):
        ec2asr.SiteRecoveryClient(_NoTokens(), SUB, resource_group="", vault="v1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="credential"):
        ec2asr.SiteRecoveryClient(None, SUB, resource_group="rg", vault="v1")
    # ARM's rules: a GUID subscription, a vault name of 2-50 letters/digits/hyphens, a
    # credential with get_token, an http(s) base URL.
    for kwargs, param in (
        ({"subscription_id": "sub"}, "subscription_id"),
        ({"vault": "my vault"}, "vault"),
        ({"vault": "v"}, "vault"),
        ({"resource_group": "rg/x"}, "resource_group"),
        ({"credential": object()}, "credential"),
        ({"base_url": "127.0.0.1:1"}, "base_url"),
        ({"polling_interval": "30"}, "polling_interval"),
        ({"retry_total": -1}, "retry_total"),
    ):
        args: dict[str, object] = {
            "credential": _NoTokens(),
            "subscription_id": SUB,
            "resource_group": "rg",
            "vault": "vault-1",
            **kwargs,
        }
        with pytest.raises(InvalidInputError, match=param):
            ec2asr.SiteRecoveryClient(  # type: ignore[arg-type]
                args.pop("credential"), args.pop("subscription_id"), **args
            )


def test_vault_fabric_appliance_and_discovery(sandbox: Sandbox) -> None:
    c = client(sandbox)
    vault = c.get_vault()
    assert vault.name == sandbox.vault
    assert c.ensure_vault("eastus") == vault  # idempotent: found, not created again
    fabric = c.get_appliance_fabric()
    assert fabric.physical_site_id
    assert "Microsoft.OffAzure" in fabric.physical_site_id
    assert fabric.process_servers
    assert fabric.process_servers[0].ip_address == "10.0.0.10"
    assert fabric.capacity >= 200
    assert c.list_appliances()
    assert c.get_protection_container(fabric.name)
    with pytest.raises(AzureResourceNotFoundError):
        c.get_appliance_fabric("no-such-appliance")
    assert list(c.list_discovered_machines(fabric)) == []
    supported = c.list_supported_operating_systems()
    assert any(os.os_name == "Windows Server 2016" for os in supported)


def test_policy_and_mapping_are_reused_or_refused(sandbox: Sandbox) -> None:
    c = client(sandbox)
    policy = c.ensure_policy(ec2asr.ReplicationPolicy(name="p-reuse"))
    assert policy.instance_type == "InMageRcm"
    assert c.ensure_policy(ec2asr.ReplicationPolicy(name="p-reuse")) == policy
    with pytest.raises(AzureConflictError, match="different settings"):
        c.ensure_policy(
            ec2asr.ReplicationPolicy(name="p-reuse", recovery_point_history_minutes=600)
        )
    fabric = c.get_appliance_fabric()
    container = c.get_protection_container(fabric.name)
    mapping = c.ensure_container_mapping(fabric.name, container, policy)
    assert mapping.policy_id
    assert mapping.policy_id.lower() == policy.id.lower()
    assert c.ensure_container_mapping(fabric.name, container, policy) == mapping
    writes = [w for w in sandbox.emulator.writes if "p-reuse" in w.path]
    assert len(writes) == 2  # one policy PUT, one mapping PUT


def _enable(sandbox: Sandbox, c: ec2asr.SiteRecoveryClient, instance_id: str) -> ItemKey:
    sandbox.register_agents([instance_id])
    fabric = c.get_appliance_fabric()
    container = c.get_protection_container(fabric.name)
    policy = c.ensure_policy(ec2asr.ReplicationPolicy())
    c.ensure_container_mapping(fabric.name, container, policy)
    ip = sandbox.ec2_session.client("ec2").describe_instances(InstanceIds=[instance_id])[
        "Reservations"
    ][0]["Instances"][0]["PrivateIpAddress"]
    machine = next(m for m in c.list_discovered_machines(fabric) if ip in m.ip_addresses)
    request = EnableReplicationRequest(
        name=instance_id,
        fabric_discovery_machine_id=machine.id,
        process_server_id=fabric.process_servers[0].id,
        policy_id=policy.id,
        target_resource_group_id=TARGET.resource_group_id,
        target_network_id=TARGET.network_id,
        target_subnet_name=TARGET.subnet_name,
        target_vm_name=f"vm-{instance_id[-6:]}",
        log_storage_account_id=TARGET.log_storage_account_id,
        test_network_id=TARGET.test_network_id,
        test_subnet_name=TARGET.subnet_name,
    )
    op = c.begin_enable_replication(fabric.name, container, request)
    assert op.polling_url
    assert "replicationOperationStatus" in op.polling_url
    assert op.job_name
    assert op.continuation_token
    item = op.result()
    assert item.name == instance_id
    return ItemKey(fabric.name, container, instance_id)


def test_item_lifecycle_with_typed_models(sandbox: Sandbox) -> None:
    c = client(sandbox)
    instance_id = sandbox.seed_fleet(profiles=["win2019"]).instance_ids[0]
    key = _enable(sandbox, c, instance_id)
    item = c.get_protected_item(key)
    while not item.is_protected:
        sandbox.emulator.clock.advance(600)
        item = c.get_protected_item(key)
    assert item.allows("TestFailover")
    assert item.azure_vm_id
    assert item.azure_vm_id.endswith(f"/virtualMachines/vm-{instance_id[-6:]}")
    assert any(i.name == instance_id for i in c.list_protected_items())
    sizes = c.list_target_compute_sizes(key)
    assert sizes
    assert all(s.name for s in sizes)
    c.begin_test_failover(key, network_id=TARGET.test_network_id or "").result()
    c.begin_test_failover_cleanup(key).result()
    sandbox.emulator.clock.advance(900)
    points = c.list_recovery_points(key)
    assert points
    assert points == sorted(points, key=lambda p: p.time, reverse=True)
    item = c.begin_unplanned_failover(key, recovery_point_id=points[0].id).result()
    assert item.is_failed_over
    # A second failover of a failed-over item is refused as ASR refuses it.
    with pytest.raises(AsrJobError) as refused:
        c.begin_unplanned_failover(key)
    assert refused.value.status_code in (400, 409)
    c.begin_commit_failover(key).result()
    c.begin_complete_migration(key).result()
    with pytest.raises(AzureResourceNotFoundError):
        c.get_protected_item(key)
    jobs = list(c.list_jobs())
    assert {"EnableDr", "TestFailover", "UnplannedFailover"} <= {j.scenario_name for j in jobs}
    job = c.get_job(jobs[0].name)
    assert job.name == jobs[0].name


def test_failed_job_carries_asr_code_causes_and_action(sandbox: Sandbox) -> None:
    c = client(sandbox)
    instance_id = sandbox.seed_fleet(profiles=["win2022"]).instance_ids[0]
    sandbox.emulator.inject_fault(
        f"PUT */replicationProtectedItems/{instance_id}", job_error="95117"
    )
    with pytest.raises(AsrJobError) as failed:
        _enable(sandbox, c, instance_id)
    assert failed.value.error_code == "95117"
    assert failed.value.job_name


def test_throttling_is_retried_then_reported(sandbox: Sandbox) -> None:
    slept: list[float] = []
    c = ec2asr.SiteRecoveryClient(
        sandbox.credential,
        sandbox.subscription_id,
        resource_group=sandbox.resource_group,
        vault=sandbox.vault,
        base_url=sandbox.base_url,
        sleep=slept.append,
        retry_total=2,
    )
    sandbox.emulator.inject_fault("GET */replicationPolicies", status=429, retry_after=7, times=1)
    c.list_policies()  # one 429, honoured, then fine
    assert 7.0 in slept
    sandbox.emulator.inject_fault(
        "GET */replicationPolicies", status=429, retry_after=3, times=None
    )
    try:
        with pytest.raises(AzureThrottlingError):
            c.list_policies()
    finally:
        sandbox.emulator.clear_faults()
    assert c.rate_limiter.counter.reads >= 4


def test_reading_the_appliance_fabric_lists_appliances_once(sandbox: Sandbox) -> None:
    c = client(sandbox)
    before = dict(c.rate_limiter.counter.by_operation)
    c.get_appliance_fabric()
    after = c.rate_limiter.counter.by_operation
    appliance_calls = sum(
        n - before.get(op, 0) for op, n in after.items() if op.endswith("/replicationAppliances")
    )
    assert appliance_calls == 1


def test_virtual_machine_power_state_and_deallocate(sandbox: Sandbox) -> None:
    from ec2asr.testing.emulator.compute import create_vm

    c = client(sandbox)
    vm = create_vm(
        sandbox.emulator,
        resource_group_id=TARGET.resource_group_id,
        name="cutover-vm",
        size="Standard_D2s_v5",
        when=sandbox.now(),
        item="i-1",
    )
    assert c.get_virtual_machine_power_state(vm.id) == "running"
    operation = c.begin_deallocate_virtual_machine(vm.id)
    assert operation.polling_url is not None
    assert "/providers/Microsoft.Compute/locations/" in operation.polling_url
    assert c.get_virtual_machine_power_state(vm.id) == "deallocating"
    operation.wait()  # the client's sleep moves the simulated clock
    assert operation.status() == "Succeeded"
    assert c.get_virtual_machine_power_state(vm.id) == "deallocated"
    missing = TARGET.resource_group_id + "/providers/Microsoft.Compute/virtualMachines/nope"
    assert c.get_virtual_machine_power_state(missing) is None
    with pytest.raises(AzureResourceNotFoundError):
        c.begin_deallocate_virtual_machine(missing)
