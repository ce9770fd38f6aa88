"""Which network paths between source machines and the replication appliance are closed.

:func:`evaluate_connectivity` is pure: it reads security groups and network ACLs that were
already fetched (see :class:`~ec2asr.aws.network.NetworkInspector`) and answers, per machine,
exactly which rule is missing for each required TCP flow:

* replication (always): source -> appliance TCP 443 and TCP 9443;
* push install (``push=True``): appliance -> source TCP 445, 135 and 49152-65535 on Windows,
  TCP 22 on Linux.

For every flow the initiator's security groups must allow it outbound and the responder's
inbound (a CIDR containing the peer's private IP, or a reference to a security group attached
to the peer's interface). When both ends sit in different subnets, their network ACLs must
allow the flow both ways, including the return traffic to the initiator's ephemeral ports
(ACLs are stateless).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ec2asr.aws._netrules import (
    NetworkAcl,
    PortRange,
    acl_denials,
    prefix_list_hits,
    uncovered_ports,
)
from ec2asr.aws._paths import Direction, Endpoint, Flow, FlowPurpose, RuleKind, required_flows
from ec2asr.aws.netresult import (
    ApplianceNetwork,
    ConnectivityReport,
    MachineConnectivity,
    MissingRule,
)
from ec2asr.models import SecurityGroup, SourceMachine

__all__ = [
    "ApplianceNetwork",
    "ConnectivityReport",
    "Direction",
    "Flow",
    "FlowPurpose",
    "MachineConnectivity",
    "MissingRule",
    "RuleKind",
    "evaluate_connectivity",
]


def _sg_sentence(
    end: Endpoint, direction: Direction, ports: PortRange, peer: Endpoint, purpose: FlowPurpose
) -> str:
    way = "from" if direction is Direction.INGRESS else "to"
    groups = ", ".join(end.group_ids) or "none"
    return (
        f"no security group of {end.label} ({groups}) allows {direction} TCP {ports} {way} "
        f"{peer.label} {peer.cidr} ({purpose}); the rule belongs on {end.lease_group or 'a group'}"
    )


def _check_groups(
    machine_id: str,
    flow: Flow,
    end: Endpoint,
    peer: Endpoint,
    direction: Direction,
    groups: Mapping[str, SecurityGroup],
) -> tuple[list[MissingRule], list[str]]:
    resolved = [groups[g] for g in end.group_ids if g in groups]
    notes = [f"security group {g} of {end.label} could not be read" for g in end.group_ids]
    notes = [n for g, n in zip(end.group_ids, notes, strict=True) if g not in groups]
    rules = [
        rule
        for group in resolved
        for rule in (group.ingress if direction is Direction.INGRESS else group.egress)
    ]
    gaps = uncovered_ports(rules, flow.ports, peer_ip=peer.ip, peer_group_ids=peer.group_ids)
    missing = [
        MissingRule(
            instance_id=machine_id,
            kind=RuleKind.SECURITY_GROUP,
            resource_id=end.lease_group or "",
            owner=end.role,
            direction=direction,
            ports=gap,
            peer_cidr=peer.cidr,
            purpose=flow.purpose,
            sentence=_sg_sentence(end, direction, gap, peer, flow.purpose),
            group_ids=end.group_ids,
        )
        for gap in gaps
    ]
    for pl in prefix_list_hits(rules, flow.ports) if gaps else ():
        notes.append(
            f"prefix list {pl} on {end.label} may allow {direction} TCP {flow.ports}; "
            "ec2asr does not read prefix lists"
        )
    return missing, notes


def _check_acl(
    machine_id: str,
    flow: Flow,
    end: Endpoint,
    peer: Endpoint,
    *,
    egress: bool,
    ports: PortRange,
    acls: Mapping[str, NetworkAcl],
    return_traffic: bool,
) -> tuple[list[MissingRule], list[str]]:
    if end.subnet_id is None or end.subnet_id not in acls:
        return [], [f"the network ACL of {end.label}'s subnet {end.subnet_id} was not read"]
    acl = acls[end.subnet_id]
    direction = Direction.EGRESS if egress else Direction.INGRESS
    way = "to" if egress else "from"
    missing = []
    for denied, entry in acl_denials(acl, egress=egress, peer_ip=peer.ip, ports=ports):
        label = entry.label if entry is not None else "*"
        why = (
            f"return traffic of {flow.purpose} TCP {flow.ports}"
            if return_traffic
            else (f"{flow.purpose}")
        )
        missing.append(
            MissingRule(
                instance_id=machine_id,
                kind=RuleKind.NETWORK_ACL,
                resource_id=acl.acl_id,
                owner=end.role,
                direction=direction,
                ports=denied,
                peer_cidr=peer.cidr,
                purpose=flow.purpose,
                sentence=(
                    f"network ACL {acl.acl_id} of {end.label}'s subnet {end.subnet_id} denies "
                    f"{direction} TCP {denied} {way} {peer.cidr} (entry {label}; {why})"
                ),
                subnet_id=end.subnet_id,
                blocking_entry=label,
                return_traffic=return_traffic,
            )
        )
    return missing, []


def _check_flow(
    machine_id: str,
    flow: Flow,
    source: Endpoint,
    appliance: Endpoint,
    groups: Mapping[str, SecurityGroup],
    acls: Mapping[str, NetworkAcl] | None,
) -> tuple[list[MissingRule], list[str]]:
    initiator, responder = (source, appliance) if flow.from_source else (appliance, source)
    missing: list[MissingRule] = []
    notes: list[str] = []
    for end, peer, direction in (
        (initiator, responder, Direction.EGRESS),
        (responder, initiator, Direction.INGRESS),
    ):
        if end.checkable:
            found, why = _check_groups(machine_id, flow, end, peer, direction, groups)
            missing += found
            notes += why
    if acls is None or not (initiator.checkable and responder.checkable):
        return missing, notes
    if initiator.subnet_id is not None and initiator.subnet_id == responder.subnet_id:
        return missing, notes  # traffic inside one subnet never crosses its ACL
    ephemeral = initiator.ephemeral_ports
    for end, peer, egress, ports, back in (
        (initiator, responder, True, flow.ports, False),
        (responder, initiator, False, flow.ports, False),
        (responder, initiator, True, ephemeral, True),
        (initiator, responder, False, ephemeral, True),
    ):
        found, why = _check_acl(
            machine_id, flow, end, peer, egress=egress, ports=ports, acls=acls, return_traffic=back
        )
        missing += found
        notes += why
    return missing, notes


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def evaluate_connectivity(
    machines: Sequence[SourceMachine],
    appliance: ApplianceNetwork,
    *,
    push: bool = False,
    security_groups: Mapping[str, SecurityGroup] | None = None,
    network_acls: Mapping[str, NetworkAcl] | None = None,
) -> ConnectivityReport:
    """Report, per machine, which rules the replication (and push-install) paths miss.

    Args:
        machines: The source machines (their primary interface's primary IP is checked).
        appliance: The appliance, with its security groups.
        push: Also check the push-install paths from the appliance to each source.
        security_groups: The current groups by id; defaults to those carried by the machines
            and the appliance. Pass fresh ones after changing rules.
        network_acls: The ACL of each subnet (sources' and appliance's) by subnet id; None to
            skip ACLs.

    Returns:
        One :class:`MachineConnectivity` per machine, in order.
    """
    groups: dict[str, SecurityGroup] = {g.group_id: g for g in appliance.security_groups}
    for machine in machines:
        groups.update({g.group_id: g for g in machine.security_groups})
    groups.update(security_groups or {})
    appliance_end = Endpoint.of_appliance(appliance)
    results = []
    for machine in machines:
        source_end = Endpoint.of_source(machine)
        if source_end is None:
            results.append(
                MachineConnectivity(
                    machine.instance_id,
                    machine.name,
                    None,
                    notes=("the machine has no private IPv4 address: nothing can be checked",),
                )
            )
            continue
        flows, notes = required_flows(machine, source_end, appliance_end, push=push)
        missing: list[MissingRule] = []
        all_notes = list(notes)
        if not appliance.in_ec2:
            all_notes.append(
                f"the appliance {appliance.private_ip} is not an EC2 interface ec2asr can read: "
                "only the source side was checked"
            )
        for flow in flows:
            found, why = _check_flow(
                machine.instance_id, flow, source_end, appliance_end, groups, network_acls
            )
            missing += found
            all_notes += why
        results.append(
            MachineConnectivity(
                instance_id=machine.instance_id,
                name=machine.name,
                private_ip=source_end.ip,
                flows=tuple(flows),
                missing=tuple(missing),
                notes=_unique(all_notes),
            )
        )
    return ConnectivityReport(
        appliance=appliance,
        machines=tuple(results),
        push=push,
        nacls_checked=network_acls is not None,
    )
