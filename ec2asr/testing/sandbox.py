"""The rehearsal sandbox: a whole migration without a cloud account.

The AWS half: moto in server mode on ``127.0.0.1`` (a free port), a boto3 session that reaches
only it, and a seeded fleet of realistic EC2 instances. The Azure half: the ASR emulator
(:class:`~ec2asr.testing.emulator.AsrEmulator`) on another free port, with the seeded appliance
registered, agent registration tied to SSM Run Command and security groups in moto.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session

from ec2asr.errors import InvalidInputError
from ec2asr.testing import _moto
from ec2asr.testing._azure import AgentBridge, SecurityGroupOracle, machine_spec
from ec2asr.testing.emulator import (
    ApplianceInfo,
    AsrEmulator,
    MachineSpec,
    SimulatedClock,
    Timings,
)
from ec2asr.testing.fleet import FleetSeeder, SeededAppliance, SeededFleet

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MAX_APPLIANCES", "Sandbox"]

MAX_APPLIANCES = 200
"""Appliances a sandbox's vault may have (their IPs fill the management subnet ``10.0.0.0/24``
from ``10.0.0.10``)."""

_ACCESS_KEY = "AKIASANDBOXEC2ASR000"
_SECRET_KEY = "sandbox-secret-key-not-a-credential"


class _SandboxBotocoreSession(botocore.session.Session):
    """A botocore session whose clients default to the sandbox's endpoint.

    Nothing process-wide is touched: no ``AWS_ENDPOINT_URL``, no credentials in the
    environment, no shared config files (they are replaced by ``os.devnull`` for this session).
    A caller may still pass ``endpoint_url=`` explicitly to a client.
    """

    def __init__(self, endpoint_url: str, account_id: str, region: str) -> None:
        super().__init__()
        self._sandbox_endpoint_url = endpoint_url
        self.set_config_variable("config_file", os.devnull)
        self.set_config_variable("credentials_file", os.devnull)
        self.set_config_variable("region", region)
        self.set_credentials(_ACCESS_KEY, _SECRET_KEY)

        def add_account_header(**kwargs: Any) -> None:
            kwargs["request"].headers["x-moto-account-id"] = account_id

        self.register("before-sign", add_account_header)

    def get_scoped_config(self) -> dict[str, Any]:
        """No profile applies: the user's ``AWS_PROFILE`` must not leak into the sandbox."""
        return {}

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        """Create a client; unless told otherwise it talks to the sandbox."""
        # endpoint_url is botocore's sixth positional parameter; boto3 passes it by keyword.
        if len(args) < 6 and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = self._sandbox_endpoint_url
        return super().create_client(*args, **kwargs)


