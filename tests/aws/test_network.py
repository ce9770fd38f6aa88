"""Pure connectivity evaluation: security groups (CIDR, references, ports, protocols) and ACLs."""

from __future__ import annotations

from typing import Any

import pytest

from ec2asr.aws.network import (
    ApplianceNetwork,
    Direction,
    FlowPurpose,
    NetworkAcl,
    NetworkAclEntry,
    PortRange,
    RuleKind,
    evaluate_connectivity,
)
from ec2asr.errors import InvalidInputError
from ec2asr.models import NetworkInterface, SecurityGroup, SecurityGroupRule
from tests.factories import make_machine

APPLIANCE_IP = "10.0.0.10"
SOURCE_IP = "10.0.16.5"
SRC_SUBNET = "subnet-00000000000000001"
APP_SUBNET = "subnet-00000000000000002"
SRC_SG = "sg-0000000000000000a"
SRC_SG2 = "sg-0000000000000000b"
APP_SG = "sg-0000000000000000f"
ALL = SecurityGroupRule("-1", None, None, cidrs=("0.0.0.0/0",))


def tcp(first: int, last: int | None = None, *, cidr: str | None = None, group: str | None = None):
    return SecurityGroupRule(
        "tcp",
        first,
        first if last is None else last,
        cidrs=(cidr,) if cidr else (),
        group_ids=(group,) if group else (),
    )


def sg(group_id: str, *, ingress=(), egress=(ALL,)) -> SecurityGroup:
    return SecurityGroup(group_id, group_id, "vpc-1", tuple(ingress), tuple(egress))


def appliance(*groups: SecurityGroup, subnet: str = APP_SUBNET) -> ApplianceNetwork:
    return ApplianceNetwork(
        private_ip=APPLIANCE_IP,
        instance_id="i-0aaaaaaaaaaaaaaaa",
        interface_id="eni-0aaaaaaaaaaaaaaaa",
        subnet_id=subnet,
        vpc_id="vpc-1",
        security_groups=groups,
        name="asr-appliance-01",
    )


OPEN_APPLIANCE = sg(APP_SG, ingress=[tcp(443, cidr="10.0.0.0/16"), tcp(9443, cidr="10.0.0.0/16")])


def source(
    *groups: SecurityGroup, distribution: str = "windows", subnet: str = SRC_SUBNET, **kw: Any
):
    return make_machine(
        instance_id=kw.pop("instance_id", "i-0bbbbbbbbbbbbbbbb"),
        name=kw.pop("name", "web-01"),
        distribution=distribution,
        version="2019" if distribution == "windows" else "8.6",
        network_interfaces=(
            NetworkInterface(
                interface_id="eni-0bbbbbbbbbbbbbbbb",
                subnet_id=subnet,
                vpc_id="vpc-1",
                private_ips=(SOURCE_IP,),
                security_group_ids=tuple(g.group_id for g in groups),
            ),
        ),
        security_groups=groups,
        **kw,
    )


def summary(report) -> set[tuple[str, str, str, str, str]]:
    return {
        (m.kind.value, m.resource_id, m.direction.value, str(m.ports), m.peer_cidr)
        for m in report.missing_rules
    }


# -- replication ------------------------------------------------------------------------------


def test_everything_open_reports_nothing_missing() -> None:
    report = evaluate_connectivity([source(sg(SRC_SG))], appliance(OPEN_APPLIANCE))
    assert report.ok
    assert report.machines[0].ok
    assert [str(f.ports) for f in report.machines[0].flows] == ["443", "9443"]
    assert "1 of 1 machines open" in report.to_text()


def test_source_egress_restricted_to_443_misses_exactly_9443() -> None:
    restricted = sg(SRC_SG, egress=[tcp(443, cidr="0.0.0.0/0")])
    report = evaluate_connectivity([source(restricted)], appliance(OPEN_APPLIANCE))
    (missing,) = report.missing_rules
    assert (missing.kind, missing.resource_id, missing.direction) == (
        RuleKind.SECURITY_GROUP,
        SRC_SG,
        Direction.EGRESS,
    )
    assert missing.ports == PortRange.single(9443)
    assert missing.peer_cidr == f"{APPLIANCE_IP}/32"
    assert missing.owner == "source"
    assert missing.purpose is FlowPurpose.REPLICATION
    assert missing.leasable
    assert "outbound TCP 9443 to the appliance asr-appliance-01 10.0.0.10/32" in str(missing)


