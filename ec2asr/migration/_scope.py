"""Reads scoped to one migration: its container's protected items, its fabric's jobs.

The run loop's sweeps are scoped by the tracker (:class:`~ec2asr.azure.jobs.SweepScope`); the
one-off reads of a re-run (reconciliation) and of a rollback go through here. Every item this
migration created is in the fleet's container: the write-ahead journal records each
enable-replication before it is sent, so a machine that never reached one has no item anywhere.
When a machine that may have an item is missing from the container (the appliance changed
between runs), the read falls back to the vault's items, so nothing is taken for absent that
exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ec2asr.azure.items import AsrJob, ProtectedItem
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration._runtime import Live, Runtime

__all__ = ["migration_items", "migration_jobs"]


def _may_have_item(live: Live, steps: Iterable[Any]) -> bool:
    if live.status is MachineStatus.ROLLED_BACK or live.stage is Stage.COMPLETED:
        return False
    if live.stage >= Stage.REPLICATING:
        return True
    return any(s.step == "enable-replication" for s in steps)


def migration_items(
    rt: Runtime, lives: Sequence[Live], open_steps: Mapping[str, Sequence[Any]] | None = None
) -> tuple[dict[str, ProtectedItem], bool]:
    """The protected items of the migration's container, by name, and whether that was
    enough; the vault's items (and False) when a machine that may have an item is not there.

    Raises:
        AzureError: Azure refused or failed the reads.
    """
    fleet = rt.fleet
    items = {
        i.name: i
        for i in rt.asr.list_protected_items(
            fabric_name=fleet.fabric.name, container_name=fleet.container
        )
    }
    steps = open_steps or {}
    if any(
        live.iid not in items and _may_have_item(live, steps.get(live.iid, ())) for live in lives
    ):
        return {i.name: i for i in rt.asr.list_protected_items()}, False
    return items, True


def migration_jobs(rt: Runtime, since: datetime, *, scoped: bool = True) -> Iterator[AsrJob]:
    """The jobs started since ``since`` under the migration's fabric (``scoped``), else the
    vault's.

    Raises:
        AzureError: Azure refused or failed the reads.
    """
    if scoped:
        return rt.asr.list_jobs(start_time=since, fabric_id=rt.fleet.fabric.id)
    return rt.asr.list_jobs(start_time=since)
