"""Per-machine steps: what to do next for a machine, given the stage it reached."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ec2asr.azure._protection import EnableReplicationRequest, ItemKey
from ec2asr.errors import Ec2AsrError, MobilityError
from ec2asr.events import EventKind
from ec2asr.migration import _cutover
from ec2asr.migration._runtime import Live, Runtime
from ec2asr.migration._schedule import assigned_server, finish_first
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.mobility.base import InstallContext, InstallState
from ec2asr.settings import TargetSettings

TAG_AZURE_VM = "ec2asr:azure-vm-id"
TAG_MIGRATED_AT = "ec2asr:migrated-at"


def item_key(rt: Runtime, live: Live) -> ItemKey:
    """The protected item of a machine (its name is the instance id: deterministic)."""
    return ItemKey(rt.fleet.fabric.name, rt.fleet.container, live.iid)


def act(rt: Runtime, lives: Sequence[Live], target: TargetSettings) -> None:
    """Issue every step that can start now, latest stage first (see
    :mod:`ec2asr.migration._schedule`: machines under way take freed slots before new ones are
    enabled)."""
    rt.start_cycle()
    appliances = rt.appliances()
    if rt.journal.shared and any(
        live.stage is Stage.DISCOVERED and live.op_key is None and assigned_server(live) is None
        for live in lives
    ):
        _refresh_appliances(rt)
    appliances.count(lives)
    to_prepare: list[Live] = []
    to_install: list[Live] = []
    to_stop: list[Live] = []
    for live in finish_first(lives):
        if live.stage is Stage.FAILED_OVER and not live.data.get("failover_point_checked"):
            if _cutover.record_failover_point(rt, live):
                done = live.stage >= rt.options.until
                rt.update(live, status=MachineStatus.DONE if done else MachineStatus.PENDING)
            continue
        if live.stage >= rt.options.until:
            if live.status is not MachineStatus.DONE:
                rt.update(live, status=MachineStatus.DONE)
            continue
        stage = live.stage
        if stage is Stage.PLANNED:
            if live.plan.machine.state != "running":
                rt.wait_for(
                    live,
                    f"the EC2 instance is {live.plan.machine.state}: start it (the Mobility "
                    "agent replicates from the running guest), then discover and run again",
                    person=True,
                )
            else:
                to_prepare.append(live)
        elif stage is Stage.PREPARED and live.status is MachineStatus.PENDING:
            to_install.append(live)
        elif stage is Stage.DISCOVERED and rt.can_issue():
            enable(rt, live, target)
        elif stage is Stage.PROTECTED and rt.can_issue():
            if rt.options.test_migration:
                test_failover(rt, live, target)
            else:
                rt.reach(
                    live, Stage.TEST_MIGRATED, "test migration skipped", test_migration="skipped"
                )
                rt.reach(live, Stage.TEST_CLEANED_UP, "test migration skipped")
        elif stage is Stage.TEST_MIGRATED and rt.can_issue():
            item_operation(rt, live, "test-failover-cleanup", "begin_test_failover_cleanup")
        elif stage is Stage.TEST_CLEANED_UP:
            if live.data.get("stop_requested_at"):
                continue  # stopping; _observe promotes it once EC2 says "stopped"
            if not rt.options.confirm_cutover:
                rt.wait_for(
                    live,
                    "ready for cutover: run again with confirm_cutover=True to stop the source "
                    "and fail over",
                    person=True,
                    # Where a run without confirmation is meant to stop: a warning per machine
                    # would drown a fleet's log (the progress display and the report count them).
                    level=logging.INFO,
                )
            elif rt.options.recovery_plan is None and not _cutover.leftover_vm(rt, live):
                to_stop.append(live)
        elif stage is Stage.SOURCE_STOPPED and rt.can_issue():
            if rt.options.recovery_plan is None:
                failover_when_ready(rt, live)
        elif stage is Stage.FAILED_OVER and rt.can_issue():
            if rt.options.recovery_plan is None or live.data.get("recovery_plan") is None:
                item_operation(rt, live, "commit", "begin_commit_failover")
        elif stage is Stage.COMMITTED:
            if live.data.get("migration_completed"):
                finish(rt, live)
            elif rt.can_issue():
                item_operation(rt, live, "complete-migration", "begin_complete_migration")
    if to_prepare:
        prepare_machines(rt, to_prepare)
    if to_install:
        install(rt, to_install)
    if to_stop:
        stop_sources(rt, to_stop)


def item_operation(rt: Runtime, live: Live, step: str, method: str) -> bool:
    """Issue an argument-less operation on the machine's protected item."""
    key = item_key(rt, live)
    begin = getattr(rt.asr, method)
    return rt.issue(live, step, lambda: begin(key))


def prepare_machines(rt: Runtime, lives: list[Live]) -> None:
    """Per-machine preparation: lease the replication rules the plan found missing (one
    batched analysis for every machine), then move them to PREPARED."""
    needing = [live for live in lives if live.plan.connectivity]
    if rt.manage_security_groups and needing:
        steps = {live.iid: rt.journal.begin_step(live.iid, "lease-replication") for live in needing}
        try:
            outcome = rt.leases.lease_replication(
                [live.plan.machine for live in needing], rt.fleet.appliance
            )
        except Ec2AsrError as exc:
            for live in needing:
                rt.journal.end_step(steps[live.iid].id, succeeded=False, error=str(exc))
                rt.transient(live, exc, step="lease-replication")
            return
        for live in needing:
            error = outcome.errors.get(live.iid)
            leased = [lease.lease_id for lease in outcome.leases.get(live.iid, ())]
            rt.journal.end_step(
                steps[live.iid].id,
                succeeded=error is None,
                error=str(error) if error else None,
                detail={"leases": leased},
            )
            if error is not None:
                rt.fail(live, error, step="lease-replication")
    for live in lives:
        if live.status is not MachineStatus.FAILED:
            rt.reach(live, Stage.PREPARED, "prepared")


def install(rt: Runtime, lives: list[Live]) -> None:
    """Hand the machines to the Mobility installer, in one call."""
    by_id = {live.iid: live for live in lives}
    context = InstallContext(
        appliance=rt.fleet.appliance,
        discovered_ips=frozenset(rt.discovered_ips()),
        ec2_client=rt.ec2_client,
        ssm_client=rt.ssm_client,
        leases=rt.leases,
        emit=lambda message, instance_id=None: _emit_info(rt, message, instance_id),
        migration_id=rt.migration_id,
    )
    steps = {iid: rt.journal.begin_step(iid, "install-agent") for iid in by_id}
    try:
        results = rt.installer.install([live.plan.machine for live in lives], context)
    except Ec2AsrError as exc:
        for iid, live in by_id.items():
            rt.journal.end_step(steps[iid].id, succeeded=False, error=str(exc))
            rt.fail(live, exc, step="install-agent")
        return
    seen: set[str] = set()
    for result in results:
        found = by_id.get(result.instance_id)
        if found is None or result.instance_id in seen:
            continue
        live = found
        seen.add(result.instance_id)
        details: dict[str, Any] = dict(result.details)
        step = steps[result.instance_id]
        if result.state is InstallState.FAILED:
            error = result.error or MobilityError(result.message, instance_id=live.iid)
            rt.journal.end_step(step.id, succeeded=False, error=str(error), detail=details)
            rt.fail(live, error, step="install-agent")
            continue
        data: dict[str, Any] = {"install": {"state": result.state.value, **details}}
        if result.run_as_account:
            data["run_as_account"] = result.run_as_account
        if result.state is InstallState.ACTION_REQUIRED:
            rt.journal.end_step(step.id, succeeded=True, detail={"action_required": True})
            rt.update(live, data=data)
            rt.wait_for(live, result.instructions or result.message, person=True)
            continue
        rt.journal.end_step(step.id, succeeded=True, detail=details)
        rt.reach(live, Stage.AGENT_INSTALLED, result.message, **data)
    for iid in by_id.keys() - seen:
        error = MobilityError(f"the installer returned no result for {iid}", instance_id=iid)
        rt.journal.end_step(steps[iid].id, succeeded=False, error=str(error))
        rt.fail(by_id[iid], error, step="install-agent")


def _emit_info(rt: Runtime, message: str, instance_id: str | None) -> None:
    rt.events.emit(EventKind.INFO, message, instance_id=instance_id)


def enable(rt: Runtime, live: Live, target: TargetSettings) -> None:
    """Enable replication of a discovered machine (creates the protected item)."""
    machine_id = live.data.get("discovered_machine_id")
    if not machine_id:
        rt.fail(
            live,
            MobilityError("no discovered machine recorded", instance_id=live.iid),
            step="enable-replication",
        )
        return
    server = _process_server(rt, live)
    if server is None:
        return
    t = live.plan.target
    run_as = live.data.get("run_as_account")
    try:
        run_as_id = rt.run_as_account_id(str(run_as)) if run_as else None
    except Ec2AsrError as exc:
        rt.fail(live, exc, step="enable-replication")
        return
    request = EnableReplicationRequest(
        name=live.iid,
        fabric_discovery_machine_id=str(machine_id),
        process_server_id=server,
        policy_id=rt.fleet.policy.id,
        target_resource_group_id=target.resource_group_id,
        target_network_id=target.network_id,
        target_subnet_name=target.subnet_name,
        target_vm_name=t.vm_name,
        log_storage_account_id=target.log_storage_account_id,
        target_vm_size=t.vm_size,
        test_network_id=target.test_network_id,
        test_subnet_name=(target.test_subnet_name or target.subnet_name)
        if target.test_network_id
        else None,
        disk_type=t.disk_type,
        license_type=t.license_type,
        linux_license_type=t.linux_license_type,
        availability_zone=t.availability_zone,
        run_as_account_id=run_as_id,
        vm_tags=dict(t.tags),
    )
    rt.issue(
        live,
        "enable-replication",
        lambda: rt.asr.begin_enable_replication(rt.fleet.fabric.name, rt.fleet.container, request),
        detail={"target_vm_name": t.vm_name, "vm_size": t.vm_size},
    )


