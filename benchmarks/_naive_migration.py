"""The naive baseline: the same migration written directly against the Azure SDK.

What a user writes without ec2asr: a worker thread per machine (a pool of ``concurrency``
threads, the same bound as ec2asr's operations in flight), each running the whole procedure for
its machine with one SDK poller per operation (``begin_*()`` then ``.result()``, which polls the
operation-status URL every ``Retry-After`` or polling interval, then GETs the result) and a
``get`` of its protected item every polling interval while it waits for protection and for a
recovery point taken after its source stopped. Fleet-wide set-up (fabric, container, policy,
container mapping, the appliance's discovered machines) is done once, before the workers start.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import requests
from _simtime import InlineArmPolling, SleepingTransport, VirtualTime, wait_lro
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.azure._pipeline import RequestCounter
from ec2asr.settings import TargetSettings

__all__ = ["NaiveEnvironment", "NaiveOutcome", "run_naive"]

OFFAZURE_API = "2023-06-06"


class NaiveEnvironment(Protocol):
    """What the baseline needs of the sandbox (the migrating process holds no sandbox: see
    ``_migration_child.Environment``)."""

    clock: Any  # now() and advance(), like ec2asr.testing.SimulatedClock
    resource_group: str
    vault: str

    def now(self) -> datetime: ...

    def asr_management_client(self, **kwargs: Any) -> Any: ...


class CountingPolicy(SansIOHTTPPolicy[Any, Any]):
    """Counts every attempt (retries included) the way ec2asr's rate limiter counts them."""

    def __init__(self, counter: RequestCounter) -> None:
        self.counter = counter
        self.throttled = 0
        self._lock = threading.Lock()

    def on_request(self, request: Any) -> None:
        self.counter.add(request.http_request.method.upper(), request.http_request.url)

    def on_response(self, request: Any, response: Any) -> None:
        if response.http_response.status_code == 429:
            with self._lock:
                self.throttled += 1


class NaiveOutcome:
    """What the naive run did."""

    def __init__(self, counter: RequestCounter, policy: CountingPolicy) -> None:
        self.counter = counter
        self.policy = policy
        self.completed: list[str] = []
        self.errors: dict[str, str] = {}
        self.setup_calls = 0


