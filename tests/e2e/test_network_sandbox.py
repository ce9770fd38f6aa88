"""Connectivity analysis and security-group leases against moto, through the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ec2asr import Ec2Discovery
from ec2asr.aws.leases import LEASE_DESCRIPTION_PREFIX, SecurityGroupLeases
from ec2asr.aws.network import (
    Direction,
    FlowPurpose,
    NetworkInspector,
    RuleKind,
    analyze_fleet,
)
from ec2asr.errors import ConnectivityError
from ec2asr.migration.journal import Journal
from ec2asr.mobility.base import ApplianceEndpoint
from ec2asr.models import SourceMachine
from ec2asr.testing import Sandbox, SeededFleet

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # Leases change security groups: this module has its own sandbox, and every test leaves
    # the groups as it found them (checked by the `ec2` fixture).
    with Sandbox() as started:
        yield started


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet()


@pytest.fixture(scope="module")
def machines(sandbox: Sandbox, fleet: SeededFleet) -> list[SourceMachine]:
    return Ec2Discovery(ec2_client=sandbox.ec2_session.client("ec2")).discover(
        instance_ids=fleet.instance_ids
    )


def rule_snapshot(ec2: Any, group_ids: list[str]) -> set[tuple[Any, ...]]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": group_ids}])
    return {
        (
            r["GroupId"],
            r["IsEgress"],
            r["IpProtocol"],
            r.get("FromPort"),
            r.get("ToPort"),
            r.get("CidrIpv4"),
            (r.get("ReferencedGroupInfo") or {}).get("GroupId"),
            r.get("Description"),
        )
        for r in rules["SecurityGroupRules"]
    }


@pytest.fixture
def ec2(sandbox: Sandbox, fleet: SeededFleet) -> Iterator[Any]:
    client = sandbox.ec2_session.client("ec2")
    groups = sorted(fleet.security_groups.values())
    before = rule_snapshot(client, groups)
    yield client
    assert rule_snapshot(client, groups) == before, "a test left security-group rules behind"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "migration.sqlite") as opened:
        yield opened


def leased_rules(ec2: Any, fleet: SeededFleet) -> list[dict[str, Any]]:
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": sorted(fleet.security_groups.values())}]
    )["SecurityGroupRules"]
    return [r for r in rules if (r.get("Description") or "").startswith(LEASE_DESCRIPTION_PREFIX)]


def test_seeded_fleet_analysis_names_exactly_the_closed_paths(
    ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], counter: Any
) -> None:
    report = NetworkInspector(counter.attach(ec2)).analyze(
        machines, fleet.appliance.private_ip, push=True
    )
    assert report.appliance.instance_id == fleet.appliance.instance_id
    assert report.appliance.security_group_ids == (fleet.appliance.security_group_id,)
    # Batched: one call each, however many machines.
    assert counter.calls == {
        "DescribeNetworkInterfaces": 1,
        "DescribeSecurityGroups": 1,
        "DescribeNetworkAcls": 1,
    }
    restricted = fleet.instance("rhel8")
    for seeded in fleet:
        result = report[seeded.instance_id]
        replication = {
            (m.resource_id, m.direction, str(m.ports))
            for m in result.missing_for(FlowPurpose.REPLICATION)
        }
        if seeded is restricted:
            # api-restricted allows egress on 443 only.
            assert replication == {(seeded.security_group_id, Direction.EGRESS, "9443")}
        else:
            assert replication == set(), seeded.profile
        push = {
            (m.kind, m.resource_id, str(m.ports))
            for m in result.missing_for(FlowPurpose.PUSH_INSTALL)
        }
        machine = next(m for m in machines if m.instance_id == seeded.instance_id)
        if machine.os.family.value == "windows":
            expected = {"445", "135", "49152-65535"}
        elif machine.os.family.value == "linux":
            expected = {"22"}
        else:
            expected = set()
        assert {p for _, _, p in push} == expected, seeded.profile
        assert {k for k, _, _ in push} <= {RuleKind.SECURITY_GROUP}
        assert all(m.peer_cidr == "10.0.0.10/32" for m in result.missing)


def test_leases_add_each_missing_rule_once_scoped_to_the_appliance(
    ec2: Any,
    sandbox: Sandbox,
    fleet: SeededFleet,
    machines: list[SourceMachine],
    journal: Journal,
    new_counter: Any,
) -> None:
    inspector = NetworkInspector(ec2)
    report = inspector.analyze(machines, fleet.appliance.private_ip, push=True)
    counter = new_counter()
    leases = SecurityGroupLeases(
        counter.attach(sandbox.ec2_session.client("ec2")), journal, namespace="t1"
    )
    try:
        outcome = leases.acquire(report)
        assert outcome.ok
        rules = leased_rules(ec2, fleet)
        wanted = {
            (
                m.resource_id,
                m.direction is Direction.EGRESS,
                m.ports.first,
                m.ports.last,
                m.peer_cidr,
            )
            for m in report.missing_rules
        }
        got = [
            (r["GroupId"], r["IsEgress"], r["FromPort"], r["ToPort"], r["CidrIpv4"]) for r in rules
        ]
        assert sorted(got) == sorted(wanted)  # exactly the missing rules, each once
        assert all(r["IpProtocol"] == "tcp" and r["CidrIpv4"] == "10.0.0.10/32" for r in rules)
        # One authorize call per group and direction, not per machine.
        groups_directions = {(g, egress) for g, egress, *_ in wanted}
        authorizes = (
            counter.calls["AuthorizeSecurityGroupIngress"]
            + counter.calls["AuthorizeSecurityGroupEgress"]
        )
        assert authorizes == len(groups_directions)
        # The journal knows every lease, active, with every machine that needs it.
        records = {r.lease_id: r for r in journal.leases()}
        assert {r.state for r in records.values()} == {"active"}
        for rule in rules:
            lease_id = rule["Description"][len(LEASE_DESCRIPTION_PREFIX) :]
            assert records[lease_id].resource_id == rule["GroupId"]
        app_tier = [r for r in records.values() if r.resource_id == fleet.security_groups["app"]]
        assert app_tier
        assert all(len(r.holders) > 1 for r in app_tier)  # a shared group: one lease, many holders
        # Every path is now open (OS-known machines).
        after = inspector.analyze(machines, fleet.appliance.private_ip, push=True)
        assert after.missing_rules == ()
        # Acquiring again changes nothing in EC2.
        counter.calls.clear()
        again = leases.acquire(report)
        assert again.ok
        assert counter.calls["AuthorizeSecurityGroupIngress"] == 0
        assert len(leased_rules(ec2, fleet)) == len(rules)
    finally:
        revoked = leases.revoke_all()
    assert len(revoked) == len(journal.leases())
    assert leased_rules(ec2, fleet) == []
    assert {r.state for r in journal.leases()} == {"revoked"}


def test_release_revokes_a_shared_lease_only_after_its_last_holder(
    ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    windows_app = [
        m
        for m in machines
        if m.security_group_ids == (fleet.security_groups["app"],) and m.is_windows
    ][:2]
    assert len(windows_app) == 2
    report = NetworkInspector(ec2).analyze(windows_app, fleet.appliance.private_ip, push=True)
    leases = SecurityGroupLeases(ec2, journal, namespace="t2")
    try:
        leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
        assert len(leased_rules(ec2, fleet)) == 3  # 445, 135, 49152-65535 once for both
        first, second = (m.instance_id for m in windows_app)
        assert leases.release(first) == ()
        assert len(leased_rules(ec2, fleet)) == 3
        revoked = leases.release(second)
        assert len(revoked) == 3
        assert leased_rules(ec2, fleet) == []
    finally:
        leases.revoke_all()


def test_existing_identical_rule_is_not_leased_and_never_removed(
    ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    rhel8 = [m for m in machines if m.instance_id == fleet.instance("rhel8").instance_id]
    report = NetworkInspector(ec2).analyze(rhel8, fleet.appliance.private_ip)
    (missing,) = report.missing_rules
    group = fleet.security_groups["restricted"]
    foreign = {
        "IpProtocol": "tcp",
        "FromPort": 9443,
        "ToPort": 9443,
        "IpRanges": [{"CidrIp": "10.0.0.10/32", "Description": "added by the network team"}],
    }
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[foreign])
    leases = SecurityGroupLeases(ec2, journal, namespace="t3")
    try:
        outcome = leases.acquire([missing])  # from the stale report: the rule exists now
        assert outcome.ok
        assert len(outcome.satisfied_elsewhere) == 1
        assert [r.state for r in journal.leases()] == ["revoked"]
        leases.revoke_all()
        leases.reconcile(finished=[rhel8[0].instance_id])
        remaining = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group]}]
        )["SecurityGroupRules"]
        assert any(r.get("Description") == "added by the network team" for r in remaining)
    finally:
        ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[foreign])


class CrashAfterAws(Exception):
    pass


class CrashingJournal:
    """Lets the AWS call happen, then 'crashes' before the lease is marked active."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)

    def set_lease_state(self, lease_id: str, state: str) -> Any:
        raise CrashAfterAws(lease_id)


def test_reconcile_settles_both_sides_of_a_crash(
    ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    rhel8 = [m for m in machines if m.instance_id == fleet.instance("rhel8").instance_id]
    report = NetworkInspector(ec2).analyze(rhel8, fleet.appliance.private_ip)
    holder = rhel8[0].instance_id
    # Crash 1: the rule was added in EC2, the journal still says "requested".
    crashing = SecurityGroupLeases(ec2, CrashingJournal(journal), namespace="t4")  # type: ignore[arg-type]
    with pytest.raises(CrashAfterAws):
        crashing.acquire(report)
    assert [r.state for r in journal.leases()] == ["requested"]
    assert len(leased_rules(ec2, fleet)) == 1
    # Crash 2: journaled, never sent.
    journal.record_lease(
        "sgl-neversent000000",
        fleet.security_groups["db"],
        {
            "group_id": fleet.security_groups["db"],
            "direction": "inbound",
            "protocol": "tcp",
            "from_port": 445,
            "to_port": 445,
            "cidr": "10.0.0.10/32",
            "purpose": "push install",
        },
        holder="i-0123456789abcdef0",
    )
    resumed = SecurityGroupLeases(ec2, journal, namespace="t4")
    settled = resumed.reconcile()
    assert settled.never_made == ("sgl-neversent000000",)
    assert len(settled.activated) == 1
    assert settled.revoked == ()
    assert len(leased_rules(ec2, fleet)) == 1  # still held by an unfinished machine
    done = resumed.reconcile(finished=[holder])
    assert done.revoked == settled.activated
    assert leased_rules(ec2, fleet) == []
    assert {r.state for r in journal.leases()} == {"revoked"}


def test_acls_are_reported_and_never_changed(
    sandbox: Sandbox, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    ec2 = sandbox.ec2_session.client("ec2")
    seeded = fleet.instance("rhel8")
    acl_id = ec2.create_network_acl(VpcId=fleet.vpc_id)["NetworkAcl"]["NetworkAclId"]
    for egress in (True, False):
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id,
            RuleNumber=100,
            Protocol="-1",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="0.0.0.0/0",
        )
    ec2.create_network_acl_entry(
        NetworkAclId=acl_id,
        RuleNumber=50,
        Protocol="6",
        RuleAction="deny",
        Egress=True,
        CidrBlock="10.0.0.0/24",
        PortRange={"From": 443, "To": 443},
    )
    current = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [seeded.subnet_id]}]
    )["NetworkAcls"][0]
    association = next(a for a in current["Associations"] if a["SubnetId"] == seeded.subnet_id)
    new_association = ec2.replace_network_acl_association(
        AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl_id
    )["NewAssociationId"]
    try:
        report = NetworkInspector(ec2).analyze(
            [m for m in machines if m.instance_id == seeded.instance_id], fleet.appliance.private_ip
        )
        acl_rules = [m for m in report.missing_rules if m.kind is RuleKind.NETWORK_ACL]
        assert [
            (m.resource_id, m.direction, str(m.ports), m.blocking_entry) for m in acl_rules
        ] == [(acl_id, Direction.EGRESS, "443", "#50")]
        leases = SecurityGroupLeases(ec2, journal, namespace="t5")
        outcome = leases.acquire(acl_rules)
        assert outcome.leases == {}
        assert journal.leases() == []
        machine = next(m for m in machines if m.instance_id == seeded.instance_id)
        with pytest.raises(ConnectivityError, match="network ACL") as raised:
            leases.lease_egress(machine, fleet.appliance.private_ip)
        assert raised.value.instance_id == seeded.instance_id
        leases.revoke_all()  # the security-group half (9443) was leased meanwhile
        entries = ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"][0]["Entries"]
        assert len(entries) == 3
    finally:
        ec2.replace_network_acl_association(
            AssociationId=new_association, NetworkAclId=current["NetworkAclId"]
        )


