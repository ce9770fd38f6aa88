"""SourceMachine assembly from raw boto answers (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ec2asr.aws._machine import (
    boot_mode_of,
    build_machine,
    ebs_volumes,
    ephemeral_devices,
    instance_store_volumes,
    ssm_status_from_boto,
)
from ec2asr.models import (
    EvidenceSource,
    ImageInfo,
    InstanceStoreVolume,
    InstanceTypeInfo,
    OsFamily,
    SecurityGroup,
    SsmStatus,
)

LAUNCH = datetime(2023, 6, 1, tzinfo=timezone.utc)

M5D_RAW: dict[str, Any] = {
    "InstanceType": "m5d.2xlarge",
    "VCpuInfo": {"DefaultVCpus": 8},
    "MemoryInfo": {"SizeInMiB": 32768},
    "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    "SupportedBootModes": ["legacy-bios", "uefi"],
    "InstanceStorageInfo": {
        "TotalSizeInGB": 300,
        "Disks": [{"SizeInGB": 150, "Count": 2, "Type": "ssd"}],
        "NvmeSupport": "required",
    },
}
M3_RAW: dict[str, Any] = {
    "InstanceType": "m3.large",
    "VCpuInfo": {"DefaultVCpus": 2},
    "MemoryInfo": {"SizeInMiB": 7680},
    "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    "SupportedBootModes": ["legacy-bios"],
    "InstanceStorageInfo": {
        "TotalSizeInGB": 32,
        "Disks": [{"SizeInGB": 32, "Count": 1, "Type": "ssd"}],
        "NvmeSupport": "unsupported",
    },
}

SG_RAW = {
    "GroupId": "sg-0123456789abcdef0",
    "GroupName": "app-tier",
    "VpcId": "vpc-0123456789abcdef0",
    "IpPermissions": [
        {
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8090,
            "UserIdGroupPairs": [{"GroupId": "sg-0fedcba9876543210"}],
        }
    ],
    "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
}


def instance(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "InstanceId": "i-0123456789abcdef0",
        "ImageId": "ami-0c4d2f6e8a1b30003",
        "InstanceType": "m5d.2xlarge",
        "State": {"Name": "running"},
        "Architecture": "x86_64",
        "VirtualizationType": "hvm",
        "RootDeviceName": "/dev/sda1",
        "Placement": {"AvailabilityZone": "eu-west-1a"},
        "LaunchTime": LAUNCH,
        "Tags": [{"Key": "Name", "Value": "api-01"}, {"Key": "Env", "Value": "prod"}],
        "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/ssm"},
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvdg", "Ebs": {"VolumeId": "vol-3", "DeleteOnTermination": False}},
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeId": "vol-1", "DeleteOnTermination": True}},
            {"DeviceName": "/dev/xvdf", "Ebs": {"VolumeId": "vol-2", "DeleteOnTermination": False}},
        ],
        "NetworkInterfaces": [
            {
                "NetworkInterfaceId": "eni-2",
                "SubnetId": "subnet-b",
                "VpcId": "vpc-0123456789abcdef0",
                "Attachment": {"DeviceIndex": 1},
                "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.2.7", "Primary": True}],
                "Groups": [{"GroupId": "sg-0123456789abcdef0"}],
            },
            {
                "NetworkInterfaceId": "eni-1",
                "SubnetId": "subnet-a",
                "VpcId": "vpc-0123456789abcdef0",
                "Attachment": {"DeviceIndex": 0},
                "PrivateIpAddresses": [
                    {"PrivateIpAddress": "10.0.1.9", "Primary": False},
                    {"PrivateIpAddress": "10.0.1.5", "Primary": True},
                ],
                "Groups": [{"GroupId": "sg-0123456789abcdef0"}, {"GroupId": "sg-unknown"}],
            },
        ],
    }
    raw.update(overrides)
    return raw


VOLUMES = {
    "vol-1": {
        "VolumeId": "vol-1",
        "Size": 30,
        "VolumeType": "gp3",
        "Iops": 3000,
        "Throughput": 125,
        "Encrypted": True,
    },
    "vol-2": {"VolumeId": "vol-2", "Size": 500, "VolumeType": "io1", "Iops": 5000},
    "vol-3": {"VolumeId": "vol-3", "Size": 1024, "VolumeType": "st1"},
}
IMAGE = ImageInfo(
    image_id="ami-0c4d2f6e8a1b30003",
    name="RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2",
    boot_mode="uefi-preferred",
    architecture="x86_64",
)


def build(raw: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "region": "eu-west-1",
        "image": IMAGE,
        "volumes_by_id": VOLUMES,
        "instance_type": InstanceTypeInfo.from_boto(M5D_RAW),
        "instance_type_raw": M5D_RAW,
        "security_groups": {"sg-0123456789abcdef0": SecurityGroup.from_boto(SG_RAW)},
        "ssm": SsmStatus(available=False, reason="test"),
    }
    args.update(kwargs)
    return build_machine(raw or instance(), **args)


def test_build_machine_joins_every_answer() -> None:
    machine = build()
    assert machine.instance_id == "i-0123456789abcdef0"
    assert machine.name == "api-01"
    assert machine.tags["Env"] == "prod"
    assert machine.region == "eu-west-1"
    assert machine.availability_zone == "eu-west-1a"
    assert machine.instance_type.vcpus == 8
    assert machine.instance_type.memory_gib == 32
    assert machine.launch_time == LAUNCH
    assert machine.iam_instance_profile == "arn:aws:iam::123456789012:instance-profile/ssm"
    assert machine.os.distribution == "rhel"
    # Interfaces ordered by device index; the primary address first.
    assert [e.interface_id for e in machine.network_interfaces] == ["eni-1", "eni-2"]
    assert machine.private_ip == "10.0.1.5"
    assert machine.private_ips == ("10.0.1.5", "10.0.1.9", "10.0.2.7")
    assert machine.subnet_id == "subnet-a"
    # The undescribed group is left out; the described one comes with its rules.
    assert [g.name for g in machine.security_groups] == ["app-tier"]
    assert machine.security_groups[0].ingress[0].group_ids == ("sg-0fedcba9876543210",)
    assert machine.security_groups[0].egress[0].covers_port("tcp", 9443)


def test_volumes_root_first_then_by_device_with_sizes_and_flags() -> None:
    volumes = ebs_volumes(instance(), VOLUMES)
    assert [(v.volume_id, v.device_name, v.is_root) for v in volumes] == [
        ("vol-1", "/dev/sda1", True),
        ("vol-2", "/dev/xvdf", False),
        ("vol-3", "/dev/xvdg", False),
    ]
    root = volumes[0]
    assert (root.size_gib, root.volume_type, root.iops, root.throughput) == (30, "gp3", 3000, 125)
    assert root.encrypted is True
    assert root.delete_on_termination is True
    assert volumes[2].iops is None


def test_a_volume_missing_from_describe_volumes_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    volumes = ebs_volumes(instance(), {k: v for k, v in VOLUMES.items() if k != "vol-2"})
    assert [v.volume_id for v in volumes] == ["vol-1", "vol-3"]
    assert "vol-2" in caplog.text


def test_nvme_instance_store_is_present_without_mappings() -> None:
    machine = build()
    assert machine.instance_store == (
        InstanceStoreVolume(size_gb=150, disk_type="ssd"),
        InstanceStoreVolume(size_gb=150, disk_type="ssd"),
    )


def test_ami_ephemeral_mappings_name_the_instance_store_disks() -> None:
    mappings = [
        {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral1"},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}},
    ]
    machine = build(image_mappings=mappings)
    assert [d.device_name for d in machine.instance_store] == ["/dev/sdb", "/dev/sdc"]


def test_non_nvme_instance_store_exists_only_where_mapped() -> None:
    m3 = InstanceTypeInfo.from_boto(M3_RAW)
    unmapped = build(instance_type=m3, instance_type_raw=M3_RAW)
    assert unmapped.instance_store == ()
    mapped = build(
        instance_type=m3,
        instance_type_raw=M3_RAW,
        image_mappings=[{"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}],
    )
    assert mapped.instance_store == (InstanceStoreVolume(32, "ssd", "/dev/sdb"),)


def test_ephemeral_devices_ignore_nodevice_and_instance_mappings_win() -> None:
    ami = [
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
        {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral1", "NoDevice": ""},
    ]
    launched = [{"DeviceName": "/dev/xvdb", "VirtualName": "ephemeral0"}]
    assert ephemeral_devices(ami, launched) == ("/dev/xvdb",)
    assert ephemeral_devices(None, ()) == ()


def test_unknown_instance_type_counts_each_mapping_as_a_disk_of_unknown_size() -> None:
    volumes = instance_store_volumes(InstanceTypeInfo.unknown("x9.huge"), ["/dev/sdb"])
    assert volumes == (InstanceStoreVolume(0, "ssd", "/dev/sdb"),)


def test_types_without_storage_have_no_instance_store() -> None:
    m5 = InstanceTypeInfo(name="m5.large", vcpus=2, memory_mib=8192)
    assert instance_store_volumes(m5, ["/dev/sdb"]) == ()


@pytest.mark.parametrize(
    ("raw", "image", "arch", "type_modes", "mode", "source", "phrase"),
    [
        (
            {"CurrentInstanceBootMode": "uefi", "BootMode": "uefi-preferred"},
            IMAGE,
            "x86_64",
            (),
            "uefi",
            EvidenceSource.EC2_API,
            "CurrentInstanceBootMode",
        ),
        (
            {"BootMode": "legacy-bios"},
            IMAGE,
            "x86_64",
            (),
            "legacy-bios",
            EvidenceSource.EC2_API,
            "instance BootMode",
        ),
        ({}, IMAGE, "x86_64", ("legacy-bios", "uefi"), "uefi", EvidenceSource.EC2_API, "AMI"),
        ({}, IMAGE, "x86_64", ("legacy-bios",), "legacy-bios", EvidenceSource.EC2_API, "AMI"),
        ({}, IMAGE, "x86_64", (), "uefi-preferred", EvidenceSource.EC2_API, "AMI"),
        ({}, ImageInfo.missing("ami-x"), "arm64", (), "uefi", EvidenceSource.UNKNOWN, "arm64"),
        (
            {},
            ImageInfo.missing("ami-x"),
            "x86_64",
            (),
            "legacy-bios",
            EvidenceSource.UNKNOWN,
            "legacy BIOS",
        ),
    ],
)
def test_boot_mode_precedence(
    raw: dict[str, Any],
    image: ImageInfo,
    arch: str,
    type_modes: tuple[str, ...],
    mode: str,
    source: EvidenceSource,
    phrase: str,
) -> None:
    got, evidence = boot_mode_of(raw, image, architecture=arch, type_boot_modes=type_modes)
    assert got == mode
    assert evidence.source is source
    assert evidence.field == "boot_mode"
    assert phrase in evidence.detail


def test_secure_boot_tag_lands_on_the_machine_with_evidence() -> None:
    raw = instance(Tags=[{"Key": "ec2asr:secure-boot", "Value": "off"}])
    machine = build(raw)
    assert machine.secure_boot is False
    assert machine.secure_boot_evidence is not None
    assert machine.secure_boot_evidence.source is EvidenceSource.TAG
    assert machine.os.evidence_for("secure_boot") == ()
    assert build().secure_boot is None


def test_ssm_information_feeds_the_os() -> None:
    ssm = ssm_status_from_boto(
        {
            "InstanceId": "i-0123456789abcdef0",
            "PingStatus": "Online",
            "PlatformType": "Linux",
            "PlatformName": "Red Hat Enterprise Linux",
            "PlatformVersion": "8.8",
            "AgentVersion": "3.2.582.0",
        }
    )
    assert (ssm.available, ssm.managed, ssm.ping_status) == (True, True, "Online")
    machine = build(ssm=ssm)
    assert machine.os.version == "8.8"
    assert machine.os.evidence_for("version")[0].source is EvidenceSource.SSM_INVENTORY
    assert machine.ssm.agent_version == "3.2.582.0"


def test_os_override_reaches_the_machine() -> None:
    machine = build(os_override="Windows Server 2019")
    assert machine.os.family is OsFamily.WINDOWS
    assert machine.is_windows


def test_minimal_instance_without_optional_fields() -> None:
    raw = {
        "InstanceId": "i-0123456789abcdef1",
        "InstanceType": "t3.micro",
        "State": {"Name": "stopped"},
    }
    machine = build(
        raw,
        image=ImageInfo.missing(""),
        instance_type=InstanceTypeInfo.unknown("t3.micro"),
        instance_type_raw=None,
    )
    assert machine.state == "stopped"
    assert machine.volumes == ()
    assert machine.network_interfaces == ()
    assert machine.private_ip is None
    assert machine.name is None
    assert machine.architecture == "x86_64"
    assert machine.os.family is OsFamily.UNKNOWN