def test_appliance_ingress_missing_names_the_source_as_peer() -> None:
    closed = sg(APP_SG, ingress=[tcp(443, cidr="10.0.0.0/16")])
    report = evaluate_connectivity([source(sg(SRC_SG))], appliance(closed))
    assert summary(report) == {
        ("security-group", APP_SG, "inbound", "9443", f"{SOURCE_IP}/32"),
    }
    assert report.missing_rules[0].owner == "appliance"


def test_cidr_containment_is_exact() -> None:
    # 10.0.0.0/28 holds .0-.15 (the appliance .10); 10.0.0.16/28 does not.
    inside = sg(SRC_SG, egress=[tcp(443, cidr="10.0.0.0/28"), tcp(9443, cidr="10.0.0.16/28")])
    report = evaluate_connectivity([source(inside)], appliance(OPEN_APPLIANCE))
    assert summary(report) == {("security-group", SRC_SG, "outbound", "9443", "10.0.0.10/32")}


def test_host_cidr_of_the_peer_counts() -> None:
    exact = sg(SRC_SG, egress=[tcp(443, cidr="10.0.0.10/32"), tcp(9443, cidr="10.0.0.10/32")])
    assert evaluate_connectivity([source(exact)], appliance(OPEN_APPLIANCE)).ok


def test_security_group_reference_to_the_peers_group_counts() -> None:
    by_reference = sg(SRC_SG, egress=[tcp(443, group=APP_SG), tcp(9443, group=APP_SG)])
    app = sg(APP_SG, ingress=[tcp(443, group=SRC_SG), tcp(9443, group=SRC_SG)])
    assert evaluate_connectivity([source(by_reference)], appliance(app)).ok


def test_reference_to_an_unrelated_group_does_not_count() -> None:
    other = sg(SRC_SG, egress=[tcp(443, 9443, group="sg-0000000000000dead")])
    report = evaluate_connectivity([source(other)], appliance(OPEN_APPLIANCE))
    assert {str(m.ports) for m in report.missing_rules} == {"443", "9443"}


def test_protocol_all_admits_every_port() -> None:
    app = sg(APP_SG, ingress=[SecurityGroupRule("-1", None, None, cidrs=("10.0.16.0/20",))])
    assert evaluate_connectivity([source(sg(SRC_SG))], appliance(app)).ok


def test_udp_rules_do_not_admit_tcp() -> None:
    app = sg(APP_SG, ingress=[SecurityGroupRule("udp", 0, 65535, cidrs=("0.0.0.0/0",))])
    report = evaluate_connectivity([source(sg(SRC_SG))], appliance(app))
    assert {str(m.ports) for m in report.missing_rules} == {"443", "9443"}


def test_port_range_rule_covers_inner_port_and_numeric_protocol() -> None:
    app = sg(APP_SG, ingress=[SecurityGroupRule("6", 400, 10000, cidrs=("10.0.0.0/8",))])
    assert evaluate_connectivity([source(sg(SRC_SG))], appliance(app)).ok


def test_rules_are_unioned_across_every_group_of_the_interface() -> None:
    first = sg(SRC_SG, egress=[tcp(443, cidr="0.0.0.0/0")])
    second = sg(SRC_SG2, egress=[tcp(9443, cidr="10.0.0.0/16")])
    assert evaluate_connectivity([source(first, second)], appliance(OPEN_APPLIANCE)).ok


def test_missing_rule_belongs_on_the_first_group_of_the_interface() -> None:
    first = sg(SRC_SG, egress=[])
    second = sg(SRC_SG2, egress=[])
    report = evaluate_connectivity([source(first, second)], appliance(OPEN_APPLIANCE))
    assert {m.resource_id for m in report.missing_rules} == {SRC_SG}
    assert report.missing_rules[0].group_ids == (SRC_SG, SRC_SG2)


def test_prefix_list_rules_are_noted_not_trusted() -> None:
    pl_rule = SecurityGroupRule("tcp", 443, 9443, prefix_list_ids=("pl-0123",))
    report = evaluate_connectivity(
        [source(sg(SRC_SG, egress=[pl_rule]))], appliance(OPEN_APPLIANCE)
    )
    assert len(report.missing_rules) == 2
    assert any("pl-0123" in n for n in report.machines[0].notes)


