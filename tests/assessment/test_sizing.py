"""Target sizing: EC2 type -> Azure VM size, EBS volume -> Azure disk type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ec2asr.assessment import (
    AzureDiskType,
    SizeFamily,
    azure_disk_for,
    azure_vm_size_for,
    ec2_instance_shape,
    load_vm_size_catalog,
)
from ec2asr.assessment.sizing import parse_ec2_instance_type
from ec2asr.errors import InvalidInputError
from ec2asr.models import InstanceTypeInfo
from tests.factories import INSTANCE_TYPES, make_volume

# -- VM sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("m5.large", "Standard_D2s_v5"),
        ("m6i.4xlarge", "Standard_D16s_v5"),
        ("m6a.xlarge", "Standard_D4as_v5"),  # AMD prefers Dasv5
        ("m5d.large", "Standard_D2ds_v5"),  # local NVMe prefers Ddsv5
        ("m6g.large", "Standard_D2s_v5"),  # Graviton maps by size
        ("c5.xlarge", "Standard_F4s_v2"),
        ("c5.9xlarge", "Standard_F48s_v2"),  # 36 vCPU: next size up
        ("r5.2xlarge", "Standard_E8s_v5"),
        ("r6i.large", "Standard_E2s_v5"),
        ("t3.micro", "Standard_B2ls_v2"),  # 2 vCPU: Bsv2 preferred over Bs on a tie
        ("t2.micro", "Standard_B1s"),
        ("t2.nano", "Standard_B1ls"),
        ("t3.2xlarge", "Standard_B8s_v2"),
    ],
)
def test_named_types(instance_type, expected):
    assert azure_vm_size_for(instance_type).name == expected


@pytest.mark.parametrize(
    ("info", "expected", "family"),
    [
        (InstanceTypeInfo("i3.2xlarge", 8, 62464, ("x86_64",), 1900), "Standard_L8s_v3", "storage"),
        (InstanceTypeInfo("x1e.xlarge", 4, 124928, ("x86_64",)), "Standard_M8ms", "memory"),
        (InstanceTypeInfo("x1.32xlarge", 128, 1998848, ("x86_64",)), "Standard_M128s", "memory"),
        (InstanceTypeInfo("z1d.large", 2, 16384, ("x86_64",)), "Standard_E2s_v5", "memory"),
        (InstanceTypeInfo("p3.2xlarge", 8, 62464, ("x86_64",)), "Standard_D16s_v5", "general"),
        (
            InstanceTypeInfo("hpc6a.48xlarge", 96, 393216, ("x86_64",)),
            "Standard_D96as_v5",
            "general",
        ),
        # 3,904 GiB: M128ms (3,892 GiB) is just too small
        (
            InstanceTypeInfo("x1e.32xlarge", 128, 3997696, ("x86_64",)),
            "Standard_M208ms_v2",
            "memory",
        ),
    ],
)
def test_discovered_types(info, expected, family):
    size = azure_vm_size_for(info)
    assert size.name == expected
    assert size.family is SizeFamily(family)
    assert size.vcpus >= info.vcpus
    assert size.memory_gib >= info.memory_gib


def test_factory_types_all_size():
    for info in INSTANCE_TYPES.values():
        if info.name == "m1.small":
            continue
        size = azure_vm_size_for(info)
        assert size.vcpus >= info.vcpus
        assert size.memory_gib >= info.memory_gib


def test_data_disks_can_push_to_a_larger_size():
    assert azure_vm_size_for("m5.large", data_disks=4).name == "Standard_D2s_v5"
    assert azure_vm_size_for("m5.large", data_disks=5).name == "Standard_D4s_v5"


def test_overrides_and_forced_family():
    assert azure_vm_size_for("m5.large", vcpus=4).name == "Standard_D4s_v5"
    assert azure_vm_size_for("m5.large", family=SizeFamily.MEMORY).name == "Standard_E2s_v5"


def test_too_big_for_the_family_widens_to_any_family():
    size = azure_vm_size_for("c7i.48xlarge", vcpus=192, memory_gib=384)
    assert size.vcpus >= 192
    assert size.memory_gib >= 384


def test_nothing_large_enough_is_an_input_error():
    # u-6tb1.metal: 448 vCPU, more than any size in the table (M416ms_v2 has 416)
    with pytest.raises(InvalidInputError, match=r"no memory Azure size.*448 vCPU"):
        azure_vm_size_for(InstanceTypeInfo("u-6tb1.metal", 448, 6291456, ("x86_64",)))
    with pytest.raises(InvalidInputError, match="no memory Azure size"):
        azure_vm_size_for("x1.32xlarge", vcpus=1000, memory_gib=10, family=SizeFamily.MEMORY)


@pytest.mark.parametrize("name", ["banana", "m5", ".large", ""])
def test_unparsable_names(name):
    with pytest.raises(InvalidInputError, match="instance type name"):
        azure_vm_size_for(name)


def test_unknown_family_letters():
    with pytest.raises(InvalidInputError, match="unknown EC2 instance family 'qq'"):
        azure_vm_size_for("qq9.large", vcpus=2, memory_gib=4)


def test_unknown_shape_asks_for_figures():
    with pytest.raises(InvalidInputError, match="vcpus= and memory_gib="):
        azure_vm_size_for("x2iedn.xlarge")
    with pytest.raises(InvalidInputError, match="vcpus= and memory_gib="):
        azure_vm_size_for(InstanceTypeInfo.unknown("m5.metal"))


@pytest.mark.parametrize("kwargs", [{"vcpus": 0}, {"memory_gib": -1}, {"data_disks": -1}])
def test_bad_figures(kwargs):
    with pytest.raises(InvalidInputError):
        azure_vm_size_for("m5.large", **kwargs)


def test_wrong_argument_type():
    with pytest.raises(InvalidInputError, match="InstanceTypeInfo or a name"):
        azure_vm_size_for(42)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("m5.large", (2, 8.0)),
        ("m6g.medium", (1, 4.0)),
        ("c5.9xlarge", (36, 72.0)),
        ("r5.24xlarge", (96, 768.0)),
        ("t2.small", (1, 2.0)),
        ("t3.small", (2, 2.0)),
        ("m5.metal", None),
        ("c5n.large", None),
        ("m4.large", None),
        ("i3.large", None),
    ],
)
def test_shapes_derived_from_names(name, shape):
    assert ec2_instance_shape(name) == shape


def test_parse_instance_types():
    assert parse_ec2_instance_type("m6gd.2xlarge").attributes == "gd"
    assert parse_ec2_instance_type("u-6tb1.metal").family == "u"
    assert parse_ec2_instance_type("im4gn.large").family == "im"
    assert parse_ec2_instance_type("mac1.metal").family == "mac"


@given(
    family=st.sampled_from(list(SizeFamily)),
    vcpus=st.integers(min_value=1, max_value=64),
    memory=st.floats(min_value=0.5, max_value=512, allow_nan=False),
)
def test_choice_is_the_smallest_fit_of_the_family(family, vcpus, memory):
    catalog = load_vm_size_catalog()
    fitting = [s for s in catalog.list(family) if s.vcpus >= vcpus and s.memory_gib >= memory]
    if not fitting:
        return
    chosen = azure_vm_size_for("m5.large", vcpus=vcpus, memory_gib=memory, family=family)
    assert chosen in fitting
    assert all((chosen.vcpus, chosen.memory_gib) <= (s.vcpus, s.memory_gib) for s in fitting)


def test_catalog_data_is_sane():
    catalog = load_vm_size_catalog()
    names = [s.name for s in catalog.sizes]
    assert len(names) == len(set(names))
    for family in SizeFamily:
        assert catalog.list(family), family
        series = {s.series for s in catalog.list(family)}
        assert series == set(catalog.preference[family])
    assert catalog.get("standard_d2s_v5").vcpus == 2
    with pytest.raises(InvalidInputError):
        catalog.get("Standard_Nope")


# -- disks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ebs", "azure"),
    [
        ("gp2", AzureDiskType.PREMIUM_LRS),
        ("gp3", AzureDiskType.PREMIUM_LRS),
        ("io1", AzureDiskType.PREMIUM_LRS),
        ("io2", AzureDiskType.PREMIUM_LRS),
        ("st1", AzureDiskType.STANDARD_SSD_LRS),
        ("sc1", AzureDiskType.STANDARD_LRS),
        ("standard", AzureDiskType.STANDARD_LRS),
    ],
)
def test_ebs_type_mapping(ebs, azure):
    disk = azure_disk_for(ebs)
    assert disk.disk_type is azure
    assert disk.size_gib is None
    assert disk.disk_type.value in {"Premium_LRS", "StandardSSD_LRS", "Standard_LRS"}


def test_io2_with_high_iops_becomes_premium_v2():
    disk = azure_disk_for(make_volume(500, volume_type="io2", iops=20000))
    assert disk.disk_type is AzureDiskType.PREMIUM_V2_LRS
    assert disk.iops == 20000
    assert disk.throughput_mbps == 500  # io2's ceiling up to 32,000 IOPS
    assert "P20" in disk.reason


def test_io1_within_the_premium_tier_stays_premium():
    disk = azure_disk_for(make_volume(1024, volume_type="io1", iops=5000))
    assert disk.disk_type is AzureDiskType.PREMIUM_LRS
    assert disk.iops is None


def test_premium_v2_iops_are_capped():
    disk = azure_disk_for(make_volume(100, volume_type="io2", iops=64000))
    assert disk.iops == 50000  # 500 IOPS per GiB
    assert disk.throughput_mbps == 1000  # io2 above 32,000 IOPS
    big = azure_disk_for(make_volume(4000, volume_type="io2", iops=256000, throughput=4000))
    assert big.iops == 80000
    assert big.throughput_mbps == 4000  # provisioned throughput passed through


def test_os_disk_never_gets_premium_v2():
    disk = azure_disk_for(make_volume(100, volume_type="io2", iops=20000, is_root=True))
    assert disk.disk_type is AzureDiskType.PREMIUM_LRS
    assert "OS disk" in disk.reason


def test_unknown_volume_type():
    with pytest.raises(InvalidInputError, match="unknown EBS volume type 'io3'"):
        azure_disk_for("io3")


def test_negative_figures_are_refused():
    with pytest.raises(InvalidInputError):
        azure_disk_for("gp3", size_gib=-1)


def test_premium_v2_throughput_stays_within_its_per_iops_bound():
    # 2,400 IOPS on a 128 GiB io1 (P10 gives 500): at most 0.25 MB/s per IOPS = 600 MB/s
    disk = azure_disk_for(make_volume(128, volume_type="io1", iops=2400))
    assert disk.disk_type is AzureDiskType.PREMIUM_V2_LRS
    assert disk.throughput_mbps == 500
    small = azure_disk_for(make_volume(16, volume_type="io1", iops=400))
    assert small.iops == 3000  # Premium SSD v2's included minimum
    assert small.throughput_mbps == 500
