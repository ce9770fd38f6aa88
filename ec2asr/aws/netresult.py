"""The answers of connectivity analysis: missing rules, per machine and for a fleet."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ec2asr.aws._netrules import PortRange
from ec2asr.aws._paths import Direction, Flow, FlowPurpose, RuleKind
from ec2asr.models import OsFamily, SecurityGroup

__all__ = ["ApplianceNetwork", "ConnectivityReport", "MachineConnectivity", "MissingRule"]


@attrs.frozen
class MissingRule:
    """A rule that must exist for a flow and does not.

    Attributes:
        instance_id: The source machine concerned.
        kind: Security group or network ACL.
        resource_id: For a security group, the group a rule should be added to (the first
            group of the interface, see ``docs/network.md``); for an ACL, the ACL's id.
        owner: ``"source"`` or ``"appliance"``: whose group or subnet.
        direction: Inbound or outbound.
        ports: Exactly the TCP ports not allowed.
        peer_cidr: The other end as a /32.
        purpose: Which flow needs it.
        sentence: The human explanation.
        group_ids: For a security group: every group of the interface that was examined.
        subnet_id: For an ACL: the subnet it guards.
        blocking_entry: For an ACL: the entry that denies (``#90``) or ``*`` for the default.
        return_traffic: For an ACL: True when it is the return path of the connection.
    """

    instance_id: str
    kind: RuleKind
    resource_id: str
    owner: str
    direction: Direction
    ports: PortRange
    peer_cidr: str
    purpose: FlowPurpose
    sentence: str
    group_ids: tuple[str, ...] = ()
    subnet_id: str | None = None
    blocking_entry: str | None = None
    return_traffic: bool = False
    protocol: str = "tcp"

    @property
    def leasable(self) -> bool:
        """True for a security-group rule (ec2asr may add it); ACL entries are never changed."""
        return self.kind is RuleKind.SECURITY_GROUP

    def __str__(self) -> str:
        return self.sentence


@attrs.frozen
class ApplianceNetwork:
    """Where the replication appliance sits in the network.

    Attributes:
        private_ip: The address the sources reach it on.
        instance_id: Its EC2 instance, or None when it is not an EC2 instance ec2asr can see.
        interface_id: The network interface holding ``private_ip``.
        subnet_id: That interface's subnet.
        vpc_id: Its VPC.
        security_groups: The groups attached to that interface, with their rules.
        os_family: The appliance runs Windows Server (its ephemeral ports are 49152-65535).
        name: Its Name tag.
    """

    private_ip: str
    instance_id: str | None = None
    interface_id: str | None = None
    subnet_id: str | None = None
    vpc_id: str | None = None
    security_groups: tuple[SecurityGroup, ...] = ()
    os_family: OsFamily = OsFamily.WINDOWS
    name: str | None = None

    @property
    def in_ec2(self) -> bool:
        """True when the appliance's interface was found in EC2 (its groups can be checked)."""
        return self.interface_id is not None

    @property
    def security_group_ids(self) -> tuple[str, ...]:
        """The ids of the groups on the appliance's interface."""
        return tuple(g.group_id for g in self.security_groups)

    @property
    def cidr(self) -> str:
        """The appliance's address as a /32."""
        return f"{self.private_ip}/32"

    @property
    def display_name(self) -> str:
        """``name (ip)`` or the IP."""
        return f"{self.name} ({self.private_ip})" if self.name else self.private_ip


@attrs.frozen
class MachineConnectivity:
    """The verdict for one source machine.

    Attributes:
        instance_id: The machine.
        name: Its Name tag.
        private_ip: The address checked (primary IP of the primary interface).
        flows: Every flow checked.
        missing: Every missing rule; empty when every path is open.
        notes: What could not be checked and why.
    """

    instance_id: str
    name: str | None
    private_ip: str | None
    flows: tuple[Flow, ...] = ()
    missing: tuple[MissingRule, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is missing."""
        return not self.missing

    def missing_for(self, purpose: FlowPurpose) -> tuple[MissingRule, ...]:
        """The missing rules one purpose needs."""
        return tuple(m for m in self.missing if m.purpose is purpose)

    def is_open(self, purpose: FlowPurpose) -> bool:
        """True when every flow of ``purpose`` is allowed."""
        return not self.missing_for(purpose)

    @property
    def display_name(self) -> str:
        """``Name (i-...)`` or the id."""
        return f"{self.name} ({self.instance_id})" if self.name else self.instance_id

    def to_text(self) -> str:
        """Several lines: the verdict, each missing rule, each note."""
        head = f"{self.display_name} {self.private_ip or 'no private IP'}: "
        head += "all required paths are open" if self.ok else f"{len(self.missing)} rule(s) missing"
        lines = [head, *(f"  - {m}" for m in self.missing), *(f"  note: {n}" for n in self.notes)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


@attrs.frozen
class ConnectivityReport:
    """The verdict for every machine against one appliance.

    Attributes:
        appliance: The appliance checked against.
        machines: One entry per machine, in the order given.
        push: True when push-install paths were checked too.
        nacls_checked: True when network ACLs were evaluated.
    """

    appliance: ApplianceNetwork
    machines: tuple[MachineConnectivity, ...]
    push: bool = False
    nacls_checked: bool = True

    @property
    def ok(self) -> bool:
        """True when no machine misses a rule."""
        return all(m.ok for m in self.machines)

    @property
    def blocked(self) -> tuple[MachineConnectivity, ...]:
        """The machines that miss at least one rule."""
        return tuple(m for m in self.machines if not m.ok)

    @property
    def missing_rules(self) -> tuple[MissingRule, ...]:
        """Every missing rule of every machine."""
        return tuple(r for m in self.machines for r in m.missing)

    def __getitem__(self, instance_id: str) -> MachineConnectivity:
        for machine in self.machines:
            if machine.instance_id == instance_id:
                return machine
        raise KeyError(instance_id)

    def __iter__(self) -> Iterator[MachineConnectivity]:
        return iter(self.machines)

    def __len__(self) -> int:
        return len(self.machines)

    def to_text(self) -> str:
        """A readable report: a summary line, then every machine."""
        what = "replication and push-install" if self.push else "replication"
        head = (
            f"Connectivity ({what}) to the appliance {self.appliance.display_name}: "
            f"{len(self.machines) - len(self.blocked)} of {len(self.machines)} machines open"
        )
        if not self.nacls_checked:
            head += " (network ACLs not checked)"
        return "\n".join([head, *(m.to_text() for m in self.machines)])

    def __str__(self) -> str:
        return self.to_text()