class _Naive:
    def __init__(
        self,
        sandbox: NaiveEnvironment,
        target: TargetSettings,
        vt: VirtualTime,
        *,
        interval: float,
        concurrency: int,
        ec2: Any,
    ) -> None:
        self.sandbox = sandbox
        self.target = target
        self.vt = vt
        self.interval = interval
        self.ec2 = ec2
        self.rg, self.vault = sandbox.resource_group, sandbox.vault
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency + 8)
        session.mount("http://", adapter)
        counter = RequestCounter()
        self.outcome = NaiveOutcome(counter, CountingPolicy(counter))
        self.sdk = sandbox.asr_management_client(
            polling_interval=interval,
            transport=SleepingTransport(vt.sleep, session=session, session_owner=False),
            per_retry_policies=[self.outcome.policy],
        )
        self._lock = threading.Lock()

    def poll(self) -> InlineArmPolling:
        return InlineArmPolling(self.interval)

    # -- once for the fleet ----------------------------------------------------------------

    def setup(self) -> dict[str, str]:
        """Fabric, container, policy, mapping, discovered machines: IP -> discovered id."""
        sdk, rg, vault = self.sdk, self.rg, self.vault
        fabric = next(iter(sdk.replication_fabrics.list(rg, vault)))
        self.fabric = fabric.name
        details = fabric.properties.custom_details
        self.process_server_id = details.process_servers[0].id
        self.container = next(
            iter(
                sdk.replication_protection_containers.list_by_replication_fabrics(
                    rg, vault, self.fabric
                )
            )
        ).name
        policy = wait_lro(
            sdk.replication_policies.begin_create(
                rg,
                vault,
                "naive-policy",
                m.CreatePolicyInput(
                    properties=m.CreatePolicyInputProperties(
                        provider_specific_input=m.InMageRcmPolicyCreationInput(
                            recovery_point_history_in_minutes=4320,
                            crash_consistent_frequency_in_minutes=5,
                            app_consistent_frequency_in_minutes=240,
                            enable_multi_vm_sync="False",
                        )
                    )
                ),
                polling=self.poll(),
            )
        )
        self.policy_id = policy.id
        wait_lro(
            sdk.replication_protection_container_mappings.begin_create(
                rg,
                vault,
                self.fabric,
                self.container,
                "naive-mapping",
                m.CreateProtectionContainerMappingInput(
                    properties=m.CreateProtectionContainerMappingInputProperties(
                        target_protection_container_id="Microsoft Azure",
                        policy_id=policy.id,
                        provider_specific_input=m.ReplicationProviderSpecificContainerMappingInput(
                            instance_type="ReplicationProviderSpecificContainerMappingInput"
                        ),
                    )
                ),
                polling=self.poll(),
            )
        )
        by_ip: dict[str, str] = {}
        url: str | None = f"{details.physical_site_id}/machines?api-version={OFFAZURE_API}"
        while url:
            body = self.sdk.send_request(HttpRequest("GET", url)).json()
            for machine in body.get("value") or ():
                for nic in machine["properties"].get("networkAdapters") or ():
                    for ip in nic.get("ipAddressList") or ():
                        by_ip[ip] = machine["id"]
            url = body.get("nextLink")
        return by_ip

    # -- per machine (one worker thread) ---------------------------------------------------

    def migrate(self, iid: str, ip: str, vm_name: str, discovered_id: str) -> None:
        sdk, t = self.sdk.replication_protected_items, self.target
        key = (self.rg, self.vault, self.fabric, self.container, iid)
        enable = m.EnableProtectionInput(
            properties=m.EnableProtectionInputProperties(
                policy_id=self.policy_id,
                provider_specific_details=m.InMageRcmEnableProtectionInput(
                    fabric_discovery_machine_id=discovered_id,
                    process_server_id=self.process_server_id,
                    target_resource_group_id=t.resource_group_id,
                    disks_default=m.InMageRcmDisksDefaultInput(
                        log_storage_account_id=t.log_storage_account_id, disk_type="Premium_LRS"
                    ),
                    target_network_id=t.network_id,
                    target_subnet_name=t.subnet_name,
                    test_network_id=t.test_network_id,
                    test_subnet_name=t.subnet_name,
                    target_vm_name=vm_name,
                    license_type="NoLicenseType",
                ),
            )
        )
        wait_lro(sdk.begin_create(*key, enable, polling=self.poll()))
        while sdk.get(*key).properties.protection_state != "Protected":
            self.vt.sleep(self.interval)
        test = m.TestFailoverInput(
            properties=m.TestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=t.test_network_id,
                provider_specific_details=m.InMageRcmTestFailoverInput(
                    network_id=t.test_network_id
                ),
            )
        )
        wait_lro(sdk.begin_test_failover(*key, test, polling=self.poll()))
        cleanup = m.TestFailoverCleanupInput(
            properties=m.TestFailoverCleanupInputProperties(comments="test migration verified")
        )
        wait_lro(sdk.begin_test_failover_cleanup(*key, cleanup, polling=self.poll()))
        # Cutover: stop the source, wait until EC2 says stopped and a recovery point taken
        # after the stop exists, then fail over to that point.
        stop_requested = self.sandbox.now()
        self.ec2.stop_instances(InstanceIds=[iid])
        while self._state(iid) != "stopped":
            self.vt.sleep(self.interval)
        point = self._point_after(key, stop_requested)
        failover = m.UnplannedFailoverInput(
            properties=m.UnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=m.InMageRcmUnplannedFailoverInput(
                    perform_shutdown="false", recovery_point_id=point
                ),
            )
        )
        wait_lro(sdk.begin_unplanned_failover(*key, failover, polling=self.poll()))
        wait_lro(sdk.begin_failover_commit(*key, polling=self.poll()))
        done = m.DisableProtectionInput(
            properties=m.DisableProtectionInputProperties(
                disable_protection_reason="MigrationComplete"
            )
        )
        wait_lro(sdk.begin_delete(*key, done, polling=self.poll()))
        vm_id = f"{t.resource_group_id}/providers/Microsoft.Compute/virtualMachines/{vm_name}"
        self.ec2.create_tags(Resources=[iid], Tags=[{"Key": "ec2asr:azure-vm-id", "Value": vm_id}])

    def _state(self, iid: str) -> str:
        reservations = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        return str(reservations[0]["Instances"][0]["State"]["Name"])

    def _point_after(self, key: tuple[str, ...], when: datetime) -> str:
        while True:
            details = self.sdk.replication_protected_items.get(*key).properties
            rcm = details.provider_specific_details
            received = getattr(rcm, "last_recovery_point_received", None)
            if received is not None and received >= when:
                return str(rcm.last_recovery_point_id)
            self.vt.sleep(self.interval)


def run_naive(
    sandbox: NaiveEnvironment,
    machines: Sequence[tuple[str, str, str]],
    target: TargetSettings,
    *,
    interval: float,
    concurrency: int,
    ec2: Any,
) -> NaiveOutcome:
    """Migrate ``machines`` (instance id, private IP, Azure VM name) the naive way."""
    vt = VirtualTime(sandbox.clock)
    naive = _Naive(sandbox, target, vt, interval=interval, concurrency=concurrency, ec2=ec2)
    outcome = naive.outcome
    vt.enter()
    try:
        by_ip = naive.setup()
    finally:
        vt.leave()
    outcome.setup_calls = outcome.counter.total
    work: queue.SimpleQueue[tuple[str, str, str]] = queue.SimpleQueue()
    for machine in machines:
        work.put(machine)

    def worker() -> None:
        try:
            while True:
                try:
                    iid, ip, vm_name = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    naive.migrate(iid, ip, vm_name, by_ip[ip])
                except Exception as exc:  # one machine's failure must not stop the others
                    outcome.errors[iid] = f"{type(exc).__name__}: {exc}"
                else:
                    with naive._lock:
                        outcome.completed.append(iid)
        finally:
            vt.leave()

    threads = [threading.Thread(target=worker) for _ in range(min(concurrency, len(machines)))]
    vt.enter(len(threads))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome
