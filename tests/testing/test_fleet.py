"""Seeding: the network, the appliance, the fleet's profiles and mixes."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator

import pytest

from ec2asr import InvalidInputError, SecurityGroup
from ec2asr.testing import (
    DEFAULT_PROFILE_KEYS,
    NOT_READY,
    PROFILES,
    READY,
    READY_WITH_WARNINGS,
    Sandbox,
    SeededFleet,
)
from ec2asr.testing._moto import load_catalogue
from ec2asr.testing.fleet import allocate

pytestmark = pytest.mark.e2e

PUSH_INSTALL_PORTS = (135, 445, 49152, 65535, 22)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as started:
        yield started


@pytest.fixture(scope="module")
def fleet(sandbox: Sandbox) -> SeededFleet:
    return sandbox.seed_fleet()


def groups(sandbox: Sandbox, fleet: SeededFleet) -> dict[str, SecurityGroup]:
    raw = sandbox.ec2_session.client("ec2").describe_security_groups(
        GroupIds=list(fleet.security_groups.values())
    )["SecurityGroups"]
    by_id = {g["GroupId"]: SecurityGroup.from_boto(g) for g in raw}
    return {tier: by_id[gid] for tier, gid in fleet.security_groups.items()}


def admits(rules: tuple[object, ...], ip: str, port: int, group_id: str | None = None) -> bool:
    for rule in rules:
        assert hasattr(rule, "covers_port")
        if not rule.covers_port("tcp", port):
            continue
        if any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in rule.cidrs):
            return True
        if group_id is not None and group_id in rule.group_ids:
            return True
    return False


def test_default_fleet_covers_every_verdict_once_per_profile(fleet: SeededFleet) -> None:
    assert [i.profile for i in fleet] == list(DEFAULT_PROFILE_KEYS)
    assert set(fleet.expected_verdicts.values()) == {READY, READY_WITH_WARNINGS, NOT_READY}
    by_key = {p.key: p for p in PROFILES}
    for seeded in fleet:
        assert seeded.expected_verdict == by_key[seeded.profile].verdict
        assert seeded.subnet_id in fleet.subnet_ids
    names = [i.name for i in fleet]
    assert len(set(names)) == len(names)
    assert {"web-01", "sql-01", "dc-01"} <= set(names)


def test_the_instances_are_what_the_fleet_says(sandbox: Sandbox, fleet: SeededFleet) -> None:
    ec2 = sandbox.ec2_session.client("ec2")
    raw = {
        i["InstanceId"]: i
        for r in ec2.describe_instances(InstanceIds=list(fleet.instance_ids))["Reservations"]
        for i in r["Instances"]
    }
    for seeded in fleet:
        instance = raw[seeded.instance_id]
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["Name"] == seeded.name
        assert instance["State"]["Name"] == seeded.state
        assert instance["PrivateIpAddress"] == seeded.private_ip
        assert instance["ImageId"] == seeded.image_id
        assert instance["VpcId"] == fleet.vpc_id
    assert fleet.instance("stopped").state == "stopped"


def test_the_appliance_is_a_windows_x86_instance_with_its_own_group(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    appliance = fleet.appliance
    (reservation,) = sandbox.ec2_session.client("ec2").describe_instances(
        InstanceIds=[appliance.instance_id]
    )["Reservations"]
    instance = reservation["Instances"][0]
    assert instance["Platform"] == "windows"
    assert instance["Architecture"] == "x86_64"
    assert instance["VpcId"] == fleet.vpc_id
    assert instance["PrivateIpAddress"] == appliance.private_ip
    assert [g["GroupId"] for g in instance["NetworkInterfaces"][0]["Groups"]] == [
        appliance.security_group_id
    ]
    assert appliance.security_group_id not in {i.security_group_id for i in fleet}


def test_security_groups_leave_the_work_to_ec2asr(sandbox: Sandbox, fleet: SeededFleet) -> None:
    tiers = groups(sandbox, fleet)
    appliance_ip = fleet.appliance.private_ip
    source_ip = fleet.instance("win2016").private_ip
    for port in (443, 9443):
        assert admits(tiers["appliance"].ingress, source_ip, port)
    for tier, group in tiers.items():
        if tier == "appliance":
            continue
        # No source admits the appliance on push-install ports: ec2asr must add that itself.
        for port in PUSH_INSTALL_PORTS:
            assert not admits(group.ingress, appliance_ip, port, fleet.appliance.security_group_id)
        egress_open = admits(group.egress, appliance_ip, 9443)
        assert egress_open is (tier != "restricted"), tier
        assert admits(group.egress, appliance_ip, 443)


def test_seeding_is_additive_and_names_stay_unique() -> None:
    with Sandbox() as sandbox:
        first = sandbox.seed_fleet(profiles=["win2016", "golden-image"])
        second = sandbox.seed_fleet(profiles=["win2016", "golden-image"])
        assert (first.vpc_id, first.appliance) == (second.vpc_id, second.appliance)
        assert [i.name for i in second] == ["web-02", "iis-02"]
        ec2 = sandbox.ec2_session.client("ec2")
        golden = first.instance("golden-image").image_id
        # The golden AMI is deregistered again after each launch from it.
        assert (
            ec2.describe_images(Filters=[{"Name": "image-id", "Values": [golden]}])["Images"] == []
        )
        running = ec2.describe_instances(Filters=[{"Name": "vpc-id", "Values": [first.vpc_id]}])[
            "Reservations"
        ]
        assert sum(len(r["Instances"]) for r in running) == 5


def test_a_mixed_fleet_uses_every_profile_and_about_twenty_amis() -> None:
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet(n=60)
        assert len(fleet) == 60
        counts = Counter(i.profile for i in fleet)
        assert set(counts) == {p.key for p in PROFILES}
        assert counts["ubuntu2004"] > counts["pv-linux"]
        assert 20 <= len({i.image_id for i in fleet}) <= len(load_catalogue())
        assert len(set(fleet.instance_ids)) == 60


@pytest.mark.parametrize("n", [1, 5, 24, 25, 1000, 1001])
def test_allocate_sums_to_n_and_gives_each_profile_one_when_it_can(n: int) -> None:
    weights = [p.weight for p in PROFILES]
    counts = allocate(n, weights)
    assert sum(counts) == n
    assert all(c >= 0 for c in counts)
    if n >= len(weights):
        assert min(counts) >= 1
    assert counts == allocate(n, weights)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"n": 0}, "positive"),
        ({"n": -3}, "positive"),
        ({"n": True}, "positive"),
        ({"n": 2.5}, "positive"),
        ({"profiles": ["no-such-profile"]}, "unknown fleet profiles"),
        ({"profiles": []}, "empty"),
    ],
)
def test_bad_seed_arguments(sandbox: Sandbox, kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(InvalidInputError, match=phrase):
        sandbox.seed_fleet(**kwargs)  # type: ignore[arg-type]
