"""Cutover without data loss: when a stopped source may fail over, and what it failed over to.

ASR cannot stop an EC2 instance, so ec2asr stops it, then waits until Azure has every write the
source made: on every protected disk nothing is pending, neither at the source's Mobility agent
(``dataPendingAtSourceAgentInMB``) nor in the appliance's log data store
(``dataPendingInLogDataStoreInMB``), and the agent heartbeated after the stop was requested (it
was still running and reporting after the last write). Then it fails over to "Latest"
(``recoveryPointId`` null; ``recoveryPointType`` ``Latest`` for a recovery plan): ASR processes
everything it received into a recovery point and fails over to it. After the failover, the point
is read from the item's ``recoveryPoints`` (its own time, not ``lastRecoveryPointReceived``) and
journaled with the data-loss window: how long before the stop request that point's last write
was (0 when it is at or after the stop).

A source whose data does not drain within ``drain_timeout`` fails with
:class:`~ec2asr.errors.DataPendingError` naming what is still pending; it stays stopped (a re-run
waits again; ``rollback`` starts it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ec2asr.azure.items import ProtectedItem
from ec2asr.errors import AzureResourceNotFoundError, DataPendingError, Ec2AsrError
from ec2asr.events import EventKind
from ec2asr.migration._runtime import Live, Runtime

WHY_LATEST = (
    "the source is stopped, no data is pending on any disk and the agent heartbeated after the "
    "stop: 'Latest' processes every write Azure received, so nothing is lost"
)


def stop_time(live: Live) -> datetime | None:
    """When ec2asr asked EC2 to stop the source, if it did."""
    at = live.data.get("stop_requested_at")
    return datetime.fromisoformat(str(at)) if at else None


def drained(rt: Runtime, live: Live) -> bool | None:
    """True when the machine may fail over without data loss; False while it waits (the wait
    is journaled once); None when it failed (the drain timed out) or cannot be judged yet."""
    item, stop = live.item, stop_time(live)
    if item is None or stop is None:
        return None
    ready, pending = item.drained_since(stop)
    if ready:
        live.drain_since = None
        return True
    now = rt.now()
    if live.drain_since is None:
        live.drain_since = now
    waited = (now - live.drain_since).total_seconds()
    if waited > rt.options.drain_timeout:
        rt.fail(
            live,
            DataPendingError(
                f"{live.iid}: data written before the stop has not reached Azure after "
                f"{waited / 60:.0f} min: {'; '.join(pending)}. It was not failed over and its "
                "EC2 instance stays stopped. If its agent still sends (a heartbeat after the "
                "stop), run again to wait longer; otherwise roll it back (the instance starts "
                "and replication catches up, no new initial replication), make sure it reaches "
                "the replication appliance on TCP 443 and 9443, and cut over again",
                instance_id=live.iid,
                pending=pending,
                waited_seconds=waited,
            ),
            step="cutover-drain",
        )
        return None
    rt.wait_for(
        live,
        "waiting until every write made before the stop has reached Azure (no data pending on "
        "any disk, an agent heartbeat after the stop)",
        person=False,
    )
    return False


def evidence(item: ProtectedItem, stop: datetime, now: datetime) -> dict[str, object]:
    """What the journal records about the decision to fail over to "Latest"."""
    return {
        "recovery_point": "Latest",
        "why": WHY_LATEST,
        "checked_at": now.isoformat(),
        "stop_requested_at": stop.isoformat(),
        "agent_last_heartbeat": (
            item.agent_last_heartbeat.isoformat() if item.agent_last_heartbeat else None
        ),
        "data_pending_mb": item.data_pending_mb,
        "disks": len(item.disks),
    }


def record_failover_point(rt: Runtime, live: Live) -> bool:
    """Read the recovery point the machine failed over to and journal it with the data-loss
    window. True when that is done (or cannot be done and was journaled as unverified)."""
    item = live.item
    point_id = item.failover_recovery_point_id if item is not None else None
    if not point_id:
        return False  # the next sweep brings the item as it is after the failover
    stop = stop_time(live)
    step = rt.journal.begin_step(live.iid, "verify-recovery-point", detail={"id": point_id})
    try:
        point = rt.asr.get_recovery_point(item, point_id)  # type: ignore[arg-type]
    except AzureResourceNotFoundError as exc:
        rt.journal.end_step(step.id, succeeded=True, detail={"verified": False})
        rt.update(
            live,
            data={
                "failover_recovery_point_id": point_id,
                "failover_recovery_point_time": None,
                "data_loss_window_seconds": None,
                "failover_point_checked": True,
            },
        )
        rt.events.emit(
            EventKind.WARNING,
            f"the recovery point failed over to is not listed ({exc}); its time is unknown",
            instance_id=live.iid,
            stage=live.stage.value,
        )
        return True
    except Ec2AsrError as exc:
        rt.journal.end_step(step.id, succeeded=False, error=str(exc))
        rt.transient(live, exc, step="verify-recovery-point")
        return False
    window = loss_window(live.data.get("cutover"), point.time, stop)
    rt.journal.end_step(
        step.id,
        succeeded=True,
        detail={"time": point.time.isoformat() if point.time else None, "window": window},
    )
    rt.update(
        live,
        data={
            "failover_recovery_point_id": point.id,
            "failover_recovery_point_time": point.time.isoformat() if point.time else None,
            "data_loss_window_seconds": window,
            "failover_point_checked": True,
        },
    )
    if window:
        rt.events.emit(
            EventKind.WARNING,
            f"the recovery point failed over to is {window:.0f} s older than the stop",
            instance_id=live.iid,
            stage=live.stage.value,
        )
    return True


def loss_window(
    cutover: object, point_time: datetime | None, stop: datetime | None
) -> float | None:
    """Seconds of the source's writes the point failed over to may miss.

    After a failover to "Latest" with nothing pending, that is 0 (a point older than the stop
    request would mean otherwise: then the time between them). For a point chosen by name, the
    writes after it up to the agent's last heartbeat after the stop may be missing: an upper
    bound. None when the point's time is unknown.
    """
    if point_time is None or stop is None:
        return None
    evidence = cutover if isinstance(cutover, dict) else {}
    if evidence.get("recovery_point") == "Latest":
        return max(0.0, (stop - point_time).total_seconds())
    beat = evidence.get("agent_last_heartbeat")
    end = max(stop, datetime.fromisoformat(str(beat))) if beat else stop
    return max(0.0, (end - point_time).total_seconds())


def all_checked(members: Sequence[Live]) -> bool:
    """True when every member's failover point was journaled."""
    return all(m.data.get("failover_point_checked") for m in members)


def leftover_vm(rt: Runtime, live: Live) -> bool:
    """True (and the machine waits for a person) while the Azure VM an earlier rollback left,
    deallocated, still exists: a new failover would create a VM of the same name."""
    note = live.data.get("rollback") or {}
    vm_id = note.get("azure_vm_id") if isinstance(note, dict) else None
    if not vm_id or note.get("azure_vm_left") != "deallocated":
        return False
    try:
        state = rt.asr.get_virtual_machine_power_state(str(vm_id))
    except Ec2AsrError as exc:
        rt.transient(live, exc, step="check-leftover-vm")
        return True
    if state is None:
        rt.update(live, data={"rollback": {**note, "azure_vm_left": "deleted"}})
        return False
    rt.wait_for(
        live,
        f"the Azure VM {vm_id} that the rollback left ({state}) still exists: delete it (a new "
        "failover creates a VM of the same name), then run again",
        person=True,
    )
    return True
