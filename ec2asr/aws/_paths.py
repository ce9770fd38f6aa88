"""The TCP flows a migration needs between a source machine and the appliance, and their ends."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from ec2asr.aws._netrules import PortRange
from ec2asr.models import OsFamily, SourceMachine

if TYPE_CHECKING:
    from ec2asr.aws.netcheck import ApplianceNetwork

__all__ = [
    "EPHEMERAL_PORTS",
    "PUSH_PORTS",
    "REPLICATION_PORTS",
    "Direction",
    "Endpoint",
    "Flow",
    "FlowPurpose",
    "RuleKind",
    "required_flows",
]


class FlowPurpose(str, enum.Enum):
    """Why a path must be open."""

    REPLICATION = "replication"
    """Source -> appliance TCP 443 (control) and 9443 (data): always needed."""
    PUSH_INSTALL = "push install"
    """Appliance -> source: only when the appliance pushes the Mobility agent."""

    def __str__(self) -> str:
        return self.value


class RuleKind(str, enum.Enum):
    """Where a missing rule lives."""

    SECURITY_GROUP = "security-group"
    NETWORK_ACL = "network-acl"

    def __str__(self) -> str:
        return self.value


class Direction(str, enum.Enum):
    """Which way a rule applies, seen from the group or ACL that holds it."""

    INGRESS = "inbound"
    EGRESS = "outbound"

    def __str__(self) -> str:
        return self.value


REPLICATION_PORTS = (PortRange.single(443), PortRange.single(9443))
"""Source -> appliance: 443 control channel, 9443 data transport."""

PUSH_PORTS: dict[OsFamily, tuple[PortRange, ...]] = {
    OsFamily.WINDOWS: (PortRange.single(445), PortRange.single(135), PortRange(49152, 65535)),
    OsFamily.LINUX: (PortRange.single(22),),
}
"""Appliance -> source for push install: SMB + RPC (+ dynamic RPC) on Windows, SSH on Linux."""

EPHEMERAL_PORTS: dict[OsFamily, PortRange] = {
    OsFamily.WINDOWS: PortRange(49152, 65535),
    OsFamily.LINUX: PortRange(32768, 60999),
    OsFamily.UNKNOWN: PortRange(1024, 65535),
}
"""The client ports each OS uses by default: return traffic goes there (stateless ACLs)."""


@attrs.frozen
class Flow:
    """One TCP connection that must be possible.

    Attributes:
        purpose: Replication or push install.
        initiator_ip: Who opens the connection.
        responder_ip: Who accepts it.
        ports: The destination ports.
        from_source: True when the source machine initiates (replication).
    """

    purpose: FlowPurpose
    initiator_ip: str
    responder_ip: str
    ports: PortRange
    from_source: bool

    def __str__(self) -> str:
        return f"{self.initiator_ip} -> {self.responder_ip} TCP {self.ports} ({self.purpose})"


@attrs.frozen
class Endpoint:
    """One end of the flows: an address, its interface's groups, its subnet.

    ``lease_group`` is where ec2asr adds a rule for this end: the first security group of the
    interface (a group shared by many machines then carries one rule for all of them).
    """

    role: str
    label: str
    ip: str
    group_ids: tuple[str, ...]
    subnet_id: str | None
    os_family: OsFamily
    checkable: bool = True

    @property
    def cidr(self) -> str:
        """The address as a /32."""
        return f"{self.ip}/32"

    @property
    def lease_group(self) -> str | None:
        """The group a missing rule is added to."""
        return self.group_ids[0] if self.group_ids else None

    @property
    def ephemeral_ports(self) -> PortRange:
        """Where return traffic to this end arrives."""
        return EPHEMERAL_PORTS.get(self.os_family, EPHEMERAL_PORTS[OsFamily.UNKNOWN])

    @classmethod
    def of_source(cls, machine: SourceMachine) -> Endpoint | None:
        """The primary interface's primary IP, or None without one."""
        eni = next((e for e in machine.network_interfaces if e.primary_private_ip), None)
        if eni is None or eni.primary_private_ip is None:
            return None
        return cls(
            role="source",
            label=machine.display_name,
            ip=eni.primary_private_ip,
            group_ids=eni.security_group_ids,
            subnet_id=eni.subnet_id,
            os_family=machine.os.family,
        )

    @classmethod
    def of_appliance(cls, appliance: ApplianceNetwork) -> Endpoint:
        """The appliance's interface (not checkable when it is not in EC2)."""
        return cls(
            role="appliance",
            label=f"the appliance {appliance.name}" if appliance.name else "the appliance",
            ip=appliance.private_ip,
            group_ids=appliance.security_group_ids,
            subnet_id=appliance.subnet_id,
            os_family=appliance.os_family,
            checkable=appliance.in_ec2,
        )


def required_flows(
    machine: SourceMachine, source: Endpoint, appliance: Endpoint, *, push: bool
) -> tuple[list[Flow], list[str]]:
    """The flows one machine needs, and notes on what cannot be decided."""
    flows = [
        Flow(FlowPurpose.REPLICATION, source.ip, appliance.ip, ports, True)
        for ports in REPLICATION_PORTS
    ]
    notes: list[str] = []
    if push:
        ports_needed = PUSH_PORTS.get(machine.os.family)
        if ports_needed is None:
            notes.append(
                "the OS family is unknown, so the push-install ports (Windows: 445, 135, "
                "49152-65535; Linux: 22) were not checked; set the ec2asr:os tag"
            )
        else:
            flows += [
                Flow(FlowPurpose.PUSH_INSTALL, appliance.ip, source.ip, ports, False)
                for ports in ports_needed
            ]
    return flows, notes
