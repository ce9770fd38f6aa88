"""Fleet preparation by several hosts: a container mapping another host made between this
one's look and its create is taken as it is (ASR answers the conflict), not an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ec2asr
from ec2asr.errors import AzureConflictError
from ec2asr.testing import Sandbox, SimulatedClock, Timings
from tests.azure.test_site_recovery import client


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=SimulatedClock(speed=0), timings=Timings(bandwidth_mbps=5000)) as sb:
        sb.seed_fleet(profiles=["win2016"])
        yield sb


def test_a_mapping_made_meanwhile_is_reused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = client(sandbox), client(sandbox)
    policy = ours.ensure_policy(ec2asr.ReplicationPolicy(name="p-race"))
    fabric = ours.get_appliance_fabric()
    container = ours.get_protection_container(fabric.name)
    # The other host maps the container first, under its own mapping name.
    made = theirs.ensure_container_mapping(fabric.name, container, policy, name="their-mapping")
    # This host looked before that (it saw no mapping), then creates its own.
    real = ours.list_container_mappings
    looks: list[int] = []

    def stale_first_look(*args: object) -> list[object]:
        looks.append(1)
        return [] if len(looks) == 1 else real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(ours, "list_container_mappings", stale_first_look)
    mapping = ours.ensure_container_mapping(fabric.name, container, policy)
    assert mapping == made
    assert len(looks) == 2
    accepted = [
        w for w in sandbox.emulator.writes if "replicationProtectionContainerMappings" in w.path
    ]
    assert len(accepted) == 1  # only theirs was accepted


def test_a_conflict_that_is_not_ours_is_still_raised(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client(sandbox)
    policy = c.ensure_policy(ec2asr.ReplicationPolicy(name="p-other"))
    fabric = c.get_appliance_fabric()
    container = c.get_protection_container(fabric.name)

    def conflict(*args: object, **kwargs: object) -> object:
        raise AzureConflictError("another operation is in progress", status_code=409)

    monkeypatch.setattr(c, "_begin", conflict)
    with pytest.raises(AzureConflictError, match="in progress"):
        c.ensure_container_mapping(fabric.name, container, policy)
