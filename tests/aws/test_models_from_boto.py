"""The shared models' named constructors, fed the boto3 shapes discovery receives."""

from __future__ import annotations

from ec2asr.models import (
    ImageInfo,
    InstanceStorageDisk,
    InstanceTypeInfo,
    NetworkInterface,
    SecurityGroup,
    SecurityGroupRule,
)


def test_image_info_from_boto() -> None:
    image = ImageInfo.from_boto(
        {
            "ImageId": "ami-0b7e5a1c2d3e40001",
            "Name": "Windows_Server-2008-R2_SP1-English-64Bit-Base-2012.03.13",
            "Description": "... with Red Hat PV drivers 1.3.10",
            "OwnerId": "801119661308",
            "Platform": "windows",
            "PlatformDetails": "",
            "Architecture": "x86_64",
            "VirtualizationType": "hvm",
            "BootMode": "legacy-bios",
            "RootDeviceName": "/dev/sda1",
            "Tags": [{"Key": "team", "Value": "legacy"}],
        }
    )
    assert image.found
    assert image.platform_details is None  # moto (and some AMIs) send an empty string
    assert image.tags == {"team": "legacy"}
    assert (image.platform, image.boot_mode) == ("windows", "legacy-bios")
    missing = ImageInfo.missing("ami-gone")
    assert (missing.found, missing.name) == (False, None)


def test_instance_type_info_from_boto() -> None:
    info = InstanceTypeInfo.from_boto(
        {
            "InstanceType": "m5d.xlarge",
            "VCpuInfo": {"DefaultVCpus": 4},
            "MemoryInfo": {"SizeInMiB": 16384},
            "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "InstanceStorageInfo": {
                "TotalSizeInGB": 150,
                "Disks": [{"SizeInGB": 150, "Count": 1, "Type": "ssd"}],
            },
        }
    )
    assert (info.vcpus, info.memory_gib, info.architectures) == (4, 16.0, ("x86_64",))
    assert info.instance_storage == (InstanceStorageDisk(count=1, size_gb=150, disk_type="ssd"),)
    assert info.instance_storage_gb == 150
    assert not InstanceTypeInfo.unknown("x1.huge").known


def test_security_group_rules_flatten_all_traffic_and_peers() -> None:
    group = SecurityGroup.from_boto(
        {
            "GroupId": "sg-1",
            "GroupName": "api-restricted",
            "VpcId": "vpc-1",
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": "sg-web"}],
                    "PrefixListIds": [{"PrefixListId": "pl-1"}],
                }
            ],
            "IpPermissionsEgress": [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ],
        }
    )
    (ingress,) = group.ingress
    assert ingress.group_ids == ("sg-web",)
    assert ingress.prefix_list_ids == ("pl-1",)
    assert ingress.covers_port("tcp", 443)
    assert not ingress.covers_port("tcp", 9443)
    assert not ingress.covers_port("udp", 443)
    (egress,) = group.egress
    assert egress == SecurityGroupRule("-1", None, None, cidrs=("0.0.0.0/0",))
    assert egress.covers_port("tcp", 9443)


def test_network_interface_puts_the_primary_address_first() -> None:
    eni = NetworkInterface.from_boto(
        {
            "NetworkInterfaceId": "eni-1",
            "SubnetId": "subnet-1",
            "VpcId": "vpc-1",
            "PrivateIpAddresses": [
                {"PrivateIpAddress": "10.0.1.9", "Primary": False},
                {"PrivateIpAddress": "10.0.1.5", "Primary": True},
            ],
            "Groups": [{"GroupId": "sg-1"}],
            "Attachment": {"DeviceIndex": 0},
        }
    )
    assert eni.private_ips == ("10.0.1.5", "10.0.1.9")
    assert eni.primary_private_ip == "10.0.1.5"
    bare = NetworkInterface.from_boto({"PrivateIpAddress": "10.0.0.4"})
    assert bare.private_ips == ("10.0.0.4",)