def test_unreadable_group_is_noted() -> None:
    machine = make_machine(
        network_interfaces=source(sg(SRC_SG)).network_interfaces, security_groups=()
    )
    report = evaluate_connectivity([machine], appliance(OPEN_APPLIANCE))
    assert any("could not be read" in n for n in report.machines[0].notes)
    assert {m.direction for m in report.missing_rules} == {Direction.EGRESS}


def test_fresh_security_groups_override_the_machines_copies() -> None:
    stale = sg(SRC_SG, egress=[])
    fresh = sg(SRC_SG)
    report = evaluate_connectivity(
        [source(stale)], appliance(OPEN_APPLIANCE), security_groups={SRC_SG: fresh}
    )
    assert report.ok


def test_appliance_outside_ec2_checks_the_source_side_only() -> None:
    outside = ApplianceNetwork(private_ip="192.168.10.4")
    restricted = sg(SRC_SG, egress=[tcp(443, cidr="192.168.0.0/16")])
    report = evaluate_connectivity([source(restricted)], outside, push=True)
    assert summary(report) == {
        ("security-group", SRC_SG, "outbound", "9443", "192.168.10.4/32"),
        ("security-group", SRC_SG, "inbound", "445", "192.168.10.4/32"),
        ("security-group", SRC_SG, "inbound", "135", "192.168.10.4/32"),
        ("security-group", SRC_SG, "inbound", "49152-65535", "192.168.10.4/32"),
    }
    assert any("not an EC2 interface" in n for n in report.machines[0].notes)


def test_machine_without_private_ip_is_reported_not_crashed() -> None:
    machine = make_machine(network_interfaces=())
    report = evaluate_connectivity([machine], appliance(OPEN_APPLIANCE))
    assert report.machines[0].private_ip is None
    assert report.machines[0].notes


# -- push install ------------------------------------------------------------------------------


def test_push_windows_needs_445_135_and_dynamic_rpc_from_the_appliance() -> None:
    report = evaluate_connectivity([source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), push=True)
    machine = report.machines[0]
    assert machine.is_open(FlowPurpose.REPLICATION)
    assert not machine.is_open(FlowPurpose.PUSH_INSTALL)
    assert summary(report) == {
        ("security-group", SRC_SG, "inbound", "445", "10.0.0.10/32"),
        ("security-group", SRC_SG, "inbound", "135", "10.0.0.10/32"),
        ("security-group", SRC_SG, "inbound", "49152-65535", "10.0.0.10/32"),
    }


def test_push_linux_needs_ssh_only() -> None:
    report = evaluate_connectivity(
        [source(sg(SRC_SG), distribution="rhel")], appliance(OPEN_APPLIANCE), push=True
    )
    assert summary(report) == {("security-group", SRC_SG, "inbound", "22", "10.0.0.10/32")}


def test_push_partially_covered_range_reports_only_the_gap() -> None:
    partial = sg(
        SRC_SG,
        ingress=[
            tcp(445, cidr=f"{APPLIANCE_IP}/32"),
            tcp(135, group=APP_SG),
            tcp(49152, 60000, cidr="10.0.0.0/24"),
        ],
    )
    report = evaluate_connectivity([source(partial)], appliance(OPEN_APPLIANCE), push=True)
    assert summary(report) == {("security-group", SRC_SG, "inbound", "60001-65535", "10.0.0.10/32")}


def test_push_needs_appliance_egress_too() -> None:
    app = sg(APP_SG, ingress=OPEN_APPLIANCE.ingress, egress=[tcp(443, cidr="0.0.0.0/0")])
    open_source = sg(SRC_SG, ingress=[tcp(22, cidr="10.0.0.0/16")])
    report = evaluate_connectivity(
        [source(open_source, distribution="ubuntu")], appliance(app), push=True
    )
    assert summary(report) == {("security-group", APP_SG, "outbound", "22", f"{SOURCE_IP}/32")}