ROOM_WAIT = (
    "waiting for room on a replication appliance: each replicates about {capacity} machines at "
    "once and all {count} are full; machines leave when they fail over (add an appliance to go "
    "faster)"
)


def _refresh_appliances(rt: Runtime) -> None:
    """Read the appliances' load again (other workers enable machines too)."""
    try:
        fabric = rt.asr.get_appliance_fabric(rt.fleet.fabric.name)
    except Ec2AsrError as exc:
        rt.events.emit(EventKind.WARNING, f"could not read the appliances' load: {exc}")
        return
    rt.appliances().refresh(fabric)


def _process_server(rt: Runtime, live: Live) -> str | None:
    """The process server to replicate through: the journaled assignment (a re-run keeps it),
    else the healthy one with the most room (journaled now); None while every one is full."""
    appliances = rt.appliances()
    room = appliances.room_of(live)
    if room is None:
        room = appliances.take()
        if room is None:
            rooms = len(appliances.rooms)
            capacity = max((r.capacity for r in appliances.rooms.values()), default=0)
            rt.wait_for(live, ROOM_WAIT.format(capacity=capacity, count=rooms), person=False)
            return None
        rt.update(
            live,
            data={
                "appliance": {"process_server_id": room.process_server_id, "name": room.name},
                "waiting": None,
            },
        )
    return room.process_server_id


def test_failover(rt: Runtime, live: Live, target: TargetSettings) -> None:
    """Test-fail-over into the isolated test network."""
    network = target.test_network_id or ""
    rt.issue(
        live,
        "test-failover",
        lambda: rt.asr.begin_test_failover(item_key(rt, live), network_id=network),
        detail={"network_id": network},
    )


def stop_sources(rt: Runtime, lives: list[Live]) -> None:
    """Stop the EC2 instances (one StopInstances call), recording the time first."""
    requested = rt.now().isoformat()
    steps = {
        live.iid: rt.journal.begin_step(live.iid, "stop-source", detail={"requested_at": requested})
        for live in lives
    }
    for live in lives:
        rt.update(live, data={"stop_requested_at": requested})
    try:
        rt.control.stop([live.iid for live in lives])
    except Ec2AsrError as exc:
        for live in lives:
            rt.journal.end_step(steps[live.iid].id, succeeded=False, error=str(exc))
            rt.update(live, data={"stop_requested_at": None})
            rt.fail(live, exc, step="stop-source")
        return
    for live in lives:
        rt.journal.step_accepted(steps[live.iid].id)
        rt.update(live, status=MachineStatus.IN_PROGRESS, data={"waiting": "source stopping"})
        rt.events.emit(
            EventKind.STEP_STARTED,
            "stopping the EC2 instance",
            instance_id=live.iid,
            stage=live.stage.value,
        )


def failover_when_ready(rt: Runtime, live: Live) -> None:
    """Fail over to "Latest" once every write made before the stop reached Azure (see
    :mod:`ec2asr.migration._cutover`)."""
    if _cutover.drained(rt, live) is not True:
        return
    item, stop = live.item, _cutover.stop_time(live)
    assert item is not None
    assert stop is not None
    evidence = _cutover.evidence(item, stop, rt.now())
    rt.update(
        live,
        data={
            "cutover": evidence,
            "rpo_at_failover_seconds": item.last_rpo_seconds,
            "failover_point_checked": None,
        },
    )
    rt.issue(
        live,
        "unplanned-failover",
        lambda: rt.asr.begin_unplanned_failover(item_key(rt, live), recovery_point_id=None),
        detail={"recovery_point": "Latest", "why": _cutover.WHY_LATEST},
    )


def finish(rt: Runtime, live: Live) -> None:
    """After ``MigrationComplete``: revoke leased rules, tag the source, reach COMPLETED."""
    step = rt.journal.begin_step(live.iid, "finish")
    vm_id = live.data.get("azure_vm_id")
    try:
        rt.leases.release(live.iid)
        tags = {TAG_MIGRATED_AT: rt.now().isoformat()}
        if vm_id:
            tags[TAG_AZURE_VM] = str(vm_id)
        rt.control.tag(live.iid, tags)
    except Ec2AsrError as exc:
        rt.journal.end_step(step.id, succeeded=False, error=str(exc))
        rt.transient(live, exc, step="finish")
        return
    rt.journal.end_step(step.id, succeeded=True)
    rt.reach(
        live, Stage.COMPLETED, f"migration completed: Azure VM {vm_id or live.plan.target.vm_name}"
    )
