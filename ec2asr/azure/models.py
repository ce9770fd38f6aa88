"""Frozen ec2asr models of what Azure Site Recovery reports (fabric, appliance, policies).

Each has ``from_azure`` taking the SDK model (or, for OffAzure machines, the JSON body); none
does I/O. Protected items, jobs, recovery points and plans are in :mod:`ec2asr.azure.items`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "ApplianceFabric",
    "AppliancePeer",
    "AsrPolicy",
    "ComputeSize",
    "ContainerMapping",
    "DiscoveredDisk",
    "DiscoveredMachine",
    "ProcessServer",
    "RunAsAccount",
    "Vault",
    "arm_name",
    "attr_path",
]


def arm_name(resource_id: str | None) -> str | None:
    """The last segment of an ARM id (its name)."""
    if not resource_id:
        return None
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def attr_path(obj: Any, *path: str) -> Any:
    """``obj.a.b.c`` for ``path=("a", "b", "c")``, None as soon as a step is None or missing."""
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


@attrs.frozen
class Vault:
    """A Recovery Services vault."""

    id: str
    name: str
    location: str
    resource_group: str

    @classmethod
    def from_azure(cls, vault: Any, *, resource_group: str) -> Vault:
        """Build from ``azure.mgmt.recoveryservices.models.Vault``."""
        return cls(
            id=str(vault.id),
            name=str(vault.name),
            location=str(vault.location),
            resource_group=resource_group,
        )


@attrs.frozen
class ProcessServer:
    """A process server of the replication appliance.

    Attributes:
        ip_addresses: The addresses sources reach it on (their Mobility agents talk to it).
        health: ``Normal``, ``Warning``, ``Critical`` or ``None``.
        protected_item_count: How many machines it already replicates.
    """

    id: str
    name: str
    ip_addresses: tuple[str, ...]
    health: str | None = None
    protected_item_count: int = 0
    fqdn: str | None = None
    version: str | None = None
    last_heartbeat: datetime | None = None
    health_errors: tuple[str, ...] = ()

    @classmethod
    def from_azure(cls, ps: Any) -> ProcessServer:
        """Build from ``models.ProcessServerDetails``."""
        return cls(
            id=str(ps.id or ""),
            name=str(ps.name or ""),
            ip_addresses=tuple(ps.ip_addresses or ()),
            health=ps.health,
            protected_item_count=int(ps.protected_item_count or 0),
            fqdn=ps.fqdn,
            version=ps.version,
            last_heartbeat=ps.last_heartbeat_utc,
            health_errors=tuple(
                str(e.error_message or e.summary_message or e.error_code)
                for e in (ps.health_errors or ())
            ),
        )

    @property
    def ip_address(self) -> str | None:
        """The first address, or None."""
        return self.ip_addresses[0] if self.ip_addresses else None


@attrs.frozen
class AppliancePeer:
    """One replication appliance registered to the fabric."""

    id: str
    name: str
    process_server: ProcessServer | None

    @classmethod
    def from_azure(cls, appliance: Any) -> AppliancePeer:
        """Build from ``models.InMageRcmApplianceDetails``."""
        ps = appliance.process_server
        return cls(
            id=str(appliance.id or ""),
            name=str(appliance.name or ""),
            process_server=ProcessServer.from_azure(ps) if ps is not None else None,
        )


APPLIANCE_CAPACITY = 200
"""About how many machines one replication appliance can replicate (Microsoft's guidance)."""


@attrs.frozen
class ApplianceFabric:
    """The InMageRcm fabric of the registered replication appliance(s).

    Attributes:
        name: The fabric's ARM name.
        physical_site_id: The ``Microsoft.OffAzure`` server site whose machines are discovered.
        process_servers: Every process server, with health and load.
        appliances: The appliances registered to the fabric.
    """

    id: str
    name: str
    friendly_name: str | None
    physical_site_id: str | None
    process_servers: tuple[ProcessServer, ...]
    appliances: tuple[AppliancePeer, ...] = ()
    source_agent_identity: str | None = None

    @classmethod
    def from_azure(cls, fabric: Any) -> ApplianceFabric:
        """Build from ``models.Fabric`` with ``InMageRcmFabricSpecificDetails``."""
        details = attr_path(fabric, "properties", "custom_details")
        servers = tuple(
            ProcessServer.from_azure(p) for p in (attr_path(details, "process_servers") or ())
        )
        return cls(
            id=str(fabric.id),
            name=str(fabric.name),
            friendly_name=attr_path(fabric, "properties", "friendly_name"),
            physical_site_id=attr_path(details, "physical_site_id"),
            process_servers=servers,
            source_agent_identity=attr_path(details, "source_agent_identity_details", "tenant_id"),
        )

    @property
    def protected_item_count(self) -> int:
        """Machines already replicated through this fabric's process servers."""
        return sum(p.protected_item_count for p in self.process_servers)

    @property
    def capacity(self) -> int:
        """About how many machines the appliances can replicate in total."""
        return APPLIANCE_CAPACITY * max(1, len(self.appliances) or len(self.process_servers))

    @property
    def healthy_process_servers(self) -> tuple[ProcessServer, ...]:
        """Process servers whose health is ``Normal`` (or unreported)."""
        return tuple(p for p in self.process_servers if p.health in (None, "Normal"))

    @property
    def usable_process_servers(self) -> tuple[ProcessServer, ...]:
        """Where ec2asr places new machines: the healthy process servers, or every one when
        none is healthy (ASR then decides)."""
        return self.healthy_process_servers or self.process_servers


@attrs.frozen
class DiscoveredDisk:
    """A disk of a discovered machine."""

    id: str
    name: str | None
    size_bytes: int


@attrs.frozen
class DiscoveredMachine:
    """A machine the appliance discovered (a ``Microsoft.OffAzure`` server-site machine).

    Attributes:
        id: Its ARM id: the ``fabricDiscoveryMachineId`` for enabling replication.
        display_name: The name the appliance shows.
        ip_addresses: Every IP address of every adapter.
        bios_guid: The SMBIOS UUID.
    """

    id: str
    name: str
    display_name: str | None
    fqdn: str | None
    bios_guid: str | None
    ip_addresses: tuple[str, ...]
    os_type: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    disks: tuple[DiscoveredDisk, ...] = ()

    @classmethod
    def from_azure(cls, body: Mapping[str, Any]) -> DiscoveredMachine:
        """Build from one item of ``{physicalSiteId}/machines`` (OffAzure JSON)."""
        props = body.get("properties") or {}
        ips: list[str] = []
        for nic in props.get("networkAdapters") or ():
            for ip in nic.get("ipAddressList") or ():
                if ip not in ips:
                    ips.append(ip)
        os_details = props.get("operatingSystemDetails") or {}
        disks = tuple(
            DiscoveredDisk(
                id=str(d.get("uuid") or d.get("diskId") or d.get("name") or ""),
                name=d.get("name"),
                size_bytes=int(d.get("maxSizeInBytes") or 0),
            )
            for d in (props.get("disks") or ())
        )
        return cls(
            id=str(body.get("id", "")),
            name=str(body.get("name", "")),
            display_name=props.get("displayName"),
            fqdn=props.get("fqdn"),
            bios_guid=props.get("biosGuid"),
            ip_addresses=tuple(ips),
            os_type=os_details.get("osType"),
            os_name=os_details.get("osName"),
            os_version=os_details.get("osVersion"),
            disks=disks,
        )


@attrs.frozen
class RunAsAccount:
    """A credential added on the appliance (used for push installation)."""

    id: str
    name: str
    display_name: str | None

    @classmethod
    def from_azure(cls, body: Mapping[str, Any]) -> RunAsAccount:
        """Build from one item of ``{physicalSiteId}/runAsAccounts`` (OffAzure JSON)."""
        props = body.get("properties") or {}
        return cls(
            id=str(body.get("id", "")),
            name=str(body.get("name", "")),
            display_name=props.get("displayName"),
        )


@attrs.frozen
class AsrPolicy:
    """An InMageRcm replication policy as ASR stores it."""

    id: str
    name: str
    instance_type: str | None
    recovery_point_history_minutes: int | None
    app_consistent_frequency_minutes: int | None
    crash_consistent_frequency_minutes: int | None
    multi_vm_sync: str | None = None

    @classmethod
    def from_azure(cls, policy: Any) -> AsrPolicy:
        """Build from ``models.Policy``."""
        details = attr_path(policy, "properties", "provider_specific_details")
        return cls(
            id=str(policy.id),
            name=str(policy.name),
            instance_type=attr_path(details, "instance_type"),
            recovery_point_history_minutes=attr_path(details, "recovery_point_history_in_minutes"),
            app_consistent_frequency_minutes=attr_path(
                details, "app_consistent_frequency_in_minutes"
            ),
            crash_consistent_frequency_minutes=attr_path(
                details, "crash_consistent_frequency_in_minutes"
            ),
            multi_vm_sync=attr_path(details, "enable_multi_vm_sync"),
        )


@attrs.frozen
class ContainerMapping:
    """A protection-container mapping (which policy a container's machines use)."""

    id: str
    name: str
    policy_id: str | None
    target_container_id: str | None
    state: str | None
    health: str | None = None

    @classmethod
    def from_azure(cls, mapping: Any) -> ContainerMapping:
        """Build from ``models.ProtectionContainerMapping``."""
        props = mapping.properties
        return cls(
            id=str(mapping.id),
            name=str(mapping.name),
            policy_id=attr_path(props, "policy_id"),
            target_container_id=attr_path(props, "target_protection_container_id"),
            state=attr_path(props, "state"),
            health=attr_path(props, "health"),
        )


@attrs.frozen
class ComputeSize:
    """An Azure VM size ASR offers for a protected item."""

    name: str
    vcpus: int | None
    memory_gb: float | None
    max_data_disks: int | None
    max_nics: int | None
    errors: tuple[str, ...] = ()

    @classmethod
    def from_azure(cls, size: Any) -> ComputeSize:
        """Build from ``models.TargetComputeSize``."""
        p = size.properties
        return cls(
            name=str(attr_path(p, "name") or size.name),
            vcpus=attr_path(p, "v_cpus_available") or attr_path(p, "cpu_cores_count"),
            memory_gb=attr_path(p, "memory_in_gb"),
            max_data_disks=attr_path(p, "max_data_disk_count"),
            max_nics=attr_path(p, "max_nics_count"),
            errors=tuple(str(e.message) for e in (attr_path(p, "errors") or ())),
        )