# -- AWS refusing or not answering --------------------------------------------------------------


def inject(client: Any, operation: str, *, code: str | None = None, exc: Exception | None = None):
    """Make one operation of this client fail (botocore short-circuits on a returned response)."""

    def handler(**_: Any) -> Any:
        if exc is not None:
            raise exc
        return (
            SimpleNamespace(status_code=400, headers={}),
            {
                "Error": {"Code": code, "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
        )

    event = f"before-call.ec2.{operation}"
    client.meta.events.register(event, handler)
    return lambda: client.meta.events.unregister(event, handler)


def windows_app_report(ec2: Any, fleet: SeededFleet, machines: list[SourceMachine]) -> Any:
    windows_app = [
        m
        for m in machines
        if m.security_group_ids == (fleet.security_groups["app"],) and m.is_windows
    ]
    return windows_app, NetworkInspector(ec2).analyze(
        windows_app, fleet.appliance.private_ip, push=True
    )


def test_refused_rule_fails_every_holder_and_is_not_left_requested(
    sandbox: Sandbox, ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    windows_app, report = windows_app_report(ec2, fleet, machines)
    client = sandbox.ec2_session.client("ec2")
    undo = inject(
        client, "AuthorizeSecurityGroupIngress", code="RulesPerSecurityGroupLimitExceeded"
    )
    leases = SecurityGroupLeases(client, journal, namespace="t6")
    try:
        outcome = leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
    finally:
        undo()
    assert not outcome.ok
    assert set(outcome.errors) == {m.instance_id for m in windows_app}
    error = next(iter(outcome.errors.values()))
    assert error.code == "RulesPerSecurityGroupLimitExceeded"
    assert "ec2:AuthorizeSecurityGroupIngress" in str(error)
    assert {r.state for r in journal.leases()} == {"revoked"}
    assert outcome.leases == {}
    assert leased_rules(ec2, fleet) == []


def test_no_answer_leaves_the_lease_requested_until_reconcile(
    sandbox: Sandbox, ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    from botocore.exceptions import EndpointConnectionError

    _, report = windows_app_report(ec2, fleet, machines)
    client = sandbox.ec2_session.client("ec2")
    undo = inject(
        client,
        "AuthorizeSecurityGroupIngress",
        exc=EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com"),
    )
    leases = SecurityGroupLeases(client, journal, namespace="t7")
    try:
        outcome = leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
    finally:
        undo()
    assert not outcome.ok
    assert {r.state for r in journal.leases()} == {"requested"}
    settled = leases.reconcile()
    assert len(settled.never_made) == 3
    assert {r.state for r in journal.leases()} == {"revoked"}
    # Acquiring again (the connection is back) makes them.
    again = leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
    assert again.ok
    assert len(leased_rules(ec2, fleet)) == 3
    leases.revoke_all()


def test_a_refused_revoke_keeps_the_lease_for_a_retry(
    sandbox: Sandbox, ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    from ec2asr.errors import AwsPermissionError

    _, report = windows_app_report(ec2, fleet, machines)
    client = sandbox.ec2_session.client("ec2")
    leases = SecurityGroupLeases(client, journal, namespace="t8")
    leases.acquire(report, purposes=[FlowPurpose.PUSH_INSTALL])
    undo = inject(client, "RevokeSecurityGroupIngress", code="UnauthorizedOperation")
    try:
        with pytest.raises(AwsPermissionError, match="ec2:RevokeSecurityGroupIngress"):
            leases.revoke_all()
    finally:
        undo()
    assert {r.state for r in journal.leases()} == {"active"}
    assert len(leased_rules(ec2, fleet)) == 3
    assert len(leases.revoke_all()) == 3
    assert leased_rules(ec2, fleet) == []


def test_fleet_shortcuts_for_the_facade(
    ec2: Any, fleet: SeededFleet, machines: list[SourceMachine], journal: Journal
) -> None:
    endpoint = ApplianceEndpoint(fleet.appliance.private_ip, name=fleet.appliance.name)
    sentences = analyze_fleet(ec2, machines, endpoint)
    restricted = fleet.instance("rhel8").instance_id
    assert set(sentences) == {m.instance_id for m in machines}
    assert len(sentences[restricted]) == 1
    assert "outbound TCP 9443" in sentences[restricted][0]
    assert all(not v for k, v in sentences.items() if k != restricted)
    machine = next(m for m in machines if m.instance_id == restricted)
    leases = SecurityGroupLeases(ec2, journal, namespace="t9")
    try:
        (lease_id,) = leases.lease_egress(machine, endpoint)
        assert leases.lease_egress(machine, endpoint) == (lease_id,)
        (rule,) = leased_rules(ec2, fleet)
        assert (rule["IsEgress"], rule["FromPort"], rule["CidrIpv4"]) == (
            True,
            9443,
            "10.0.0.10/32",
        )
        assert analyze_fleet(ec2, [machine], endpoint) == {restricted: []}
        assert [lease.lease_id for lease in leases.release(restricted)] == [lease_id]
        assert leased_rules(ec2, fleet) == []
    finally:
        leases.revoke_all()
