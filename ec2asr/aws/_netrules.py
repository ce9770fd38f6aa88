"""How one security group or network ACL decides about one TCP port range: pure functions.

Port ranges are handled as sets of intervals so that an answer is exact: "TCP 49152-65535 is
allowed except 60000-65535", never "some rule mentions the range". Security groups are stateful
and allow-only (the union of every matching rule); network ACLs are stateless and ordered (the
lowest-numbered matching entry decides, an unmatched port is denied by the implicit ``*`` rule).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ec2asr.errors import InvalidInputError
from ec2asr.models import SecurityGroupRule

__all__ = [
    "NetworkAcl",
    "NetworkAclEntry",
    "PortRange",
    "acl_denials",
    "cidr_contains",
    "prefix_list_hits",
    "uncovered_ports",
]

_TCP = frozenset({"tcp", "6"})


def _check_port(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= 65535:
        raise InvalidInputError(f"{attribute.name} must be a port between 0 and 65535, not {value}")


@attrs.frozen(order=True)
class PortRange:
    """An inclusive range of TCP ports.

    Attributes:
        first: The first port.
        last: The last port (equal to ``first`` for a single port).

    Raises:
        InvalidInputError: A port is outside 0-65535 or ``last`` is below ``first``.
    """

    first: int = attrs.field(validator=_check_port)
    last: int = attrs.field(validator=_check_port)

    def __attrs_post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInputError(f"port range {self.first}-{self.last} is reversed")

    @classmethod
    def single(cls, port: int) -> PortRange:
        """One port."""
        return cls(port, port)

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    @property
    def size(self) -> int:
        """How many ports the range holds."""
        return self.last - self.first + 1


ALL_PORTS = PortRange(0, 65535)


def _subtract(wanted: Sequence[PortRange], cut: PortRange) -> list[PortRange]:
    out: list[PortRange] = []
    for r in wanted:
        if cut.last < r.first or cut.first > r.last:
            out.append(r)
            continue
        if r.first < cut.first:
            out.append(PortRange(r.first, cut.first - 1))
        if cut.last < r.last:
            out.append(PortRange(cut.last + 1, r.last))
    return out


def _intersect(a: PortRange, b: PortRange) -> PortRange | None:
    first, last = max(a.first, b.first), min(a.last, b.last)
    return PortRange(first, last) if first <= last else None


def cidr_contains(cidr: str, ip: str) -> bool:
    """True when IPv4 ``ip`` lies in ``cidr`` (an unparsable or IPv6 CIDR matches nothing)."""
    try:
        return ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        return False


def _rule_ports(rule: SecurityGroupRule) -> PortRange | None:
    """The TCP ports a security-group rule admits, or None when it admits no TCP."""
    if rule.protocol == "-1":
        return ALL_PORTS
    if rule.protocol.lower() not in _TCP:
        return None
    if rule.from_port is None or rule.to_port is None or rule.from_port < 0:
        return ALL_PORTS
    return PortRange(max(rule.from_port, 0), min(rule.to_port, 65535))


def uncovered_ports(
    rules: Iterable[SecurityGroupRule],
    ports: PortRange,
    *,
    peer_ip: str,
    peer_group_ids: Iterable[str] = (),
) -> list[PortRange]:
    """The part of ``ports`` (TCP) that no rule admits for the peer.

    A rule matches the peer when one of its CIDRs contains ``peer_ip`` or it references one of
    ``peer_group_ids`` (the security groups attached to the peer's network interface). Rules
    naming managed prefix lists are not resolved here (see :func:`prefix_list_hits`).
    """
    groups = set(peer_group_ids)
    missing = [ports]
    for rule in rules:
        admitted = _rule_ports(rule)
        if admitted is None:
            continue
        if any(cidr_contains(c, peer_ip) for c in rule.cidrs) or groups & set(rule.group_ids):
            missing = _subtract(missing, admitted)
            if not missing:
                break
    return missing


def prefix_list_hits(rules: Iterable[SecurityGroupRule], ports: PortRange) -> tuple[str, ...]:
    """Prefix lists named by rules that admit some of ``ports``: they may open the path."""
    hits: dict[str, None] = {}
    for rule in rules:
        admitted = _rule_ports(rule)
        if admitted is not None and _intersect(admitted, ports) is not None:
            for pl in rule.prefix_list_ids:
                hits.setdefault(pl, None)
    return tuple(hits)


@attrs.frozen
class NetworkAclEntry:
    """One numbered entry of a network ACL.

    Attributes:
        rule_number: Evaluation order, lowest first (32767 is the implicit ``*`` rule).
        egress: True for an outbound entry.
        protocol: ``-1`` (all), ``6`` (TCP), ``17`` (UDP) ...
        allow: True for ``allow``, False for ``deny``.
        cidr: The IPv4 CIDR, or None for an IPv6 entry.
        ports: The port range for TCP/UDP entries; None means every port.
    """

    rule_number: int
    egress: bool
    protocol: str
    allow: bool
    cidr: str | None
    ports: PortRange | None = None

    @classmethod
    def from_boto(cls, entry: Mapping[str, Any]) -> NetworkAclEntry:
        """Build from one item of a ``DescribeNetworkAcls`` ACL's ``Entries``."""
        port_range = entry.get("PortRange")
        ports = None
        if port_range and port_range.get("From") is not None:
            ports = PortRange(int(port_range["From"]), int(port_range["To"]))
        protocol = str(entry.get("Protocol", "-1")).lower()
        return cls(
            rule_number=int(entry["RuleNumber"]),
            egress=bool(entry.get("Egress")),
            protocol={"tcp": "6", "udp": "17", "all": "-1"}.get(protocol, protocol),
            allow=str(entry.get("RuleAction", "deny")).lower() == "allow",
            cidr=entry.get("CidrBlock"),
            ports=ports,
        )

    @property
    def label(self) -> str:
        """``#100`` or ``*`` for the implicit default entry."""
        return "*" if self.rule_number >= 32767 else f"#{self.rule_number}"


def _by_number(entries: Iterable[NetworkAclEntry]) -> tuple[NetworkAclEntry, ...]:
    return tuple(sorted(entries, key=lambda e: e.rule_number))


@attrs.frozen
class NetworkAcl:
    """A network ACL and the subnets it applies to.

    Attributes:
        acl_id: ``acl-...``.
        vpc_id: Its VPC.
        subnet_ids: The subnets associated with it.
        entries: Every entry, in rule-number order.
        is_default: True for the VPC's default ACL.
    """

    acl_id: str
    vpc_id: str | None
    subnet_ids: tuple[str, ...] = ()
    entries: tuple[NetworkAclEntry, ...] = attrs.field(default=(), converter=_by_number)
    is_default: bool = False

    @classmethod
    def from_boto(cls, acl: Mapping[str, Any]) -> NetworkAcl:
        """Build from one item of ``DescribeNetworkAcls``' ``NetworkAcls``."""
        return cls(
            acl_id=acl["NetworkAclId"],
            vpc_id=acl.get("VpcId"),
            subnet_ids=tuple(
                a["SubnetId"] for a in acl.get("Associations") or () if a.get("SubnetId")
            ),
            entries=tuple(NetworkAclEntry.from_boto(e) for e in acl.get("Entries") or ()),
            is_default=bool(acl.get("IsDefault")),
        )


def acl_denials(
    acl: NetworkAcl, *, egress: bool, peer_ip: str, ports: PortRange
) -> list[tuple[PortRange, NetworkAclEntry | None]]:
    """The TCP ports of ``ports`` the ACL denies for the peer, each with the deciding entry.

    Entries are evaluated lowest number first; the first entry that matches a port decides it.
    Ports no entry matches are denied by the implicit ``*`` rule (reported as ``None``).
    """
    undecided = [ports]
    denied: list[tuple[PortRange, NetworkAclEntry | None]] = []
    for entry in acl.entries:
        if entry.egress != egress or entry.cidr is None or not cidr_contains(entry.cidr, peer_ip):
            continue
        if entry.protocol != "-1" and entry.protocol not in _TCP:
            continue
        span = entry.ports if entry.protocol != "-1" and entry.ports is not None else ALL_PORTS
        decided = [hit for r in undecided if (hit := _intersect(r, span)) is not None]
        if not decided:
            continue
        if not entry.allow:
            denied.extend((r, entry) for r in decided)
        undecided = _subtract(undecided, span)
        if not undecided:
            break
    denied.extend((r, None) for r in undecided)
    return sorted(denied, key=lambda d: d[0])
