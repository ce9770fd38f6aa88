from __future__ import annotations

import pytest

from ec2asr.errors import InvalidInputError
from ec2asr.settings import ReplicationPolicy, TargetSettings, azure_vm_name

RG = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/target-rg"
VNET = RG + "/providers/Microsoft.Network/virtualNetworks/prod-vnet"
TEST_VNET = RG + "/providers/Microsoft.Network/virtualNetworks/test-vnet"
SA = RG + "/providers/Microsoft.Storage/storageAccounts/cache01"


def test_policy_defaults_are_valid() -> None:
    p = ReplicationPolicy()
    assert p.recovery_point_history_minutes == 4320
    assert p.crash_consistent_frequency_minutes == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recovery_point_history_minutes": 21601},
        {"recovery_point_history_minutes": -1},
        {"app_consistent_frequency_minutes": 721},
        {"recovery_point_history_minutes": 60, "app_consistent_frequency_minutes": 120},
        {"crash_consistent_frequency_minutes": 10},
        {"name": "bad name!"},
        {"name": ""},
    ],
)
def test_policy_rejects_what_asr_rejects(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        ReplicationPolicy(**kwargs)  # type: ignore[arg-type]


def test_target_settings_validate_arm_ids() -> None:
    t = TargetSettings(
        resource_group_id=RG,
        network_id=VNET,
        subnet_name="default",
        log_storage_account_id=SA,
        test_network_id=TEST_VNET,
    )
    assert t.subscription_id == "00000000-0000-0000-0000-000000000001"
    with pytest.raises(InvalidInputError, match="resource_group_id"):
        TargetSettings(
            resource_group_id="rg", network_id=VNET, subnet_name="s", log_storage_account_id=SA
        )
    with pytest.raises(InvalidInputError, match="network_id"):
        TargetSettings(
            resource_group_id=RG, network_id=RG, subnet_name="s", log_storage_account_id=SA
        )
    with pytest.raises(InvalidInputError, match="test_network_id"):
        TargetSettings(
            resource_group_id=RG,
            network_id=VNET,
            subnet_name="s",
            log_storage_account_id=SA,
            test_network_id="x",
        )
    with pytest.raises(InvalidInputError, match="log_storage_account_id"):
        TargetSettings(
            resource_group_id=RG, network_id=VNET, subnet_name="s", log_storage_account_id=RG
        )
    with pytest.raises(InvalidInputError, match="disk_type"):
        TargetSettings(
            resource_group_id=RG,
            network_id=VNET,
            subnet_name="s",
            log_storage_account_id=SA,
            disk_type="Ultra",
        )
    with pytest.raises(InvalidInputError, match="availability_zone"):
        TargetSettings(
            resource_group_id=RG,
            network_id=VNET,
            subnet_name="s",
            log_storage_account_id=SA,
            availability_zone="4",
        )
    with pytest.raises(InvalidInputError, match="subnet"):
        TargetSettings(
            resource_group_id=RG, network_id=VNET, subnet_name="", log_storage_account_id=SA
        )


def test_target_settings_mappings_are_read_only() -> None:
    t = TargetSettings(
        resource_group_id=RG,
        network_id=VNET,
        subnet_name="s",
        log_storage_account_id=SA,
        vm_sizes={"i-1": "Standard_D2s_v5"},
    )
    with pytest.raises(TypeError):
        t.vm_sizes["i-2"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("raw", "windows", "expected"),
    [
        ("web-01", True, "web-01"),
        ("SQL Server (prod) #1", True, "SQL-Server-prod"),
        ("a-very-long-windows-server-name", True, "a-very-long-win"),
        ("a-very-long-linux-server-name", False, "a-very-long-linux-server-name"),
        ("12345", True, "vm-12345"),
        ("12345", False, "12345"),
        ("--db__01--", False, "db-01"),
    ],
)
def test_azure_vm_names(raw: str, windows: bool, expected: str) -> None:
    name = azure_vm_name(raw, windows=windows)
    assert name == expected
    assert len(name) <= (15 if windows else 64)


def test_azure_vm_names_are_unique_within_a_fleet() -> None:
    taken: list[str] = []
    for _ in range(12):
        taken.append(azure_vm_name("web-server-prod", windows=True, taken=taken))
    assert len({t.lower() for t in taken}) == 12
    assert all(len(t) <= 15 for t in taken)
    assert taken[1] == "web-server-pr-2"
    with pytest.raises(InvalidInputError):
        azure_vm_name("!!!", windows=False)
