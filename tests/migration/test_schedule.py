"""The scheduler's pieces: finish-first order, appliance room, the per-cycle write share,
and the ``concurrency`` argument."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

import ec2asr
from ec2asr.azure.models import ApplianceFabric, ProcessServer
from ec2asr.errors import InvalidInputError
from ec2asr.migration._runtime import Live
from ec2asr.migration._schedule import (
    Placement,
    finish_first,
    holds_room,
    writes_per_cycle,
)
from ec2asr.migration.records import MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.testing.emulator.client import StaticTokenCredential


def _live(
    iid: str,
    stage: Stage,
    status: MachineStatus = MachineStatus.PENDING,
    *,
    op_key: str | None = None,
    server: str | None = None,
    gib: tuple[int, ...] = (30,),
) -> Live:
    data: dict[str, Any] = {}
    if server is not None:
        data["appliance"] = {"process_server_id": server, "name": server}
    record = MachineRecord(instance_id=iid, name=None, stage=stage, status=status, data=data)
    volumes = tuple(SimpleNamespace(size_gib=size) for size in gib)
    plan: Any = SimpleNamespace(instance_id=iid, machine=SimpleNamespace(volumes=volumes))
    return Live(plan=plan, record=record, op_key=op_key)


def _fabric(*servers: tuple[str, int, str | None]) -> ApplianceFabric:
    return ApplianceFabric(
        id="/fabrics/f",
        name="f",
        friendly_name=None,
        physical_site_id=None,
        process_servers=tuple(
            ProcessServer(
                id=ps_id,
                name=f"appliance-{ps_id}",
                ip_addresses=("10.0.0.10",),
                health=health,
                protected_item_count=count,
            )
            for ps_id, count, health in servers
        ),
    )


def test_finish_first_puts_later_stages_before_new_machines_in_plan_order() -> None:
    lives = [
        _live("i-1", Stage.DISCOVERED),
        _live("i-2", Stage.PROTECTED),
        _live("i-3", Stage.DISCOVERED),
        _live("i-4", Stage.COMMITTED),
        _live("i-5", Stage.REPLICATING),
        _live("i-6", Stage.TEST_MIGRATED),
        _live("i-7", Stage.PROTECTED),
    ]
    order = [live.iid for live in finish_first(lives)]
    assert order == ["i-4", "i-6", "i-2", "i-7", "i-5", "i-1", "i-3"]


def test_machines_waiting_to_be_enabled_go_largest_disks_first_plan_order_among_equals() -> None:
    lives = [
        _live("i-1", Stage.DISCOVERED, gib=(60,)),
        _live("i-2", Stage.DISCOVERED, gib=(30, 250)),  # 280 GiB in all
        _live("i-3", Stage.PROTECTED, gib=(8,)),
        _live("i-4", Stage.DISCOVERED, gib=(1050,)),
        _live("i-5", Stage.DISCOVERED, gib=(60,)),
        _live("i-6", Stage.REPLICATING, gib=(1050,)),
        _live("i-7", Stage.PROTECTED, gib=(2000,)),  # later stages keep plan order
    ]
    order = [live.iid for live in finish_first(lives)]
    assert order == ["i-3", "i-7", "i-6", "i-4", "i-2", "i-1", "i-5"]


def test_finish_first_leaves_out_machines_in_flight_failed_blocked_or_rolled_back() -> None:
    lives = [
        _live("i-1", Stage.PROTECTED, op_key="i-1:test-failover"),
        _live("i-2", Stage.PROTECTED, MachineStatus.FAILED),
        _live("i-3", Stage.PLANNED, MachineStatus.BLOCKED),
        _live("i-4", Stage.TEST_CLEANED_UP, MachineStatus.ROLLED_BACK),
        _live("i-5", Stage.DISCOVERED, MachineStatus.WAITING),
        _live("i-6", Stage.COMPLETED, MachineStatus.DONE),
    ]
    assert [live.iid for live in finish_first(lives)] == ["i-6", "i-5"]


@pytest.mark.parametrize(
    ("stage", "status", "op_key", "holds"),
    [
        (Stage.DISCOVERED, MachineStatus.PENDING, None, True),  # assigned, enable about to go
        (Stage.DISCOVERED, MachineStatus.IN_PROGRESS, "k", True),  # enable in flight
        (Stage.DISCOVERED, MachineStatus.FAILED, None, False),  # enable failed: no item
        (Stage.REPLICATING, MachineStatus.IN_PROGRESS, None, True),
        (Stage.PROTECTED, MachineStatus.FAILED, None, True),  # a later step failed: replicates
        (Stage.SOURCE_STOPPED, MachineStatus.IN_PROGRESS, "k", True),  # failover in flight
        (Stage.FAILED_OVER, MachineStatus.PENDING, None, False),
        (Stage.COMPLETED, MachineStatus.DONE, None, False),
        (Stage.TEST_CLEANED_UP, MachineStatus.ROLLED_BACK, None, False),
    ],
)
def test_a_machine_counts_against_its_appliance_until_it_fails_over(
    stage: Stage, status: MachineStatus, op_key: str | None, holds: bool
) -> None:
    assert holds_room(_live("i-1", stage, status, op_key=op_key, server="ps-1")) is holds


def test_placement_takes_the_healthy_server_with_most_room_and_says_when_all_are_full() -> None:
    fabric = _fabric(("ps-1", 0, "Normal"), ("ps-2", 1, "Normal"), ("ps-3", 0, "Critical"))
    placement = Placement(fabric, capacity=2)
    placement.count([])
    taken = [placement.take() for _ in range(3)]
    assert [room.process_server_id for room in taken if room] == ["ps-1", "ps-1", "ps-2"]
    assert placement.take() is None  # ps-3 is unhealthy: never chosen for new machines
    assert placement.capacity == 4


def test_placement_counts_ours_once_and_keeps_asr_load_from_outside_this_run() -> None:
    # ASR says ps-1 replicates 3 machines; 2 of them are this run's (a re-run).
    fabric = _fabric(("ps-1", 3, "Normal"), ("ps-2", 0, "Normal"))
    lives = [
        _live("i-1", Stage.PROTECTED, server="PS-1"),  # ids compare without case
        _live("i-2", Stage.FAILED_OVER, server="ps-1"),  # has an item, no longer holds room
        _live("i-3", Stage.DISCOVERED),  # not assigned yet
        _live("i-4", Stage.REPLICATING, server="ps-gone"),  # an appliance that left
    ]
    placement = Placement(fabric, capacity=4)
    placement.count(lives)
    one = placement.rooms["ps-1"]
    assert (one.others, one.ours, one.free) == (1, 1, 2)
    assert placement.room_of(lives[0]) is one
    assert placement.room_of(lives[3]) is None
    lives[0].record = MachineRecord(
        instance_id="i-1",
        name=None,
        stage=Stage.FAILED_OVER,
        status=MachineStatus.PENDING,
        data=dict(lives[0].data),
    )
    placement.count(lives)  # the outside load is measured once; ours is recounted
    assert (one.others, one.ours, one.free) == (1, 0, 3)


def test_a_cycle_sends_about_one_interval_of_the_write_budget() -> None:
    assert writes_per_cycle(SimpleNamespace(capacity=200, rate=10.0), 30.0) == 500
    assert writes_per_cycle(None, 30.0) == 500  # ARM's limits when the budget does not say
    assert writes_per_cycle(SimpleNamespace(capacity=5, rate=0.5), 0.0) == 5


def _migration(**kwargs: Any) -> ec2asr.Migration:
    rg = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg"
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )  # clients are made without a request
    return ec2asr.Migration(
        ec2=ec2asr.Ec2Discovery(session),
        asr=ec2asr.SiteRecoveryClient(
            StaticTokenCredential(),
            "00000000-0000-4000-8000-000000000001",
            resource_group="rg",
            vault="vault-1",
        ),
        installer=SimpleNamespace(install=lambda machines, context: []),
        target=ec2asr.TargetSettings(
            resource_group_id=rg,
            network_id=rg + "/providers/Microsoft.Network/virtualNetworks/vnet",
            subnet_name="default",
            log_storage_account_id=rg + "/providers/Microsoft.Storage/storageAccounts/cache",
        ),
        policy=ec2asr.ReplicationPolicy(),
        journal=":memory:",
        **kwargs,
    )


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True, [4]])
def test_a_bad_concurrency_is_a_typed_error(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="concurrency"):
        _migration(concurrency=bad)


def test_concurrency_defaults_to_no_cap_of_its_own() -> None:
    assert _migration().concurrency is None
    assert _migration(concurrency=1).concurrency == 1


def test_a_refresh_takes_asrs_current_load_for_the_next_count() -> None:
    placement = Placement(_fabric(("ps-1", 0, "Normal")), capacity=4)
    lives = [_live("i-1", Stage.PROTECTED, server="ps-1")]
    placement.count(lives)
    assert placement.rooms["ps-1"].free == 3
    # Another worker enabled two machines there meanwhile: ASR now counts three, one is ours.
    placement.refresh(_fabric(("ps-1", 3, "Normal")))
    placement.count(lives)
    assert (placement.rooms["ps-1"].others, placement.rooms["ps-1"].free) == (2, 1)
