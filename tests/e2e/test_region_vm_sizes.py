"""``plan()`` checks the target VM sizes against the sizes the target region offers (Compute's
``locations/{location}/vmSizes``, read through the ASR client): an override size that is unknown
or not offered there is refused with :class:`~ec2asr.errors.InvalidInputError` naming the size
and the region, before anything is written; a machine whose nearest size the region lacks is
blocked; when the read is refused, the packaged size table is the only check (a logged note)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import pytest

import ec2asr
from ec2asr.errors import InvalidInputError
from ec2asr.testing import Sandbox
from tests.e2e._migration import TARGET, fast_sandbox, make_migration

pytestmark = pytest.mark.e2e


class AwsWrites:
    """EC2/SSM mutating calls (botocore ``before-call`` on the migration's session)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        if not model.name.startswith(("Describe", "Get", "List")):
            self.calls.append(model.name)


@dataclass
class Env:
    sandbox: Sandbox
    machines: list[ec2asr.SourceMachine]
    discovery: ec2asr.Ec2Discovery
    aws_writes: AwsWrites
    journal: Path

    @property
    def region(self) -> str:
        return self.sandbox.emulator.location

    def migration(self, **vm_sizes: str) -> ec2asr.Migration:
        target = attrs.evolve(TARGET, vm_sizes=vm_sizes)
        migration = make_migration(self.sandbox, self.journal, target=target)
        migration.ec2 = self.discovery
        return migration

    def writes(self) -> tuple[int, int, bool]:
        return len(self.sandbox.emulator.writes), len(self.aws_writes.calls), self.journal.exists()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with fast_sandbox() as sandbox:
        ids = sandbox.seed_fleet(profiles=["win2016", "rhel79"]).instance_ids
        counter = AwsWrites()
        session = sandbox.new_aws_session()
        session.events.register("before-call.*.*", counter)
        discovery = ec2asr.Ec2Discovery(session)
        machines = discovery.discover(instance_ids=ids)
        yield Env(sandbox, machines, discovery, counter, tmp_path / "j.sqlite")
        sandbox.emulator.offer_vm_sizes(sandbox.emulator.location, None)


def test_the_client_lists_the_sizes_a_region_offers(env: Env) -> None:
    asr = env.migration().asr
    sizes = asr.list_virtual_machine_sizes(env.region)
    assert "Standard_D2s_v5" in sizes
    env.sandbox.emulator.offer_vm_sizes(env.region, ["Standard_D2s_v5", "Standard_E4s_v5"])
    assert asr.list_virtual_machine_sizes(env.region.upper()) == (
        "Standard_D2s_v5",
        "Standard_E4s_v5",
    )
    with pytest.raises(InvalidInputError, match="location"):
        asr.list_virtual_machine_sizes("west/europe")


def test_an_unknown_size_is_refused_by_plan_naming_size_and_region(env: Env) -> None:
    iid = env.machines[0].instance_id
    # A series the packaged table does not list: TargetSettings cannot judge it, the region can.
    migration = env.migration(**{iid: "Standard_Q8s_v9"})
    before = env.writes()
    with pytest.raises(InvalidInputError) as caught:
        migration.plan(env.machines)
    message = str(caught.value)
    assert "'Standard_Q8s_v9' is not a VM size Azure offers in region" in message
    assert env.region in message
    assert iid in message
    assert env.writes() == before == (0, 0, False)


def test_a_size_the_region_does_not_offer_is_refused_by_plan(env: Env) -> None:
    iid = env.machines[1].instance_id
    offered = [s for s in env.sandbox.emulator.vm_sizes_offered(env.region) if "E" not in s[9:]]
    env.sandbox.emulator.offer_vm_sizes(env.region, offered)  # no E-series here
    migration = env.migration(**{iid: "Standard_E8s_v5"})
    before = env.writes()
    with pytest.raises(InvalidInputError) as caught:
        migration.plan(env.machines)
    assert f"'Standard_E8s_v5' is not offered in region {env.region}" in str(caught.value)
    assert env.writes() == before == (0, 0, False)
    # Offered again: the same settings plan.
    env.sandbox.emulator.offer_vm_sizes(env.region, None)
    assert env.migration(**{iid: "Standard_E8s_v5"}).plan(env.machines).machines


def test_a_machine_whose_nearest_size_the_region_lacks_is_blocked(env: Env) -> None:
    plan = env.migration().plan(env.machines)
    first = plan.machines[0]
    nearest = first.target.vm_size
    offered = env.sandbox.emulator.vm_sizes_offered(env.region)
    env.sandbox.emulator.offer_vm_sizes(env.region, [s for s in offered if s != nearest])
    plan = env.migration().plan(env.machines)
    blocked = {p.machine.instance_id: p for p in plan.machines if not p.migrates}
    assert first.machine.instance_id in blocked
    assert any(
        f"target size {nearest} is not offered in region {env.region}" in b
        for b in blocked[first.machine.instance_id].blockers
    )


def test_when_the_sizes_cannot_be_read_the_packaged_table_is_the_check(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.sandbox.emulator.inject_fault("GET */vmSizes", status=403, times=None)
    iid = env.machines[0].instance_id
    with caplog.at_level(logging.WARNING, logger="ec2asr"):
        plan = env.migration(**{iid: "Standard_Q8s_v9"}).plan(env.machines)
    assert plan.machines[0].target.vm_size == "Standard_Q8s_v9"  # ARM has the last word
    notes = [r.getMessage() for r in caplog.records if "VM sizes" in r.getMessage()]
    assert len(notes) == 1
    assert "packaged size table only" in notes[0]
    assert env.region in notes[0]
    assert env.writes()[:2] == (0, 0)
