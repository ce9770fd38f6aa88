"""Building a :class:`~ec2asr.MigrationPlan`: readiness, connectivity, targets, capacity.

Everything here reads (EC2, the vault); nothing is written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ec2asr.assessment import assess
from ec2asr.aws._paths import FlowPurpose
from ec2asr.aws.network import NetworkInspector
from ec2asr.errors import AzureError, InvalidInputError, MigrationError
from ec2asr.migration.plan import (
    ApplianceSummary,
    MachinePlan,
    MigrationPlan,
    RecoveryPlanSpec,
    readiness_blockers,
    steps_for,
)
from ec2asr.migration.targets import MachineTarget, map_targets
from ec2asr.mobility.base import ApplianceEndpoint
from ec2asr.models import SourceMachine

if TYPE_CHECKING:
    from ec2asr.azure.models import ApplianceFabric
    from ec2asr.azure.site_recovery import SiteRecoveryClient
    from ec2asr.migration.facade import Migration

logger = logging.getLogger("ec2asr")


def appliance_summary(
    asr: SiteRecoveryClient, appliance: str | None
) -> tuple[ApplianceSummary, ApplianceEndpoint, Any]:
    """The appliance fabric, the least-loaded healthy process server, and its endpoint.

    Raises:
        MigrationError: The fabric reports no usable process server.
        AzureError: The vault cannot be read.
    """
    fabric = asr.get_appliance_fabric(appliance)
    servers = fabric.usable_process_servers
    if not servers:
        raise MigrationError(f"appliance fabric {fabric.name} reports no process server")
    server = min(servers, key=lambda p: p.protected_item_count)
    if not server.ip_address:
        raise MigrationError(f"process server {server.name} reports no IP address")
    summary = ApplianceSummary(
        fabric_name=fabric.name,
        ip_address=server.ip_address,
        process_server_id=server.id,
        protected_items=fabric.protected_item_count,
        capacity=fabric.capacity,
        healthy=server.health in (None, "Normal"),
    )
    endpoint = ApplianceEndpoint(
        ip_address=server.ip_address,
        name=server.name,
        fabric_name=fabric.name,
        process_server_id=server.id,
    )
    return summary, endpoint, fabric


def _other_process_servers(fabric: ApplianceFabric, analysed: str) -> list[str]:
    """The addresses of the fabric's other process servers the run may place machines on,
    sorted."""
    servers = fabric.usable_process_servers
    return sorted({ps.ip_address for ps in servers if ps.ip_address and ps.ip_address != analysed})


def region_vm_sizes(migration: Migration) -> tuple[str, frozenset[str]] | None:
    """The target region (the vault's) and the VM sizes it offers the target subscription, in
    lower case; None when the client cannot list them or Azure refuses the read (a logged
    note: the sizes were checked against the packaged table only)."""
    asr: Any = migration.asr
    get_vault = getattr(asr, "get_vault", None)
    list_sizes = getattr(asr, "list_virtual_machine_sizes", None)
    if get_vault is None or list_sizes is None:
        return None
    region = "the target region"
    try:
        region = str(get_vault().location)
        names = list_sizes(region, subscription_id=migration.target.subscription_id)
    except AzureError as exc:
        logger.warning(
            "could not list the VM sizes %s offers (%s); the target sizes were checked against "
            "ec2asr's packaged size table only",
            region,
            exc,
        )
        return None
    return region, frozenset(str(n).lower() for n in names)


def check_region_sizes(
    migration: Migration,
    targets: Mapping[str, MachineTarget],
    offered: tuple[str, frozenset[str]] | None,
) -> dict[str, str]:
    """Refuse an override size the region does not offer; return, per machine whose nearest size
    the region does not offer, the blocker to record.

    Raises:
        InvalidInputError: A size of ``TargetSettings.vm_sizes`` is unknown or not offered in
            the target region (naming the size and the region).
    """
    if offered is None:
        return {}
    region, names = offered
    from ec2asr.assessment.sizing import load_vm_size_catalog

    packaged = {s.name.lower() for s in load_vm_size_catalog().sizes}
    for iid, size in migration.target.vm_sizes.items():
        if size.lower() in names:
            continue
        what = (
            "is not offered in region"
            if size.lower() in packaged
            else "is not a VM size Azure offers in region"
        )
        raise InvalidInputError(
            f"TargetSettings.vm_sizes[{iid!r}]: {size!r} {what} {region} "
            f"({len(names)} sizes listed there); choose one the region offers "
            f"(az vm list-sizes --location {region})"
        )
    return {
        iid: (
            f"target size {target.vm_size} is not offered in region {region}: set "
            f"TargetSettings.vm_sizes[{iid!r}] to a size the region offers"
        )
        for iid, target in targets.items()
        if target.vm_size.lower() not in names
    }


def build_plan(
    migration: Migration,
    machines: Iterable[SourceMachine],
    *,
    acknowledge_instance_store: Iterable[str],
    test_migration: bool,
    recovery_plan: RecoveryPlanSpec | None,
) -> MigrationPlan:
    """See :meth:`ec2asr.Migration.plan`."""

    machines = list(machines)
    if not machines:
        raise InvalidInputError("plan() needs at least one machine")
    if any(not isinstance(m, SourceMachine) for m in machines):
        raise InvalidInputError("plan() takes SourceMachine objects from Ec2Discovery")
    if test_migration and not migration.target.test_network_id:
        raise InvalidInputError(
            "a test migration needs TargetSettings.test_network_id (an isolated VNet); "
            "set it, or plan with test_migration=False"
        )
    summary, endpoint, fabric = appliance_summary(migration.asr, migration.appliance)
    supported = None
    list_os = getattr(migration.asr, "list_supported_operating_systems", None)
    if list_os is not None:
        supported = list_os()
    report = assess(
        machines,
        acknowledge_instance_store=acknowledge_instance_store,
        supported_os=supported or None,
    )
    targets = map_targets(machines, migration.target)
    size_blockers = check_region_sizes(migration, targets, region_vm_sizes(migration))
    push = bool(getattr(migration.installer, "requires_inbound", False))
    push_managed = bool(getattr(migration.installer, "manage_security_groups", False))
    network = NetworkInspector(migration.ec2.ec2_client).analyze(
        machines, endpoint.ip_address, push=push
    )
    cutting_over = migration._cutting_over()
    plans = []
    warnings: list[str] = []
    for machine in machines:
        readiness = report[machine.instance_id]
        rules = network[machine.instance_id].missing
        missing = tuple(str(rule) for rule in rules)
        blockers = list(readiness_blockers(readiness))
        if machine.instance_id in size_blockers:
            blockers.append(size_blockers[machine.instance_id])
        notes = [f"{f.code}: {f.message}" for f in readiness.warnings]
        if machine.instance_id in cutting_over:
            notes.append(
                f"the instance is {machine.state}: its cutover began (the journal says so); "
                "the migration carries it on"
            )
        elif machine.state != "running":
            blockers.append(
                f"the instance is {machine.state}: the Mobility agent replicates from inside "
                "the running guest; start it, then plan again"
            )
        for rule in rules:
            managed = (
                migration.manage_security_groups
                if rule.purpose is FlowPurpose.REPLICATION
                else push_managed
            )
            if rule.leasable and managed:
                notes.append(f"will lease: {rule}")
            else:
                blockers.append(f"network: {rule}")
        leases = any(rule.leasable for rule in rules) and (
            migration.manage_security_groups or push_managed
        )
        plans.append(
            MachinePlan(
                machine=machine,
                readiness=readiness,
                target=targets[machine.instance_id],
                connectivity=missing,
                steps=steps_for(
                    push=push,
                    test_migration=test_migration,
                    recovery_plan=recovery_plan is not None,
                    leases=leases,
                ),
                blockers=tuple(blockers),
                notes=tuple(notes),
            )
        )
    migrating = sum(1 for p in plans if p.migrates)
    if migrating > summary.free:
        warnings.append(
            f"{migrating} machines exceed the appliance's room for about {summary.free} "
            f"more (capacity about {summary.capacity}); add a scale-out appliance or "
            "migrate in waves"
        )
    if not summary.healthy:
        warnings.append(f"process server {summary.ip_address} is not healthy")
    others = _other_process_servers(fabric, endpoint.ip_address)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        warnings.append(
            f"the network paths were checked against process server {endpoint.ip_address} "
            f"only; the run places machines on whichever of the fabric's process servers has "
            f"room, so the sources need the same paths (TCP 443 and 9443"
            f"{', and the push ports from the appliance' if push else ''}) to {shown} too"
        )
    return MigrationPlan(
        machines=tuple(plans),
        appliance=summary,
        installer=type(migration.installer).__name__,
        policy={
            "name": migration.policy.name,
            "recovery_point_history_minutes": migration.policy.recovery_point_history_minutes,
            "app_consistent_frequency_minutes": migration.policy.app_consistent_frequency_minutes,
        },
        target=migration.target.describe(),
        warnings=tuple(warnings),
        created_at=migration._now(),
    )
