"""What ec2asr reads to decide a cutover: per-disk pending data, the agent's heartbeat, the
recovery point failed over to, and the Compute calls a rollback makes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

import ec2asr
from ec2asr.azure.items import DiskReplication, ProtectedItem
from ec2asr.migration._cutover import loss_window
from ec2asr.testing.emulator import StaticTokenCredential

T = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _item(disks: list[tuple[Any, Any]], heartbeat: datetime | None) -> ProtectedItem:
    raw = SimpleNamespace(
        id="/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
        "/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/i-1",
        name="i-1",
        properties=SimpleNamespace(
            provider_specific_details=SimpleNamespace(
                protected_disks=[
                    SimpleNamespace(
                        disk_id=f"d{n}",
                        disk_name=f"disk{n}",
                        data_pending_at_source_agent_in_mb=a,
                        data_pending_in_log_data_store_in_mb=b,
                    )
                    for n, (a, b) in enumerate(disks)
                ],
                mobility_agent_details=SimpleNamespace(last_heartbeat_utc=heartbeat),
            ),
        ),
    )
    return ProtectedItem.from_azure(raw)


def test_drained_needs_every_disk_at_zero_and_a_heartbeat_after_the_stop() -> None:
    ready, reasons = _item([(0.0, 0.0), (0, 0)], T + timedelta(seconds=5)).drained_since(T)
    assert (ready, reasons) == (True, ())

    ready, reasons = _item([(0.0, 0.0), (12.5, 3.0)], T + timedelta(seconds=5)).drained_since(T)
    assert not ready
    assert reasons == ("disk1: 12.5 MB at the source agent, 3 MB in the log data store",)

    ready, reasons = _item([(0.0, 0.0)], T).drained_since(T)  # a heartbeat *at* the stop
    assert not ready
    assert "heartbeat" in reasons[0]

    ready, reasons = _item([(None, 0.0)], T + timedelta(seconds=5)).drained_since(T)
    assert not ready  # an unknown figure is never taken for 0
    assert "unknown" in reasons[0]

    ready, reasons = _item([], None).drained_since(T)
    assert not ready
    assert len(reasons) == 2


def test_pending_total_and_disk_figures() -> None:
    item = _item([(1.5, 2.0), (0.0, 0.5)], T)
    assert item.data_pending_mb == 4.0
    assert item.agent_last_heartbeat == T
    assert _item([(None, 1.0)], T).data_pending_mb is None
    disk = DiskReplication.from_azure(
        SimpleNamespace(
            disk_id="x",
            disk_name=None,
            data_pending_at_source_agent_in_mb="7",
            data_pending_in_log_data_store_in_mb="not a number",
        )
    )
    assert (disk.pending_at_source_mb, disk.pending_in_log_store_mb) == (7.0, None)
    assert not disk.drained


def test_loss_window() -> None:
    latest = {
        "recovery_point": "Latest",
        "agent_last_heartbeat": (T + timedelta(minutes=1)).isoformat(),
    }
    assert loss_window(latest, T + timedelta(seconds=30), T) == 0
    assert loss_window(latest, T - timedelta(seconds=90), T) == 90
    named = {
        "recovery_point": "/x/recoveryPoints/p",
        "agent_last_heartbeat": latest["agent_last_heartbeat"],
    }
    assert loss_window(named, T - timedelta(seconds=90), T) == 150  # up to the last heartbeat
    assert loss_window({}, T - timedelta(seconds=90), T) == 90
    assert loss_window(latest, None, T) is None


def test_compute_calls_refuse_anything_but_a_vm_id() -> None:
    client = ec2asr.SiteRecoveryClient(
        StaticTokenCredential(),
        "00000000-0000-4000-8000-000000000001",
        resource_group="rg",
        vault="vault-1",
        base_url="http://127.0.0.1:1",
    )
    for bad in ("vm-1", "/subscriptions/s/resourceGroups/rg", 7):
        with pytest.raises(ec2asr.InvalidInputError, match="virtual machine's ARM id"):
            client.get_virtual_machine_power_state(bad)  # type: ignore[arg-type]
        with pytest.raises(ec2asr.InvalidInputError):
            client.begin_deallocate_virtual_machine(bad)  # type: ignore[arg-type]


def test_remove_sends_the_provider_input_as_the_cmdlet_does() -> None:
    import json

    from azure.mgmt.recoveryservicessiterecovery._utils.model_base import SdkJSONEncoder

    from ec2asr.azure._protection import disable_input

    for reason in ("NotSpecified", "MigrationComplete"):
        body = json.loads(json.dumps(disable_input(reason), cls=SdkJSONEncoder))
        assert body == {
            "properties": {
                "disableProtectionReason": reason,
                "replicationProviderInput": {
                    "instanceType": "DisableProtectionProviderSpecificInput"
                },
            }
        }