def test_push_with_unknown_os_is_noted() -> None:
    machine = source(sg(SRC_SG), distribution="windows")
    unknown = make_machine(
        distribution=None,
        network_interfaces=machine.network_interfaces,
        security_groups=machine.security_groups,
    )
    report = evaluate_connectivity([unknown], appliance(OPEN_APPLIANCE), push=True)
    assert report.ok
    assert any("OS family is unknown" in n for n in report.machines[0].notes)


# -- network ACLs ------------------------------------------------------------------------------


def entry(
    number: int,
    *,
    egress: bool,
    allow: bool = True,
    cidr: str = "0.0.0.0/0",
    ports=None,
    protocol="6",
):
    return NetworkAclEntry(
        number, egress, protocol, allow, cidr, None if ports is None else PortRange(*ports)
    )


def acl(acl_id: str, subnet: str, *entries: NetworkAclEntry) -> NetworkAcl:
    return NetworkAcl(acl_id, "vpc-1", (subnet,), entries)


def default_entries() -> tuple[NetworkAclEntry, ...]:
    return (
        entry(100, egress=True, protocol="-1"),
        entry(32767, egress=True, allow=False, protocol="-1"),
        entry(100, egress=False, protocol="-1"),
        entry(32767, egress=False, allow=False, protocol="-1"),
    )


def acls(source_acl: NetworkAcl) -> dict[str, NetworkAcl]:
    return {SRC_SUBNET: source_acl, APP_SUBNET: acl("acl-app", APP_SUBNET, *default_entries())}


def test_default_acls_allow_everything() -> None:
    report = evaluate_connectivity(
        [source(sg(SRC_SG))],
        appliance(OPEN_APPLIANCE),
        network_acls=acls(acl("acl-src", SRC_SUBNET, *default_entries())),
    )
    assert report.ok
    assert report.nacls_checked


