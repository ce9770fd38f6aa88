"""Lease specs: exactly one /32, deterministic ids, the journal round trip."""

from __future__ import annotations

import pytest

from ec2asr.aws.leases import LEASE_DESCRIPTION_PREFIX, Lease, LeaseSpec
from ec2asr.aws.network import Direction, FlowPurpose, MissingRule, PortRange, RuleKind
from ec2asr.errors import InvalidInputError
from ec2asr.migration.journal import LeaseRecord


def spec(**kw) -> LeaseSpec:
    args = {
        "group_id": "sg-0123456789abcdef0",
        "direction": Direction.INGRESS,
        "ports": PortRange(49152, 65535),
        "cidr": "10.0.0.10/32",
        "purpose": FlowPurpose.PUSH_INSTALL,
    }
    args.update(kw)
    return LeaseSpec(**args)


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/24", "0.0.0.0/0", "10.0.0.10/31", "not-an-ip", "::1/128"]
)
def test_only_single_hosts_are_leased(cidr: str) -> None:
    with pytest.raises(InvalidInputError):
        spec(cidr=cidr)


def test_a_group_id_is_required() -> None:
    with pytest.raises(InvalidInputError):
        spec(group_id="acl-0123")


def test_lease_ids_are_deterministic_and_namespaced() -> None:
    assert spec().lease_id("wave-1") == spec().lease_id("wave-1")
    assert spec().lease_id("wave-1") != spec().lease_id("wave-2")
    assert spec().lease_id("wave-1") != spec(ports=PortRange.single(445)).lease_id("wave-1")
    assert spec().lease_id("w").startswith("sgl-")


def test_permission_carries_exact_ports_cidr_and_description() -> None:
    lease_id = spec().lease_id("w")
    assert spec().permission(lease_id) == {
        "IpProtocol": "tcp",
        "FromPort": 49152,
        "ToPort": 65535,
        "IpRanges": [
            {"CidrIp": "10.0.0.10/32", "Description": LEASE_DESCRIPTION_PREFIX + lease_id}
        ],
    }


def test_journal_round_trip() -> None:
    original = spec(direction=Direction.EGRESS, ports=PortRange.single(9443))
    lease_id = original.lease_id("w")
    record = LeaseRecord(
        lease_id, original.group_id, original.to_journal(lease_id), ("i-1", "i-2"), "active"
    )
    lease = Lease.from_record(record)
    assert lease.spec == original
    assert lease.description == f"ec2asr lease {lease_id}"
    assert (
        str(lease) == f"{lease_id}: outbound TCP 9443 to 10.0.0.10/32 on sg-0123456789abcdef0 "
        "(active; held by i-1, i-2)"
    )


def test_acl_entries_cannot_be_leased() -> None:
    missing = MissingRule(
        instance_id="i-1",
        kind=RuleKind.NETWORK_ACL,
        resource_id="acl-1",
        owner="source",
        direction=Direction.INGRESS,
        ports=PortRange.single(22),
        peer_cidr="10.0.0.10/32",
        purpose=FlowPurpose.PUSH_INSTALL,
        sentence="x",
    )
    with pytest.raises(InvalidInputError, match="never changed"):
        LeaseSpec.from_missing(missing)
