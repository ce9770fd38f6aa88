"""``AsrEmulator``: a local Azure Site Recovery (InMageRcm) + Recovery Services + OffAzure API.

The real ``azure-mgmt-recoveryservicessiterecovery`` 2.x and ``azure-mgmt-recoveryservices``
clients drive it over HTTP on 127.0.0.1 (see :meth:`AsrEmulator.asr_management_client`).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from ec2asr.testing.emulator import (
    agents,
    asr_errors,
    compute,
    fabrics,
    failover,
    item_handlers,
    item_removal,
    jobs_api,
    mappings,
    offazure,
    plan_operations,
    policies,
    providers,
    recovery_plans,
    recovery_points,
    supported_os,
)
from ec2asr.testing.emulator import (
    vault as vault_api,
)
from ec2asr.testing.emulator.appliance_api import ApplianceMixin
from ec2asr.testing.emulator.arm import ArmError
from ec2asr.testing.emulator.client import LoopbackBearerPolicy, StaticTokenCredential
from ec2asr.testing.emulator.clock import SimulatedClock
from ec2asr.testing.emulator.faults import ArmLimits, FaultRule, FaultSet
from ec2asr.testing.emulator.lro import OperationRegistry
from ec2asr.testing.emulator.models import (
    AllowAllConnectivity,
    ConnectivityOracle,
    FailoverRecord,
    JobError,
    Reachability,
    RegistrationEvent,
    SourcePowerOracle,
    Timings,
    WriteRecord,
)
from ec2asr.testing.emulator.protected_items import ProtectedItem
from ec2asr.testing.emulator.router import Request, Response, Route, Router
from ec2asr.testing.emulator.server import EmulatorServer
from ec2asr.testing.emulator.state import Appliance, RunAsAccount, VaultState
from ec2asr.testing.emulator.store import Store
from ec2asr.testing.emulator.storm import FaultStorm

__all__ = ["AllowAllConnectivity", "AsrEmulator"]

DEFAULT_SUBSCRIPTION = "00000000-0000-4000-8000-0000000ec2a5"


def _routes() -> list[Route]:
    return [
        jobs_api.OPERATION_RESULTS,
        *vault_api.ROUTES,
        *jobs_api.ROUTES,
        *fabrics.ROUTES,
        *providers.ROUTES,
        *policies.ROUTES,
        *mappings.ROUTES,
        *failover.ROUTES,
        *item_handlers.ROUTES,
        *item_removal.ROUTES,
        *recovery_points.ROUTES,
        *recovery_plans.ROUTES,
        *plan_operations.ROUTES,
        *supported_os.ROUTES,
        *offazure.ROUTES,
        *compute.ROUTES,
    ]


class AsrEmulator(ApplianceMixin):
    """An emulator of the Site Recovery REST API (modernized stack, provider InMageRcm).

    Args:
        subscription_id: The subscription the vault lives in.
        resource_group: The vault's resource group.
        vault: The vault name.
        location: The vault's Azure region.
        create_vault: Create the vault at construction (False: create it through
            azure-mgmt-recoveryservices, as a user would).
        clock: The simulated clock (default: now, 3600 simulated seconds per real second).
        timings: Simulated durations and the replication bandwidth.
        retry_after: The integer ``Retry-After`` sent on 202s and operation polls.
        page_size: Items per page of paged lists.
        connectivity: The oracle deciding push and replication connectivity and, when it has
            ``source_running`` (:class:`SourcePowerOracle`), whether each source runs.
        host: Address to listen on.
        port: Port (0: a free port).
        lro_mode: ``"live"`` (default): a 202 carries ``Location``, ``Retry-After`` and
            ``Azure-AsyncOperation``, as the live service sends them; ``"spec"``: only what the
            published spec declares (``Location`` and ``Retry-After``).
        missing_child_status: How a missing Site Recovery child resource (fabric, container,
            policy, mapping, item, plan, job, point) is answered: ``404`` (default) or ``400``
            with ASR's code, as the live service has been seen to answer.
    """

    def __init__(
        self,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        resource_group: str = "ec2asr-rehearsal",
        vault: str = "ec2asr-vault",
        location: str = "eastus",
        create_vault: bool = True,
        clock: SimulatedClock | None = None,
        timings: Timings | None = None,
        retry_after: int = 0,
        page_size: int = 100,
        connectivity: ConnectivityOracle | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        lro_mode: str = "live",
        missing_child_status: int = 404,
    ) -> None:
        if retry_after < 0 or page_size < 1:
            raise ValueError("retry_after must be >= 0 and page_size >= 1")
        if lro_mode not in ("live", "spec"):
            raise ValueError("lro_mode must be 'live' or 'spec'")
        if missing_child_status not in (400, 404):
            raise ValueError("missing_child_status must be 404 or 400")
        self.lro_mode = lro_mode
        self.missing_child_status = missing_child_status
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.vault = vault
        self.location = location
        self.clock = clock or SimulatedClock()
        self.timings = timings or Timings()
        self.retry_after = int(retry_after)
        self.page_size = page_size
        self.appliance_capacity: int | None = asr_errors.APPLIANCE_CAPACITY
        """Machines one appliance's process server replicates at once: an enable beyond it is
        refused (None: no limit)."""
        self.connectivity: ConnectivityOracle = connectivity or AllowAllConnectivity()
        self.credential = StaticTokenCredential()
        self.lock = threading.RLock()
        self.store = Store()
        self.operations = OperationRegistry()
        self.faults = FaultSet()
        self.storm: FaultStorm | None = None
        self.limits: ArmLimits | None = None
        self.router = Router(_routes())
        self.request_hooks: list[Callable[[], None]] = []
        self.exchange_hooks: list[Callable[[Request, Response], None]] = []
        self._writes: list[WriteRecord] = []
        self._failovers: list[FailoverRecord] = []
        self._counts: dict[str, collections.Counter[str]] = {
            "reads": collections.Counter(),
            "writes": collections.Counter(),
        }
        self._registrations: list[RegistrationEvent] = []
        self.virtual_machines: dict[str, compute.VirtualMachine] = {}
        self.compute_operations: dict[str, Any] = {}
        self._vm_sizes: dict[str, tuple[str, ...]] = {}
        self._server = EmulatorServer(self, host, port)
        self._host = host
        if create_vault:
            self.store.put_vault(
                vault_api.new_vault(
                    subscription_id,
                    resource_group,
                    vault,
                    location=location,
                    created=self.clock.now(),
                )
            )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> AsrEmulator:
        """Start serving (idempotent); returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> AsrEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``.

        Raises:
            RuntimeError: When the emulator is not running.
        """
        return f"http://{self._host}:{self._server.port}"

    def __repr__(self) -> str:
        return f"AsrEmulator(vault={self.vault!r}, subscription_id={self.subscription_id!r})"

    # -- SDK clients ----------------------------------------------------------------------
    def asr_management_client(self, **kwargs: Any) -> Any:
        """The real ``SiteRecoveryManagementClient`` wired to this emulator over plain HTTP."""
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

        kwargs.setdefault("authentication_policy", LoopbackBearerPolicy(self.credential))
        kwargs.setdefault("polling_interval", 0)
        return SiteRecoveryManagementClient(
            self.credential, self.subscription_id, base_url=self.base_url, **kwargs
        )

    def recovery_services_client(self, **kwargs: Any) -> Any:
        """The real ``RecoveryServicesClient`` (vaults) wired to this emulator."""
        from azure.mgmt.recoveryservices import RecoveryServicesClient

        kwargs.setdefault("authentication_policy", LoopbackBearerPolicy(self.credential))
        kwargs.setdefault("polling_interval", 0)
        return RecoveryServicesClient(
            self.credential, self.subscription_id, base_url=self.base_url, **kwargs
        )

    # -- time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.now()

    def settle(self) -> datetime:
        """Fire every job effect due by now; returns now. Callers hold the lock."""
        with self.lock:
            now = self.clock.now()
            for vault in self.store.vaults():
                vault.jobs.settle(now)
            return now

    def advance(self, delta: float | timedelta) -> datetime:
        """Step the simulated clock, then observe every item (replication is sampled)."""
        with self.lock:
            before = self.clock.now()
            self.settle()
            for vault in self.store.vaults():
                for item in vault.items():
                    self.sample_item(item, before)
            self.clock.advance(delta)
            now = self.settle()
            for vault in self.store.vaults():
                for item in vault.items():
                    self.sample_item(item, now)
            return now

    # -- used by handlers -----------------------------------------------------------------
    def sample_item(self, item: ProtectedItem, now: datetime) -> None:
        """Bring an item's replication up to ``now`` using the connectivity oracle (network
        path and, when it says so, the source's power state)."""

        def oracle(target: ProtectedItem) -> Reachability:
            appliance = target.fabric.appliance_by_process_server(target.process_server_id)
            if appliance is None:
                return Reachability(False, ("the process server is not registered",))
            return self.connectivity.replication_path(target.machine.spec, appliance.info)

        def power(target: ProtectedItem) -> bool:
            if isinstance(self.connectivity, SourcePowerOracle):
                return bool(self.connectivity.source_running(target.machine.spec))
            return True

        item.sample(now, oracle, power)

    def render_item(self, item: ProtectedItem) -> dict[str, Any]:
        """An item's JSON at the current simulated time."""
        with self.lock:
            now = self.settle()
            self.sample_item(item, now)
            return item.to_json(now)

    def push_outcome(
        self, item: ProtectedItem, run_as: RunAsAccount | None, appliance: Appliance
    ) -> JobError | None:
        """How pushing the agent to the item's machine ends."""
        return agents.push_outcome(item.machine.spec, run_as, appliance, self.connectivity)

    def count(self, route: Route) -> None:
        """Count one request by operation."""
        with self.lock:
            self._counts["writes" if route.write else "reads"][route.operation] += 1

    def record_write(self, record: WriteRecord) -> None:
        """Append to the audit list."""
        self._writes.append(record)

    def record_failover(self, record: FailoverRecord) -> None:
        """Append to the failover audit."""
        self._failovers.append(record)

    # -- observation and faults -------------------------------------------------------------
    @property
    def writes(self) -> list[WriteRecord]:
        """Every mutating request the emulator accepted (2xx), oldest first."""
        with self.lock:
            return list(self._writes)

    @property
    def failovers(self) -> list[FailoverRecord]:
        """Every failover the emulator accepted (item or recovery plan; test, unplanned and
        change of recovery point), oldest first, with the point used and whether it lost data.
        """
        with self.lock:
            return list(self._failovers)

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Requests received by operation: ``{"reads": {...}, "writes": {...}}``."""
        with self.lock:
            return {kind: dict(counter) for kind, counter in self._counts.items()}

    def inject_fault(
        self,
        match: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        job_error: JobError | str | object | None = None,
        delay: float | None = None,
        reset: bool = False,
        reset_after: bool = False,
    ) -> FaultRule:
        """Make matching requests misbehave.

        Args:
            match: ``"METHOD path-glob"``, e.g. ``"POST */testFailover"`` or ``"* *"``.
            status: Answer this HTTP error status (429, 500, 503 ...).
            retry_after: ``Retry-After`` seconds sent with ``status``.
            times: How many matching requests are affected (``None``: all).
            job_error: The job the request creates fails with this error (a :class:`JobError`
                or an ASR error code), or never finishes (:data:`NEVER_FINISHES`).
            delay: Wait this many real seconds before answering (a slow response).
            reset: Reset the TCP connection instead of answering.
            reset_after: Handle the request (a write is accepted, audited and its job runs),
                then reset the connection: the answer is lost.

        Returns:
            The rule (its ``hits`` counts the requests it affected).

        Raises:
            ValueError: On an invalid ``match`` or inconsistent options.
        """
        if isinstance(job_error, str):
            job_error = JobError(
                code=job_error, message=f"The operation failed with ASR error {job_error}."
            )
        rule = FaultRule.parse(
            match,
            status=status,
            retry_after=retry_after,
            times=times,
            job_error=job_error,
            delay=delay,
            reset=reset,
            reset_after=reset_after,
        )
        return self.faults.add(rule)

    def clear_faults(self) -> None:
        """Remove every injected fault (and stop a fault storm)."""
        self.faults.clear()
        self.storm = None

    def start_fault_storm(self, seed: int, **options: Any) -> FaultStorm:
        """Answer a random share of requests with faults, reproducibly (see
        :class:`~ec2asr.testing.emulator.storm.FaultStorm` for ``options``: ``rate``,
        ``statuses``, ``resets``, ``job_failure_rate``, ``match``). Faults added with
        :meth:`inject_fault` take precedence. Returns the storm (its ``counts`` say what it
        injected).

        Raises:
            ValueError: On an invalid rate or status.
        """
        self.storm = FaultStorm(seed=seed, **options)
        return self.storm

    def enforce_arm_limits(
        self,
        reads: tuple[float, float] = (250, 25),
        writes: tuple[float, float] = (200, 10),
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Enforce ARM's per-subscription token buckets: (burst, refill per second).

        Args:
            reads: Bucket for GET requests.
            writes: Bucket for PUT/PATCH/POST/DELETE.
            clock: Seconds source; real monotonic time by default.

        Raises:
            ValueError: On a bucket that could never admit a request.
        """
        self.limits = ArmLimits(reads, writes, clock) if clock else ArmLimits(reads, writes)

    def disable_arm_limits(self) -> None:
        """Stop enforcing the ARM limits."""
        self.limits = None

    def set_connectivity_oracle(self, oracle: ConnectivityOracle) -> None:
        """Replace the connectivity oracle."""
        self.connectivity = oracle

    def add_request_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` before every request is handled (the sandbox syncs SSM state here)."""
        self.request_hooks.append(hook)

    def virtual_machine(self, vm_id: str) -> compute.VirtualMachine | None:
        """The Azure VM a failover created (``None`` when there is none, or it was deleted)."""
        with self.lock:
            vm = self.virtual_machines.get(vm_id.lower())
            return vm if vm is not None and vm.exists(self.clock.now()) else None

    def offer_vm_sizes(self, location: str, names: Iterable[str] | None) -> None:
        """Make region ``location`` offer only the VM sizes ``names`` (``None``: every size of
        ec2asr's packaged table again, the default)."""
        key = location.replace(" ", "").lower()
        with self.lock:
            if names is None:
                self._vm_sizes.pop(key, None)
            else:
                self._vm_sizes[key] = tuple(names)

    def vm_sizes_offered(self, location: str) -> tuple[str, ...]:
        """The VM sizes region ``location`` offers (see :meth:`offer_vm_sizes`)."""
        from ec2asr.assessment.sizing import load_vm_size_catalog

        with self.lock:
            offered = self._vm_sizes.get(location.replace(" ", "").lower())
        if offered is not None:
            return offered
        return tuple(size.name for size in load_vm_size_catalog().sizes)

    def add_exchange_hook(self, hook: Callable[[Request, Response], None]) -> None:
        """Call ``hook(request, response)`` after each request is answered, before the answer
        is sent (the contract tests validate every exchange here). A hook that raises is
        logged and does not change the answer."""
        self.exchange_hooks.append(hook)

    def get_vault_state(self) -> VaultState:
        """The emulated vault's state (for white-box assertions in tests).

        Raises:
            ArmError: When the vault does not exist.
        """
        vault = self.store.find_vault(self.subscription_id, self.resource_group, self.vault)
        if vault is None:
            raise ArmError(404, "ResourceNotFound", f"The vault '{self.vault}' was not found.")
        return vault