def test_acl_deny_before_allow_wins_and_names_the_entry() -> None:
    src = acl(
        "acl-src",
        SRC_SUBNET,
        entry(90, egress=True, allow=False, cidr="10.0.0.0/24", ports=(9443, 9443)),
        *default_entries(),
    )
    report = evaluate_connectivity(
        [source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    (missing,) = report.missing_rules
    assert (missing.kind, missing.resource_id, missing.direction, str(missing.ports)) == (
        RuleKind.NETWORK_ACL,
        "acl-src",
        Direction.EGRESS,
        "9443",
    )
    assert missing.blocking_entry == "#90"
    assert not missing.leasable
    assert "entry #90" in str(missing)


def test_acl_allow_before_deny_wins() -> None:
    src = acl(
        "acl-src",
        SRC_SUBNET,
        entry(80, egress=True, cidr="10.0.0.10/32", ports=(443, 9443)),
        entry(90, egress=True, allow=False, cidr="10.0.0.0/24", protocol="-1"),
        *default_entries(),
    )
    report = evaluate_connectivity(
        [source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    assert report.ok


def test_acl_without_return_path_to_ephemeral_ports_is_reported() -> None:
    # Inbound only allows 1024-50000: a Windows source's replies arrive on 49152-65535.
    src = acl(
        "acl-src",
        SRC_SUBNET,
        entry(100, egress=True, protocol="-1"),
        entry(100, egress=False, ports=(1024, 50000)),
    )
    report = evaluate_connectivity(
        [source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    gaps = {(str(m.ports), m.return_traffic, m.blocking_entry) for m in report.missing_rules}
    # Each replication flow (443 and 9443) needs the same return range.
    assert gaps == {("50001-65535", True, "*")}
    assert all(m.direction is Direction.INGRESS for m in report.missing_rules)
    assert len(report.missing_rules) == 2


def test_acl_ephemeral_range_depends_on_the_initiators_os() -> None:
    src = acl(
        "acl-src",
        SRC_SUBNET,
        entry(100, egress=True, protocol="-1"),
        entry(100, egress=False, ports=(32768, 60999)),
    )
    linux = evaluate_connectivity(
        [source(sg(SRC_SG), distribution="rhel")], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    assert linux.ok
    windows = evaluate_connectivity(
        [source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    assert {str(m.ports) for m in windows.missing_rules} == {"61000-65535"}


def test_acl_push_return_traffic_goes_to_the_appliances_ephemeral_ports() -> None:
    src = acl(
        "acl-src",
        SRC_SUBNET,
        entry(100, egress=True, ports=(443, 9443)),
        entry(110, egress=True, ports=(32768, 60999)),
        entry(100, egress=False, protocol="-1"),
    )
    report = evaluate_connectivity(
        [source(sg(SRC_SG, ingress=[tcp(22, cidr="10.0.0.0/16")]), distribution="rhel")],
        appliance(OPEN_APPLIANCE),
        push=True,
        network_acls=acls(src),
    )
    # The appliance (Windows) receives its SSH replies on 49152-65535: 61000-65535 are closed.
    assert [(str(m.ports), m.direction, m.return_traffic) for m in report.missing_rules] == [
        ("61000-65535", Direction.EGRESS, True)
    ]
    assert report.missing_rules[0].purpose is FlowPurpose.PUSH_INSTALL


def test_same_subnet_traffic_does_not_cross_the_acl() -> None:
    deny_all = acl("acl-src", SRC_SUBNET, entry(1, egress=True, allow=False, protocol="-1"))
    report = evaluate_connectivity(
        [source(sg(SRC_SG), subnet=APP_SUBNET)],
        appliance(OPEN_APPLIANCE),
        network_acls={APP_SUBNET: deny_all},
    )
    assert report.ok


def test_unread_acl_is_noted() -> None:
    report = evaluate_connectivity([source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls={})
    assert report.ok
    assert any("network ACL" in n for n in report.machines[0].notes)


def test_ipv6_and_udp_acl_entries_are_ignored() -> None:
    src = acl(
        "acl-src",
        SRC_SUBNET,
        NetworkAclEntry(1, True, "-1", False, None),
        entry(2, egress=True, allow=False, protocol="17"),
        *default_entries(),
    )
    report = evaluate_connectivity(
        [source(sg(SRC_SG))], appliance(OPEN_APPLIANCE), network_acls=acls(src)
    )
    assert report.ok


def test_network_acl_from_boto_sorts_entries_and_reads_ports() -> None:
    raw = {
        "NetworkAclId": "acl-1",
        "VpcId": "vpc-1",
        "IsDefault": False,
        "Associations": [{"SubnetId": "subnet-a"}, {"SubnetId": "subnet-b"}],
        "Entries": [
            {
                "RuleNumber": 200,
                "Egress": False,
                "Protocol": "-1",
                "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0",
            },
            {
                "RuleNumber": 10,
                "Egress": False,
                "Protocol": "6",
                "RuleAction": "deny",
                "CidrBlock": "10.0.0.10/32",
                "PortRange": {"From": 22, "To": 22},
            },
            {
                "RuleNumber": 20,
                "Egress": False,
                "Protocol": "-1",
                "RuleAction": "allow",
                "Ipv6CidrBlock": "::/0",
            },
        ],
    }
    parsed = NetworkAcl.from_boto(raw)
    assert [e.rule_number for e in parsed.entries] == [10, 20, 200]
    assert parsed.entries[0].ports == PortRange(22, 22)
    assert parsed.entries[1].cidr is None
    assert parsed.subnet_ids == ("subnet-a", "subnet-b")


# -- value types -------------------------------------------------------------------------------


def test_port_range_validation_and_text() -> None:
    assert str(PortRange(49152, 65535)) == "49152-65535"
    assert str(PortRange.single(22)) == "22"
    assert 50000 in PortRange(49152, 65535)
    with pytest.raises(InvalidInputError):
        PortRange(10, 5)
    with pytest.raises(InvalidInputError):
        PortRange(0, 70000)


def test_report_lookup_and_text() -> None:
    machines = [
        source(sg(SRC_SG), instance_id="i-0000000000000000a", name="a"),
        source(sg(SRC_SG2, egress=[]), instance_id="i-0000000000000000b", name="b"),
    ]
    report = evaluate_connectivity(machines, appliance(OPEN_APPLIANCE))
    assert [m.instance_id for m in report.blocked] == ["i-0000000000000000b"]
    assert report["i-0000000000000000a"].ok
    with pytest.raises(KeyError):
        report["i-0000000000000000c"]
    text = str(report)
    assert "1 of 2 machines open" in text
    assert "b (i-0000000000000000b) 10.0.16.5: 2 rule(s) missing" in text
