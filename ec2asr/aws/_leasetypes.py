"""The value types of security-group leases: the rule, the lease, and what an operation did."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

import attrs

from ec2asr._frozen import frozen_map
from ec2asr.aws._netrules import PortRange
from ec2asr.aws._paths import Direction, FlowPurpose
from ec2asr.aws.netcheck import MissingRule
from ec2asr.errors import Ec2AsrError, InvalidInputError
from ec2asr.migration.journal import LeaseRecord

__all__ = [
    "LEASE_DESCRIPTION_PREFIX",
    "Lease",
    "LeaseOutcome",
    "LeaseSpec",
    "ReconcileReport",
]

LEASE_DESCRIPTION_PREFIX = "ec2asr lease "
"""Every leased rule's description starts with this, followed by the lease id."""

REQUESTED, ACTIVE, REVOKED = "requested", "active", "revoked"


@attrs.frozen
class LeaseSpec:
    """Exactly which rule a lease adds.

    Attributes:
        group_id: The security group.
        direction: Inbound or outbound.
        ports: The TCP ports.
        cidr: The peer as a /32.
        purpose: The flow it opens.

    Raises:
        InvalidInputError: ``cidr`` is not a single IPv4 host (/32): ec2asr never leases wider.
    """

    group_id: str
    direction: Direction
    ports: PortRange
    cidr: str
    purpose: FlowPurpose | None = None

    def __attrs_post_init__(self) -> None:
        try:
            network = ipaddress.IPv4Network(self.cidr)
        except ValueError:
            raise InvalidInputError(f"not an IPv4 CIDR: {self.cidr!r}") from None
        if network.prefixlen != 32:
            raise InvalidInputError(f"ec2asr only leases rules for one host (/32), not {self.cidr}")
        if not self.group_id.startswith("sg-"):
            raise InvalidInputError(f"not a security-group id: {self.group_id!r}")

    @classmethod
    def from_missing(cls, missing: MissingRule) -> LeaseSpec:
        """The lease that adds one missing security-group rule.

        Raises:
            InvalidInputError: The rule is a network-ACL entry (never changed) or not a /32.
        """
        if not missing.leasable:
            raise InvalidInputError(f"network ACLs are never changed by ec2asr: {missing}")
        return cls(
            missing.resource_id,
            missing.direction,
            missing.ports,
            missing.peer_cidr,
            missing.purpose,
        )

    @classmethod
    def from_journal(cls, spec: Mapping[str, Any]) -> LeaseSpec:
        """Rebuild from the spec stored in the journal."""
        purpose = spec.get("purpose")
        return cls(
            group_id=spec["group_id"],
            direction=Direction(spec["direction"]),
            ports=PortRange(int(spec["from_port"]), int(spec["to_port"])),
            cidr=spec["cidr"],
            purpose=FlowPurpose(purpose) if purpose else None,
        )

    def lease_id(self, namespace: str) -> str:
        """A deterministic id: the same rule in the same namespace always gets the same id."""
        key = "|".join(
            (namespace, self.group_id, self.direction.value, "tcp", str(self.ports), self.cidr)
        )
        return "sgl-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_journal(self, lease_id: str) -> dict[str, Any]:
        """What the journal records."""
        return {
            "group_id": self.group_id,
            "direction": self.direction.value,
            "protocol": "tcp",
            "from_port": self.ports.first,
            "to_port": self.ports.last,
            "cidr": self.cidr,
            "purpose": self.purpose.value if self.purpose else None,
            "description": LEASE_DESCRIPTION_PREFIX + lease_id,
        }

    def permission(self, lease_id: str) -> dict[str, Any]:
        """The ``IpPermissions`` item that adds (or names) this rule."""
        return {
            "IpProtocol": "tcp",
            "FromPort": self.ports.first,
            "ToPort": self.ports.last,
            "IpRanges": [{"CidrIp": self.cidr, "Description": LEASE_DESCRIPTION_PREFIX + lease_id}],
        }

    def __str__(self) -> str:
        way = "from" if self.direction is Direction.INGRESS else "to"
        return f"{self.direction} TCP {self.ports} {way} {self.cidr} on {self.group_id}"


@attrs.frozen
class Lease:
    """A lease as the journal knows it.

    Attributes:
        lease_id: Its id (also in the rule's description).
        spec: The rule.
        holders: The machines that need it.
        state: ``requested``, ``active`` or ``revoked``.
    """

    lease_id: str
    spec: LeaseSpec
    holders: tuple[str, ...] = ()
    state: str = REQUESTED

    @classmethod
    def from_record(cls, record: LeaseRecord) -> Lease:
        """Build from a journal record."""
        return cls(
            record.lease_id, LeaseSpec.from_journal(record.spec), record.holders, record.state
        )

    @property
    def description(self) -> str:
        """The rule's description in EC2."""
        return LEASE_DESCRIPTION_PREFIX + self.lease_id

    def __str__(self) -> str:
        held = ", ".join(self.holders) or "nobody"
        return f"{self.lease_id}: {self.spec} ({self.state}; held by {held})"


@attrs.frozen
class LeaseOutcome:
    """What :meth:`SecurityGroupLeases.acquire` did, per machine.

    Attributes:
        leases: The leases each machine now holds (active ones, and requested ones AWS may
            still have to settle).
        errors: Per machine, why a lease it needs could not be made.
        satisfied_elsewhere: Rules that already existed without ec2asr (nothing leased).
    """

    leases: Mapping[str, tuple[Lease, ...]] = attrs.field(factory=dict, converter=frozen_map)
    errors: Mapping[str, Ec2AsrError] = attrs.field(factory=dict, converter=frozen_map)
    satisfied_elsewhere: tuple[LeaseSpec, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every requested rule now exists."""
        return not self.errors


@attrs.frozen
class ReconcileReport:
    """What :meth:`SecurityGroupLeases.reconcile` settled (lease ids).

    Attributes:
        activated: ``requested`` leases whose rule exists: now ``active``.
        never_made: ``requested`` leases whose rule does not exist: now ``revoked``.
        vanished: ``active`` leases whose rule someone removed: now ``revoked``.
        revoked: Leases ec2asr revoked because no unfinished machine holds them.
    """

    activated: tuple[str, ...] = ()
    never_made: tuple[str, ...] = ()
    vanished: tuple[str, ...] = ()
    revoked: tuple[str, ...] = ()