class Sandbox:
    """Rehearse a migration locally: moto (AWS) and the ASR emulator (Azure) on 127.0.0.1.

    Use it as a context manager (or call :meth:`start` / :meth:`stop`)::

        with Sandbox() as sandbox:
            fleet = sandbox.seed_fleet()
            machines = ec2asr.Ec2Discovery(sandbox.ec2_session).discover()
            asr = sandbox.asr_management_client()

    Each sandbox has its own AWS account id inside moto, so several sandboxes may run in one
    process without seeing each other's resources. :meth:`seed_fleet` also registers the seeded
    replication appliance with the emulated vault.

    Args:
        region: The AWS region the session and fleet use.
        clock: The emulator's simulated clock (default: one simulated hour per real second).
        timings: Simulated durations and replication bandwidth of the emulator.
        retry_after: The ``Retry-After`` the emulator sends on long-running operations.
        create_vault: Create the Recovery Services vault up front (False: create it yourself,
            e.g. with azure-mgmt-recoveryservices, before seeding the fleet).
        lro_mode: ``"live"``: long-running operations carry ``Location``, ``Retry-After`` and
            ``Azure-AsyncOperation`` as the live service's do; ``"spec"``: only what the
            published spec declares (no ``Azure-AsyncOperation``).
        missing_child_status: 404, or 400 as the live service has been seen to answer a missing
            Site Recovery child resource.
        aws_account_id: The AWS account inside moto (default: a random one, so that several
            sandboxes share a process). ``python -m ec2asr sandbox`` uses moto's default
            account, which any client reaches without moto-specific headers.

    Attributes:
        region: The AWS region.
        aws_account_id: The sandbox's AWS account id inside moto.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        clock: SimulatedClock | None = None,
        timings: Timings | None = None,
        retry_after: int = 0,
        create_vault: bool = True,
        lro_mode: str = "live",
        missing_child_status: int = 404,
        aws_account_id: str | None = None,
    ) -> None:
        self.region = region
        self.aws_account_id = aws_account_id or f"{secrets.randbelow(9 * 10**11) + 10**11}"
        self._moto: _moto.MotoServer | None = None
        self._ec2_session: boto3.Session | None = None
        self._seeder: FleetSeeder | None = None
        self._emulator_options: dict[str, Any] = {
            "clock": clock,
            "timings": timings,
            "retry_after": retry_after,
            "create_vault": create_vault,
            "lro_mode": lro_mode,
            "missing_child_status": missing_child_status,
        }
        self._emulator: AsrEmulator | None = None
        self._bridge: AgentBridge | None = None
        self._appliance: SeededAppliance | None = None

    def __repr__(self) -> str:
        state = self.aws_endpoint_url if self._moto is not None else "stopped"
        return f"Sandbox(region={self.region!r}, aws={state})"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._moto is not None

    def start(self) -> Self:
        """Start every emulated service; return the sandbox. Starting twice does nothing."""
        if not self.running:
            self._start_aws()
            try:
                self._start_azure()
            except BaseException:
                self._stop_aws()
                raise
        return self

    def stop(self) -> None:
        """Stop every emulated service and free its ports. Stopping twice does nothing."""
        self._stop_azure()
        self._stop_aws()

    # --- AWS half -------------------------------------------------------------------------

    def _start_aws(self) -> None:
        _moto.install_catalogue()
        server = _moto.MotoServer()
        try:
            server.start()
        except BaseException:
            _moto.release_catalogue()
            raise
        self._moto = server
        _moto.ec2_backend(self.aws_account_id, self.region)
        self._ec2_session = self.new_aws_session()

    def _stop_aws(self) -> None:
        if self._moto is None:
            return
        self._moto.stop()
        self._moto = None
        self._ec2_session = None
        self._seeder = None
        _moto.release_catalogue()

    def _require_aws(self) -> _moto.MotoServer:
        if self._moto is None:
            raise RuntimeError("the sandbox is not running: use `with Sandbox() as sandbox:`")
        return self._moto

    @property
    def aws_endpoint_url(self) -> str:
        """The moto server's URL, ``http://127.0.0.1:PORT``."""
        return self._require_aws().endpoint_url

    @property
    def ec2_session(self) -> boto3.Session:
        """A boto3 session whose clients (EC2, SSM, STS, ...) talk to the sandbox only.

        It carries dummy credentials and the sandbox's region; no ``endpoint_url`` is needed.
        """
        self._require_aws()
        assert self._ec2_session is not None
        return self._ec2_session

    def new_aws_session(self) -> boto3.Session:
        """A fresh session like :attr:`ec2_session` (event hooks registered on it stay local)."""
        server = self._require_aws()
        core = _SandboxBotocoreSession(server.endpoint_url, self.aws_account_id, self.region)
        return boto3.Session(botocore_session=core, region_name=self.region)

    def ec2_backend(self) -> Any:
        """moto's in-process EC2 backend holding this sandbox's resources."""
        self._require_aws()
        return _moto.ec2_backend(self.aws_account_id, self.region)

    def ssm_backend(self) -> Any:
        """moto's in-process SSM backend of this sandbox (Run Command history, parameters)."""
        self._require_aws()
        from moto.ssm.models import ssm_backends

        return ssm_backends[self.aws_account_id][self.region]

    def seed_fleet(
        self,
        n: int | None = None,
        *,
        profiles: Iterable[str] | None = None,
        appliances: int = 1,
    ) -> SeededFleet:
        """Create a VPC, the replication appliance and a fleet of source instances.

        The network (VPC, subnets, security groups) and the appliance are created by the first
        call; every call adds instances to them (names stay unique), so seeding is additive.

        Args:
            n: How many source instances. ``None``: one per default profile (every readiness
                verdict covered). A number: a realistic mix over every profile and ~20 AMIs
                (each profile at least once when ``n`` allows).
            profiles: Only these profile keys (see :data:`ec2asr.testing.PROFILES`).
            appliances: How many replication appliances the vault has in all, at least (the
                seeded one plus :meth:`add_appliances`; each replicates about 200 machines).

        Returns:
            What was created by this call, with each instance's intended verdict.

        Raises:
            InvalidInputError: ``n`` is below 1, a profile key is unknown, or ``appliances``
                is not between 1 and :data:`MAX_APPLIANCES`.
        """
        self._require_aws()
        if isinstance(appliances, bool) or not isinstance(appliances, int):
            raise InvalidInputError(f"appliances must be a whole number, not {appliances!r}")
        if not 1 <= appliances <= MAX_APPLIANCES:
            raise InvalidInputError(
                f"appliances must be between 1 and {MAX_APPLIANCES}, not {appliances}"
            )
        if self._seeder is None:
            self._seeder = FleetSeeder(
                self.ec2_session.client("ec2"), backend=self.ec2_backend, region=self.region
            )
        fleet = self._seeder.seed(n, profiles=profiles)
        self._appliance = fleet.appliance
        emulator = self.emulator
        if emulator.store.find_vault(
            emulator.subscription_id, emulator.resource_group, emulator.vault
        ):
            self.register_appliance()
            more = appliances - self._appliance_count()
            if more > 0:
                self.add_appliances(more)
        return fleet

    def _appliance_count(self) -> int:
        emulator = self.emulator
        state = emulator.store.find_vault(
            emulator.subscription_id, emulator.resource_group, emulator.vault
        )
        return 0 if state is None else sum(len(f.appliances) for f in state.fabrics.values())

    def add_appliances(self, n: int) -> list[ApplianceInfo]:
        """Register ``n`` more replication appliances with the vault's InMageRcm fabric (a
        scale-out: each replicates about 200 machines, so 10,000 machines need 50).

        They exist in the vault only (no EC2 instance in moto): each has a private IP in the
        management subnet (``10.0.0.11`` onwards) and the seeded appliance's security group, so
        the sources reach it on TCP 443/9443 exactly as they reach the seeded one.

        Returns:
            The appliances registered by this call.

        Raises:
            InvalidInputError: ``n`` is below 1, or the vault would hold more than
                :data:`MAX_APPLIANCES`.
            RuntimeError: No fleet (hence no appliance and network) was seeded yet, or the
                vault does not exist yet (see :meth:`register_appliance`).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInputError(f"n must be a whole number of at least 1, not {n!r}")
        seeded = self._appliance
        emulator = self.emulator
        if seeded is None:
            raise RuntimeError("seed a fleet first: the appliances join its network")
        state = emulator.store.find_vault(
            emulator.subscription_id, emulator.resource_group, emulator.vault
        )
        if state is None or not state.fabrics:
            raise RuntimeError("register the seeded appliance first (register_appliance())")
        have = self._appliance_count()
        if have + n > MAX_APPLIANCES:
            raise InvalidInputError(
                f"the vault has {have} appliances; {n} more would exceed {MAX_APPLIANCES}"
            )
        stem = seeded.name.rsplit("-", 1)[0]
        added = []
        for number in range(have + 1, have + n + 1):
            added.append(
                emulator.register_appliance(
                    f"{stem}-{number:02d}",
                    f"10.0.0.{10 + number - 1}",
                    security_group_ids=[seeded.security_group_id],
                )
            )
        return added

    # --- Azure half -----------------------------------------------------------------------

    def _start_azure(self) -> None:
        options = {k: v for k, v in self._emulator_options.items() if v is not None}
        emulator = AsrEmulator(
            vault=f"ec2asr-vault-{self.aws_account_id[-6:]}",
            connectivity=SecurityGroupOracle(self.ec2_backend),
            **options,
        )
        emulator.start()
        self._emulator = emulator
        self._bridge = AgentBridge(emulator, self.ssm_backend, self._machine_spec)
        bridge = self._bridge
        emulator.add_request_hook(bridge.sync)
        assert self._moto is not None
        self._moto.add_after_request(bridge.after_moto_request)

    def _stop_azure(self) -> None:
        if self._emulator is not None:
            self._emulator.stop()
        self._emulator = None
        self._bridge = None

    @property
    def emulator(self) -> AsrEmulator:
        """The ASR emulator: fault injection, the simulated clock, ``writes``, request counts.

        Raises:
            RuntimeError: When the sandbox is not running.
        """
        if self._emulator is None:
            raise RuntimeError("the sandbox is not running: use `with Sandbox() as sandbox:`")
        return self._emulator

    def now(self) -> datetime:
        """The emulator's simulated time (UTC, timezone-aware).

        Inject it as the migration's clock, ``ec2asr.Migration(..., now=sandbox.now)``, so that
        the times ec2asr records (when it asked EC2 to stop a source, for one) compare with the
        emulator's recovery points and jobs.

        Raises:
            RuntimeError: When the sandbox is not running.
        """
        return self.emulator.now()

    @property
    def credential(self) -> Any:
        """A ``TokenCredential`` the emulator accepts (a fake token)."""
        return self.emulator.credential

    @property
    def subscription_id(self) -> str:
        """The emulated Azure subscription."""
        return self.emulator.subscription_id

    @property
    def resource_group(self) -> str:
        """The vault's resource group."""
        return self.emulator.resource_group

    @property
    def vault(self) -> str:
        """The Recovery Services vault's name."""
        return self.emulator.vault

    @property
    def base_url(self) -> str:
        """The emulator's URL, ``http://127.0.0.1:PORT`` (pass as the SDK's ``base_url``)."""
        return self.emulator.base_url

    def asr_management_client(self, **kwargs: Any) -> Any:
        """The real ``SiteRecoveryManagementClient``, wired for plain HTTP on loopback."""
        return self.emulator.asr_management_client(**kwargs)

    def recovery_services_client(self, **kwargs: Any) -> Any:
        """The real ``RecoveryServicesClient`` (vaults), wired for plain HTTP on loopback."""
        return self.emulator.recovery_services_client(**kwargs)

    def _machine_spec(self, instance_id: str) -> MachineSpec:
        return machine_spec(self.ec2_session.client("ec2"), instance_id)

    def add_push_servers(
        self, instance_ids: Iterable[str], *, account_name: str, credentials_valid: bool = True
    ) -> str:
        """The appliance-side step of push installation: add these servers with a credential.

        The machines appear in the appliance's server site without a Mobility agent; enabling
        replication with the returned run-as account pushes the agent, if the security groups
        let the appliance in.

        Args:
            instance_ids: The EC2 instances to add.
            account_name: The credential's friendly name on the appliance.
            credentials_valid: Whether the credential works on those servers.

        Returns:
            The run-as account's ARM id (``runAsAccountId`` for enabling replication).
        """
        specs = [self._machine_spec(i) for i in instance_ids]
        return self.emulator.add_push_servers(
            specs, account_name=account_name, credentials_valid=credentials_valid
        )

    def register_agents(self, instance_ids: Iterable[str]) -> list[str]:
        """Register Mobility agents directly, as if installed by hand (no SSM involved).

        Returns:
            The discovered machines' ARM ids (``fabricDiscoveryMachineId``).
        """
        return [self.emulator.register_machine(self._machine_spec(i)) for i in instance_ids]

    def sync_agents(self) -> None:
        """Process SSM Run Commands sent so far (the sandbox also does this on every request)."""
        if self._bridge is not None:
            self._bridge.sync()

    def register_appliance(self) -> None:
        """Register the seeded replication appliance with the vault (done by :meth:`seed_fleet`
        when the vault exists; call it after creating the vault yourself).

        Raises:
            RuntimeError: When no fleet (hence no appliance) was seeded yet.
            ValueError: When the vault does not exist yet.
        """
        if self._appliance is None:
            raise RuntimeError("seed a fleet first: the appliance is part of it")
        emulator = self.emulator
        if (
            emulator.store.find_vault(
                emulator.subscription_id, emulator.resource_group, emulator.vault
            )
            is None
        ):
            raise ValueError(f"the vault '{emulator.vault}' does not exist yet: create it first")
        if emulator.get_vault_state().fabrics:
            return
        appliance = self._appliance
        emulator.register_appliance(
            appliance.name,
            appliance.private_ip,
            instance_id=appliance.instance_id,
            security_group_ids=[appliance.security_group_id],
        )
