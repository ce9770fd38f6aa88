from __future__ import annotations

import pytest

from ec2asr.errors import InvalidInputError
from ec2asr.migration.targets import map_targets
from ec2asr.models import OsFamily
from ec2asr.settings import TargetSettings
from tests.factories import make_machine, make_volume

RG = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/target-rg"
VNET = RG + "/providers/Microsoft.Network/virtualNetworks/prod-vnet"
SA = RG + "/providers/Microsoft.Storage/storageAccounts/cache01"


def settings(**kw: object) -> TargetSettings:
    return TargetSettings(
        resource_group_id=RG,
        network_id=VNET,
        subnet_name="default",
        log_storage_account_id=SA,
        **kw,  # type: ignore[arg-type]
    )


def test_sizes_names_disks_and_licences() -> None:
    linux = make_machine(name="db server 01", instance_type="r5.4xlarge")
    windows = make_machine(
        name="web-01",
        instance_type="m5.large",
        family=OsFamily.WINDOWS,
        distribution="windows",
        version="2019",
        os_name="Windows Server 2019",
    )
    targets = map_targets(
        [linux, windows], settings(azure_hybrid_benefit=True, tags={"env": "prod"})
    )
    t = targets[linux.instance_id]
    assert t.vm_name == "db-server-01"
    assert t.vm_size.startswith("Standard_E")  # r5 -> memory-optimised E series
    assert "r5.4xlarge" in t.vm_size_reason
    assert t.disk_type == "Premium_LRS"
    assert t.license_type == "NoLicenseType"  # AHB is for Windows only
    assert t.linux_license_type == "NoLicenseType"
    assert dict(t.tags) == {"env": "prod", "ec2-instance-id": linux.instance_id}
    w = targets[windows.instance_id]
    assert w.license_type == "WindowsServer"
    assert w.linux_license_type is None
    assert w.vm_size.startswith("Standard_D")


def test_same_names_become_unique_in_order() -> None:
    machines = [make_machine(name="app") for _ in range(3)]
    targets = map_targets(machines, settings())
    assert [targets[m.instance_id].vm_name for m in machines] == ["app", "app-2", "app-3"]


def test_overrides_win_and_are_validated() -> None:
    m = make_machine(name="web")
    targets = map_targets(
        [m],
        settings(
            vm_sizes={m.instance_id: "Standard_F4s_v2"},
            vm_names={m.instance_id: "web-azure"},
            disk_type="StandardSSD_LRS",
        ),
    )
    t = targets[m.instance_id]
    assert (t.vm_size, t.vm_size_reason) == ("Standard_F4s_v2", "override")
    assert t.vm_name == "web-azure"
    assert (t.disk_type, t.disk_reason) == ("StandardSSD_LRS", "override")
    with pytest.raises(InvalidInputError, match="unknown instances: i-nope"):
        map_targets([m], settings(vm_sizes={"i-nope": "Standard_D2s_v5"}))
    with pytest.raises(InvalidInputError, match="vm_names"):
        map_targets([m], settings(vm_names={m.instance_id: "bad name!"}))


def test_slow_disks_map_to_cheaper_types_but_the_best_wins() -> None:
    cold = make_machine(volumes=(make_volume(size_gib=500, volume_type="sc1", is_root=True),))
    mixed = make_machine(
        volumes=(
            make_volume(size_gib=30, volume_type="gp3", is_root=True),
            make_volume(size_gib=2000, volume_type="st1"),
        )
    )
    targets = map_targets([cold, mixed], settings())
    assert targets[cold.instance_id].disk_type in ("Standard_LRS", "StandardSSD_LRS")
    assert targets[mixed.instance_id].disk_type == "Premium_LRS"
