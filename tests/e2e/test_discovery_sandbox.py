"""Ec2Discovery end to end against the moto server of the sandbox (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from ec2asr import EvidenceSource, InstancesNotFoundError, OsFamily, SourceMachine
from ec2asr.aws import Ec2Discovery
from ec2asr.testing import Sandbox, SeededFleet
from ec2asr.testing._moto import load_catalogue
from ec2asr.testing.profiles import profile as fleet_profile

pytestmark = pytest.mark.e2e

CallCounter = Any  # the counter fixtures of tests/e2e/conftest.py

W, L = OsFamily.WINDOWS, OsFamily.LINUX

# profile: family, distribution, version, architecture, virtualization, boot mode, state,
#          instance-store disks, kernel, AMI still described, secure boot, SG name, volume types
# fmt: off
EXPECTED: dict[str, tuple[Any, ...]] = {
    "win2012r2": (W, "windows", "2012 R2", "x86_64", "hvm", "legacy-bios", "running", 0, None,
                  True, None, "app-tier", ("gp2", "gp2")),
    "win2016": (W, "windows", "2016", "x86_64", "hvm", "legacy-bios", "running", 0, None, True,
                None, "web-tier", ("gp3", "gp3")),
    "win2019-sql": (W, "windows", "2019", "x86_64", "hvm", "legacy-bios", "running", 0, None,
                    True, None, "db-tier", ("gp3", "io1", "io1")),
    "win2022": (W, "windows", "2022", "x86_64", "hvm", "legacy-bios", "running", 0, None, True,
                None, "app-tier", ("gp3",)),
    "win2008r2-redhat-pv": (W, "windows", "2008 R2 SP1", "x86_64", "hvm", "legacy-bios",
                            "running", 0, None, True, None, "app-tier", ("gp2", "gp2")),
    "win2008r2-citrix-pv": (W, "windows", "2008 R2 SP1", "x86_64", "hvm", "legacy-bios",
                            "running", 0, None, True, None, "app-tier", ("gp2", "st1")),
    "win2008r2-unknown-pv": (W, "windows", "2008 R2 SP1", "x86_64", "hvm", "legacy-bios",
                             "running", 0, None, True, None, "app-tier", ("gp2",)),
    "rhel67": (L, "rhel", "6.7", "x86_64", "hvm", "legacy-bios", "running", 0, None, True, None,
               "db-tier", ("gp2", "io1")),
    "rhel8": (L, "rhel", "8.6", "x86_64", "hvm", "legacy-bios", "running", 0, None, True, None,
              "api-restricted", ("gp3", "gp3")),
    "ubuntu2004": (L, "ubuntu", "20.04", "x86_64", "hvm", "legacy-bios", "running", 0,
                   "linux-aws", True, None, "web-tier", ("gp2",)),
    "amzn2": (L, "amazon", "2", "x86_64", "hvm", "legacy-bios", "running", 0, None, True, None,
              "linux-ops", ("gp2", "sc1")),
    "graviton": (L, "ubuntu", "22.04", "arm64", "hvm", "uefi", "running", 0, "linux-aws", True,
                 None, "app-tier", ("gp3",)),
    "pv-linux": (L, "sles", "11 SP4", "x86_64", "paravirtual", "legacy-bios", "running", 0, None,
                 True, None, "linux-ops", ("standard",)),
    "instance-store": (L, "centos", "7", "x86_64", "hvm", "legacy-bios", "running", 1, None,
                       True, None, "linux-ops", ("gp2",)),
    "stopped": (L, "oracle", "8.6", "x86_64", "hvm", "legacy-bios", "stopped", 0, None, True,
                None, "app-tier", ("gp3", "gp3")),
    "uefi": (W, "windows", "2022", "x86_64", "hvm", "uefi", "running", 0, None, True, False,
             "web-tier", ("gp3",)),
    "debian11-uefi": (L, "debian", "11", "x86_64", "hvm", "uefi", "running", 0, None, True, None,
                      "linux-ops", ("gp3", "gp3")),
    "golden-image": (W, "windows", "2016", "x86_64", "hvm", "legacy-bios", "running", 0, None,
                     False, None, "web-tier", ("gp3",)),
}
# fmt: on


@pytest.fixture(scope="module")
def machines(sandbox: Sandbox, fleet: SeededFleet) -> dict[str, SourceMachine]:
    found = Ec2Discovery(sandbox.ec2_session).discover(vpc_id=fleet.vpc_id)
    by_id = {m.instance_id: m for m in found}
    return {seeded.profile: by_id[seeded.instance_id] for seeded in fleet}


def discovery(sandbox: Sandbox, counter: CallCounter | None = None) -> Ec2Discovery:
    ec2 = sandbox.ec2_session.client("ec2")
    ssm = sandbox.ec2_session.client("ssm")
    if counter is not None:
        counter.attach(ec2)
        counter.attach(ssm)
    return Ec2Discovery(ec2_client=ec2, ssm_client=ssm)


def test_the_default_fleet_covers_every_expected_profile(fleet: SeededFleet) -> None:
    assert sorted(i.profile for i in fleet) == sorted(EXPECTED)


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_every_profile_is_discovered_with_the_right_facts(
    machines: dict[str, SourceMachine], fleet: SeededFleet, profile: str
) -> None:
    machine = machines[profile]
    seeded = fleet.instance(profile)
    (
        family,
        distribution,
        version,
        arch,
        virt,
        boot,
        state,
        stores,
        kernel,
        found,
        secure_boot,
        group,
        volume_types,
    ) = EXPECTED[profile]
    assert (machine.os.family, machine.os.distribution, machine.os.version) == (
        family,
        distribution,
        version,
    )
    assert machine.name == seeded.name
    assert machine.private_ip == seeded.private_ip
    assert machine.vpc_id == fleet.vpc_id
    assert (machine.architecture, machine.virtualization_type) == (arch, virt)
    assert (machine.boot_mode, machine.state) == (boot, state)
    assert len(machine.instance_store) == stores
    assert machine.os.kernel == kernel
    assert machine.image.found is found
    assert machine.image.image_id == seeded.image_id
    assert machine.secure_boot is secure_boot
    assert [g.name for g in machine.security_groups] == [group]
    assert tuple(v.volume_type for v in machine.volumes) == volume_types
    assert machine.volumes[0].is_root
    assert machine.volumes[0].device_name == machine.root_device_name
    assert machine.instance_type.name == fleet_profile(profile).instance_type
    assert machine.instance_type.known
    assert machine.instance_type.vcpus > 0
    assert machine.tags["Application"]
    assert not machine.ssm.available


def test_every_fact_names_its_evidence(machines: dict[str, SourceMachine]) -> None:
    for profile, machine in machines.items():
        for field in ("family", "distribution", "name", "version"):
            assert machine.os.evidence_for(field), (profile, field)
        assert machine.boot_mode_evidence is not None
        assert machine.boot_mode_evidence.field == "boot_mode"
        (ssm,) = machine.os.evidence_for("ssm")
        assert "NotImplemented" in ssm.detail
        expected = EvidenceSource.PLATFORM if machine.is_windows else EvidenceSource.AMI_NAME
        if machine.tags.get("ec2asr:os"):
            expected = EvidenceSource.TAG
        assert machine.os.evidence_for("family")[0].source is expected, profile


def test_evidence_details_for_the_tricky_profiles(machines: dict[str, SourceMachine]) -> None:
    golden = machines["golden-image"]
    assert golden.os.evidence_for("version")[0].source is EvidenceSource.TAG
    assert golden.boot_mode_evidence is not None
    assert golden.boot_mode_evidence.source is EvidenceSource.UNKNOWN
    redhat = machines["win2008r2-redhat-pv"]
    assert "Red Hat PV drivers" in (redhat.image.description or "")
    assert "Citrix PV" in (machines["win2008r2-citrix-pv"].image.description or "")
    ubuntu = machines["ubuntu2004"]
    assert ubuntu.os.evidence_for("kernel")[0].source is EvidenceSource.AMI_NAME
    assert ubuntu.image.owner_id == "099720109477"
    uefi = machines["uefi"]
    assert uefi.boot_mode_evidence is not None
    assert "AMI" in uefi.boot_mode_evidence.detail
    assert uefi.secure_boot_evidence is not None
    assert uefi.secure_boot_evidence.source is EvidenceSource.TAG
    store = machines["instance-store"].instance_store[0]
    assert (store.size_gb, store.disk_type) == (150, "ssd")
    sql = machines["win2019-sql"]
    assert [(v.size_gib, v.iops, v.encrypted) for v in sql.data_volumes] == [
        (500, 5000, True),
        (200, 3000, True),
    ]


def test_one_call_per_describe_and_ssm_answers_once(
    sandbox: Sandbox, fleet: SeededFleet, counter: CallCounter
) -> None:
    machines = discovery(sandbox, counter).discover()
    assert len(machines) == len(fleet) + 1  # and the appliance
    assert machines == sorted(machines, key=lambda m: m.instance_id)
    assert dict(counter.calls) == {
        "DescribeInstances": 1,
        "DescribeImages": 1,
        "DescribeVolumes": 1,
        "DescribeInstanceTypes": 1,
        "DescribeSecurityGroups": 1,
        "DescribeInstanceInformation": 1,
    }
    # moto lacks DescribeInstanceInformation; the sandbox answers 501, which is not retried.
    assert counter.attempts["DescribeInstanceInformation"] == 1


def test_select_by_instance_ids(sandbox: Sandbox, fleet: SeededFleet) -> None:
    wanted = fleet.instance_ids[:3]
    found = Ec2Discovery(sandbox.ec2_session).discover(instance_ids=wanted)
    assert [m.instance_id for m in found] == sorted(wanted)


def test_unknown_instance_ids_are_listed_exactly(sandbox: Sandbox, fleet: SeededFleet) -> None:
    missing = ["i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"]
    with pytest.raises(InstancesNotFoundError) as caught:
        Ec2Discovery(sandbox.ec2_session).discover(
            instance_ids=[fleet.instance("win2016").instance_id, *missing]
        )
    assert caught.value.missing_ids == tuple(missing)
    assert "us-east-1" in str(caught.value)


@pytest.mark.parametrize(
    ("tags", "names"),
    [
        ({"Application": "storefront"}, ["sql-01", "web-01"]),
        ({"Application": ["erp", "identity"]}, ["dc-01", "erp-01", "oradb-01"]),
        ({"ec2asr:secure-boot": None}, ["rdgw-01"]),
        ({"Name": "legacy-*"}, ["legacy-mon-01"]),
        ({"Name": "sql-0?", "Environment": "prod"}, ["sql-01"]),
        ({"Application": "storefront", "Name": "dc-01"}, []),
    ],
)
def test_select_by_tags(
    sandbox: Sandbox, fleet: SeededFleet, tags: dict[str, Any], names: list[str]
) -> None:
    found = Ec2Discovery(sandbox.ec2_session).discover(tags=tags, vpc_id=fleet.vpc_id)
    assert sorted(m.name or "" for m in found) == names


def test_select_by_vpc_and_private_ip(sandbox: Sandbox, fleet: SeededFleet) -> None:
    discovery = Ec2Discovery(sandbox.ec2_session)
    default_vpc = sandbox.ec2_session.client("ec2").describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}]
    )["Vpcs"][0]["VpcId"]
    assert discovery.discover(vpc_id=default_vpc) == []
    rhel = fleet.instance("rhel8")
    found = discovery.discover(private_ips=[fleet.appliance.private_ip, rhel.private_ip])
    assert sorted(m.instance_id for m in found) == sorted(
        [fleet.appliance.instance_id, rhel.instance_id]
    )


def test_selectors_combine_and_ids_filtered_out_are_not_missing(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    web, dc = fleet.instance("win2016"), fleet.instance("win2022")
    found = Ec2Discovery(sandbox.ec2_session).discover(
        instance_ids=[web.instance_id, dc.instance_id],
        tags={"Application": "storefront"},
        private_ips=[web.private_ip, dc.private_ip],
        vpc_id=fleet.vpc_id,
    )
    assert [m.instance_id for m in found] == [web.instance_id]


def test_os_override_beats_everything(sandbox: Sandbox, fleet: SeededFleet) -> None:
    rhel = fleet.instance("rhel8")
    (machine,) = Ec2Discovery(sandbox.ec2_session).discover(
        instance_ids=[rhel.instance_id], os_overrides={rhel.instance_id: "Rocky Linux 8.6"}
    )
    assert (machine.os.distribution, machine.os.version) == ("rocky", "8.6")
    assert machine.os.evidence_for("distribution")[0].source is EvidenceSource.OVERRIDE


def test_ssm_inventory_is_used_when_systems_manager_answers(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    sql, api = fleet.instance("win2019-sql"), fleet.instance("rhel8")
    ssm = sandbox.ec2_session.client("ssm")
    with Stubber(ssm) as stubber:
        stubber.add_response(
            "describe_instance_information",
            {
                "InstanceInformationList": [
                    {
                        "InstanceId": sql.instance_id,
                        "PingStatus": "Online",
                        "PlatformType": "Windows",
                        "PlatformName": "Microsoft Windows Server 2019 Datacenter",
                        "PlatformVersion": "10.0.17763",
                        "AgentVersion": "3.2.582.0",
                    },
                    {
                        "InstanceId": api.instance_id,
                        "PingStatus": "ConnectionLost",
                        "PlatformType": "Linux",
                        "PlatformName": "Red Hat Enterprise Linux",
                        "PlatformVersion": "8.8",
                    },
                ]
            },
            {
                "Filters": [
                    {
                        "Key": "InstanceIds",
                        "Values": sorted([sql.instance_id, api.instance_id, fleet.instance_ids[0]]),
                    }
                ],
                "MaxResults": 50,
            },
        )
        found = Ec2Discovery(ec2_client=sandbox.ec2_session.client("ec2"), ssm_client=ssm).discover(
            instance_ids=[sql.instance_id, api.instance_id, fleet.instance_ids[0]]
        )
    by_id = {m.instance_id: m for m in found}
    windows, linux = by_id[sql.instance_id], by_id[api.instance_id]
    assert windows.ssm.managed
    assert windows.ssm.ping_status == "Online"
    assert windows.os.evidence_for("family")[0].source is EvidenceSource.SSM_INVENTORY
    assert linux.os.version == "8.8"
    assert linux.os.evidence_for("version")[0].source is EvidenceSource.SSM_INVENTORY
    other = by_id[fleet.instance_ids[0]]
    assert other.ssm.available
    assert not other.ssm.managed
    assert "not reported by Systems Manager" in other.os.evidence_for("ssm")[0].detail


def test_ssm_refused_still_discovers(sandbox: Sandbox, fleet: SeededFleet) -> None:
    ssm = sandbox.ec2_session.client("ssm")
    with Stubber(ssm) as stubber:
        stubber.add_client_error(
            "describe_instance_information",
            service_error_code="AccessDeniedException",
            http_status_code=400,
        )
        (machine,) = Ec2Discovery(
            ec2_client=sandbox.ec2_session.client("ec2"), ssm_client=ssm
        ).discover(instance_ids=[fleet.instance("rhel8").instance_id])
    assert machine.ssm.available is False
    assert machine.ssm.reason is not None
    assert "not authorised" in machine.ssm.reason
    assert "ssm:DescribeInstanceInformation" in machine.os.evidence_for("ssm")[0].detail
    assert machine.os.version == "8.6"


def test_ssm_unreachable_or_absent_still_discovers(sandbox: Sandbox, fleet: SeededFleet) -> None:
    ssm = sandbox.ec2_session.client("ssm")

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com/")

    ssm.meta.events.register("before-call.ssm.DescribeInstanceInformation", unreachable)
    one = [fleet.instance("win2016").instance_id]
    ec2 = sandbox.ec2_session.client("ec2")
    (machine,) = Ec2Discovery(ec2_client=ec2, ssm_client=ssm).discover(instance_ids=one)
    assert machine.ssm.reason is not None
    assert "Could not connect" in machine.ssm.reason
    (without,) = Ec2Discovery(ec2_client=ec2).discover(instance_ids=one)
    assert without.ssm.reason is not None
    assert "no SSM client" in without.ssm.reason


def test_terminated_instances_are_excluded_and_count_as_missing() -> None:
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["rhel8", "win2016"])
        gone = fleet.instance("rhel8").instance_id
        sandbox.ec2_session.client("ec2").terminate_instances(InstanceIds=[gone])
        discovery = Ec2Discovery(sandbox.ec2_session)
        found = {m.instance_id for m in discovery.discover()}
        assert gone not in found
        assert fleet.instance("win2016").instance_id in found
        with pytest.raises(InstancesNotFoundError) as caught:
            discovery.discover(instance_ids=[gone])
        assert caught.value.missing_ids == (gone,)


def test_pages_are_followed(counter: CallCounter) -> None:
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet(n=30)
        ec2 = counter.attach(sandbox.ec2_session.client("ec2"))
        reservations = len(ec2.describe_instances()["Reservations"])
        counter.calls.clear()
        paged = Ec2Discovery(ec2_client=ec2, page_size=5).discover()
        assert counter.calls["DescribeInstances"] == math.ceil(reservations / 5) > 1
        whole = Ec2Discovery(sandbox.ec2_session).discover()
        assert [m.instance_id for m in paged] == [m.instance_id for m in whole]
        assert len(paged) == len(fleet) + 1


def test_calls_do_not_grow_with_the_number_of_instances(new_counter: Any) -> None:
    """300 instances on 20 AMIs take no more calls than 30 instances on the same 20 AMIs."""
    amis = load_catalogue()[:20]
    with Sandbox() as sandbox:
        ec2 = sandbox.ec2_session.client("ec2")
        for group, per_ami in (("small", [2] * 10 + [1] * 10), ("large", [15] * 20)):
            for ami, count in zip(amis, per_ami, strict=True):
                ec2.run_instances(
                    ImageId=ami["ami_id"],
                    InstanceType="m5.large",
                    MinCount=count,
                    MaxCount=count,
                    TagSpecifications=[
                        {"ResourceType": "instance", "Tags": [{"Key": "group", "Value": group}]}
                    ],
                )
        totals = {}
        large: list[str] = []
        for group, size in (("small", 30), ("large", 300)):
            counter = new_counter()
            machines = discovery(sandbox, counter).discover(tags={"group": group})
            assert len(machines) == size
            assert len({m.image.image_id for m in machines}) == 20
            totals[group] = counter.total
            large = [m.instance_id for m in machines]
        assert totals["small"] == 6
        assert totals["large"] <= totals["small"]
        # 300 ids are more than one filter holds: still one DescribeInstances, ids all found.
        counter = new_counter()
        by_id = discovery(sandbox, counter).discover(instance_ids=large)
        assert [m.instance_id for m in by_id] == sorted(large)
        assert counter.total == totals["large"]


def test_ssm_refusing_unmanaged_ids_falls_back_to_a_sweep(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    api = fleet.instance("rhel8").instance_id
    ssm = sandbox.ec2_session.client("ssm")
    with Stubber(ssm) as stubber:
        stubber.add_client_error(
            "describe_instance_information",
            service_error_code="InvalidInstanceId",
            http_status_code=400,
        )
        stubber.add_response(
            "describe_instance_information",
            {
                "InstanceInformationList": [
                    {"InstanceId": api, "PlatformType": "Linux", "PlatformName": "Ubuntu"},
                    {"InstanceId": "i-0cccccccccccccccc", "PlatformType": "Windows"},
                ]
            },
            {"Filters": [{"Key": "ResourceType", "Values": ["EC2Instance"]}], "MaxResults": 50},
        )
        (machine,) = Ec2Discovery(
            ec2_client=sandbox.ec2_session.client("ec2"), ssm_client=ssm
        ).discover(instance_ids=[api])
    assert machine.ssm.managed
    # The agent's report outranks the AMI name (RHEL), so the OS is what SSM says.
    assert machine.os.distribution == "ubuntu"
    assert machine.os.evidence_for("distribution")[0].source is EvidenceSource.SSM_INVENTORY


def test_the_migration_wave_tag_selects_the_fleet_but_not_the_appliance(
    sandbox: Sandbox, fleet: SeededFleet
) -> None:
    found = Ec2Discovery(sandbox.ec2_session).discover(tags={"MigrationWave": "wave-1"})
    assert sorted(m.instance_id for m in found) == sorted(fleet.instance_ids)
