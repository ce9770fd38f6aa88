"""The emulator's resource state: vaults, fabrics, appliances, containers, policies, mappings.

Plain mutable records, guarded by the emulator's single lock; handlers read and change them and
renderers turn them into ASR's JSON. Names are looked up case-insensitively, as ARM does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ec2asr._secret import Secret
from ec2asr.testing.emulator.arm import asr_vault_id, stable_guid
from ec2asr.testing.emulator.jobs import JobRegistry
from ec2asr.testing.emulator.models import ApplianceInfo, MachineSpec

if TYPE_CHECKING:
    from ec2asr.testing.emulator.protected_items import ProtectedItem

__all__ = [
    "Appliance",
    "Container",
    "DiscoveredMachine",
    "Fabric",
    "Mapping",
    "Policy",
    "RecoveryPlan",
    "RunAsAccount",
    "VaultState",
]

AGENT_VERSION = "9.66.7643.1"
APPLIANCE_VERSIONS = {
    "processServer": "9.66.7614.1",
    "rcmProxy": "1.44.9645.8268",
    "pushInstaller": "1.47.9649.18387",
    "replicationAgent": "1.45.9649.18472",
    "reprotectAgent": "1.48.9649.18457",
    "marsAgent": "2.0.9955.0",
    "dra": "5.25.904.11",
}


@dataclass
class Appliance:
    """A replication appliance registered with a fabric.

    Attributes:
        info: Name, IP, process-server id.
        mobility_config: The content of the appliance-generated Mobility service configuration
            file (a secret: never logged or shown).
        registered_at: Simulated registration time.
    """

    info: ApplianceInfo
    mobility_config: Secret
    registered_at: datetime

    @property
    def fqdn(self) -> str:
        """The appliance's host name as ASR reports it."""
        return self.info.name

    @property
    def bios_id(self) -> str:
        """A stable SMBIOS id for the appliance."""
        return stable_guid("appliance-bios", self.info.appliance_id).upper()

    def __repr__(self) -> str:
        return f"Appliance(name={self.info.name!r}, ip={self.info.private_ip!r})"


@dataclass
class RunAsAccount:
    """A credential added on the appliance for push installation (OffAzure run-as account).

    The password itself is not kept: only whether it would work on the servers it was added for.
    """

    name: str
    display_name: str
    credential_type: str
    credentials_valid: bool
    appliance_name: str
    created: datetime


@dataclass
class DiscoveredMachine:
    """A source machine the appliance discovered (a ``Microsoft.OffAzure`` server-site machine).

    Attributes:
        name: The OffAzure machine name (a GUID).
        spec: What the machine is.
        agent_registered: True once its Mobility agent registered with the appliance.
        run_as_account: The run-as account it was added with (push installation).
        agent_installed_by: ``"manual"`` or ``"push"`` once installed.
    """

    name: str
    spec: MachineSpec
    agent_registered: bool
    run_as_account: str | None
    discovered_at: datetime
    updated_at: datetime
    agent_installed_by: str | None = None


@dataclass
class Container:
    """A protection container of a fabric."""

    name: str
    fabric_name: str
    items: dict[str, ProtectedItem] = field(default_factory=dict)
    mappings: dict[str, Mapping] = field(default_factory=dict)


@dataclass
class Fabric:
    """The InMageRcm fabric of a registered appliance, and its Microsoft.OffAzure server site."""

    name: str
    site_name: str
    internal_id: str
    created: datetime
    appliances: dict[str, Appliance] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    machines: dict[str, DiscoveredMachine] = field(default_factory=dict)
    run_as_accounts: dict[str, RunAsAccount] = field(default_factory=dict)

    def machine_by_instance(self, instance_id: str) -> DiscoveredMachine | None:
        """The discovered machine of an EC2 instance, if any."""
        for machine in self.machines.values():
            if machine.spec.instance_id == instance_id:
                return machine
        return None

    def appliance_by_process_server(self, process_server_id: str) -> Appliance | None:
        """The appliance whose process server has this id."""
        return self.appliances.get(process_server_id.lower())


@dataclass
class Policy:
    """An InMageRcm replication policy."""

    name: str
    recovery_point_history_minutes: int
    crash_consistent_minutes: int
    app_consistent_minutes: int
    enable_multi_vm_sync: str


@dataclass
class Mapping:
    """A protection container mapping (container <-> policy <-> Azure)."""

    name: str
    container_name: str
    policy_name: str
    target_container_id: str
    state: str
    enable_agent_auto_upgrade: str = "true"


@dataclass
class RecoveryPlan:
    """A recovery plan: ordered groups of protected items."""

    name: str
    primary_fabric_id: str
    recovery_fabric_id: str
    failover_deployment_model: str
    groups: list[dict[str, Any]]
    last_test_failover: datetime | None = None
    last_unplanned_failover: datetime | None = None
    current_job: str | None = None


@dataclass
class VaultState:
    """One Recovery Services vault and every ASR resource in it."""

    subscription_id: str
    resource_group: str
    name: str
    location: str
    body: dict[str, Any]
    created: datetime
    fabrics: dict[str, Fabric] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    recovery_plans: dict[str, RecoveryPlan] = field(default_factory=dict)
    jobs: JobRegistry = field(default_factory=JobRegistry)

    @property
    def asr_id(self) -> str:
        """The vault prefix of ASR ids (``/Subscriptions/...``)."""
        return asr_vault_id(self.subscription_id, self.resource_group, self.name)

    def items(self) -> list[ProtectedItem]:
        """Every protected item of the vault, in creation order per container."""
        return [
            item
            for fabric in self.fabrics.values()
            for container in fabric.containers.values()
            for item in container.items.values()
        ]

    def find_item_by_id(self, item_id: str) -> ProtectedItem | None:
        """The protected item with this ARM id (case-insensitive, either subscriptions case)."""
        wanted = item_id.lower().rstrip("/")
        for item in self.items():
            if item.arm_id.lower() == wanted:
                return item
        return None
