"""``MigrationPlan``: what a migration will do, per machine, before anything is changed."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ec2asr._validate import shown, string_list
from ec2asr.assessment import MachineReadiness, Verdict
from ec2asr.errors import InvalidInputError
from ec2asr.migration.targets import MachineTarget
from ec2asr.models import SourceMachine

__all__ = ["ApplianceSummary", "MachinePlan", "MigrationPlan", "RecoveryPlanSpec"]

_PLAN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


@attrs.frozen
class ApplianceSummary:
    """The replication appliance as the plan saw it.

    Attributes:
        fabric_name: The InMageRcm fabric.
        ip_address: The process server address sources replicate to.
        process_server_id: The process server chosen for this migration.
        protected_items: Machines it already replicates.
        capacity: About how many machines it can replicate (200 per appliance).
        healthy: Whether its process server reports healthy.
    """

    fabric_name: str
    ip_address: str
    process_server_id: str
    protected_items: int
    capacity: int
    healthy: bool = True

    @property
    def free(self) -> int:
        """Machines it can still take."""
        return max(0, self.capacity - self.protected_items)


def _groups(value: Sequence[Sequence[str]] | None) -> tuple[tuple[str, ...], ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"groups must be a list of boot groups (lists of instance ids), not {shown(value)}"
        )
    return tuple(string_list("groups: a boot group", group, item="instance id") for group in value)


@attrs.frozen
class RecoveryPlanSpec:
    """Cut machines over together with an ASR recovery plan.

    Attributes:
        name: The recovery plan's name (suffixed ``-2``, ``-3`` ... past 100 machines).
        groups: Boot groups of instance ids, started in order; None puts every machine of the
            run into one group.

    Raises:
        InvalidInputError: The name is not 1-60 letters, digits, ``-`` or ``_``, or ``groups``
            is not a list of lists of instance ids.
    """

    name: str = "ec2asr-cutover"
    groups: tuple[tuple[str, ...], ...] | None = attrs.field(default=None, converter=_groups)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _PLAN_NAME.match(self.name):
            raise InvalidInputError(
                f"invalid recovery plan name {shown(self.name)} (1-60 letters, digits, '-' or '_')"
            )


@attrs.frozen
class MachinePlan:
    """What will happen to one machine.

    Attributes:
        machine: The source machine.
        readiness: Its readiness verdict and findings.
        target: Where it lands in Azure.
        connectivity: Missing network rules, as sentences (empty when every path is open).
        steps: The steps ec2asr will take, in order.
        blockers: Why it will not be migrated (empty when it will).
        notes: Things worth knowing that do not block (warnings, leases that will be added).
    """

    machine: SourceMachine
    readiness: MachineReadiness
    target: MachineTarget
    connectivity: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def instance_id(self) -> str:
        """The EC2 instance id."""
        return self.machine.instance_id

    @property
    def migrates(self) -> bool:
        """True when nothing blocks it."""
        return not self.blockers

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "instance_id": self.instance_id,
            "name": self.machine.name,
            "verdict": self.readiness.verdict.value,
            "migrates": self.migrates,
            "target": self.target.to_dict(),
            "connectivity": list(self.connectivity),
            "steps": list(self.steps),
            "blockers": list(self.blockers),
            "notes": list(self.notes),
        }


@attrs.frozen
class MigrationPlan:
    """A migration plan: built by :meth:`Migration.plan`, which writes nothing.

    Iterating yields the :class:`MachinePlan` of every machine, in input order.

    Attributes:
        machines: Every machine's plan.
        appliance: The replication appliance.
        installer: The Mobility strategy's name.
        warnings: Fleet-wide warnings (capacity, appliance health ...).
        created_at: When the plan was made.
    """

    machines: tuple[MachinePlan, ...]
    appliance: ApplianceSummary
    installer: str
    policy: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    target: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    warnings: tuple[str, ...] = ()
    created_at: datetime | None = None

    def __iter__(self) -> Iterator[MachinePlan]:
        return iter(self.machines)

    def __len__(self) -> int:
        return len(self.machines)

    def __getitem__(self, instance_id: str) -> MachinePlan:
        for plan in self.machines:
            if plan.instance_id == instance_id:
                return plan
        raise KeyError(instance_id)

    @property
    def to_migrate(self) -> tuple[MachinePlan, ...]:
        """Machines that will be migrated."""
        return tuple(p for p in self.machines if p.migrates)

    @property
    def blocked(self) -> tuple[MachinePlan, ...]:
        """Machines that will not be migrated, with their blockers."""
        return tuple(p for p in self.machines if not p.migrates)

    def summary(self) -> str:
        """One line: how many machines migrate, how many are blocked."""
        return (
            f"{len(self.machines)} machines: {len(self.to_migrate)} to migrate, "
            f"{len(self.blocked)} blocked; appliance {self.appliance.ip_address} has room for "
            f"{self.appliance.free} more"
        )

    def explain(self) -> str:
        """A readable account of the whole plan, machine by machine."""
        lines = [self.summary(), ""]
        lines.append(
            f"Appliance: fabric {self.appliance.fabric_name}, process server "
            f"{self.appliance.ip_address} ({self.appliance.protected_items} protected, capacity "
            f"about {self.appliance.capacity}){'' if self.appliance.healthy else ' - UNHEALTHY'}"
        )
        lines.append(f"Mobility agent: {self.installer}")
        lines.extend(f"Warning: {w}" for w in self.warnings)
        for plan in self.machines:
            m = plan.machine
            lines.append("")
            verdict = plan.readiness.verdict.value
            head = "MIGRATES" if plan.migrates else "BLOCKED"
            lines.append(f"{m.display_name}: {head} ({verdict})")
            t = plan.target
            lines.append(
                f"  -> Azure VM {t.vm_name}, {t.vm_size} ({t.vm_size_reason}), disks {t.disk_type}"
                f", licence {t.license_type}"
            )
            lines.extend(f"  blocker: {b}" for b in plan.blockers)
            # A missing rule is a blocker ("network: ...") or a lease note ("will lease: ...");
            # only one not already said that way gets a line of its own.
            said = " ".join((*plan.blockers, *plan.notes))
            lines.extend(f"  network: {c}" for c in plan.connectivity if c not in said)
            lines.extend(f"  note: {n}" for n in plan.notes)
            if plan.migrates:
                lines.append("  steps: " + " -> ".join(plan.steps))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the whole plan."""
        return {
            "schema": "ec2asr.migration-plan/1",
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "appliance": attrs.asdict(self.appliance),
            "installer": self.installer,
            "policy": dict(self.policy),
            "target": dict(self.target),
            "warnings": list(self.warnings),
            "machines": [p.to_dict() for p in self.machines],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The plan as JSON."""
        return json.dumps(self.to_dict(), indent=indent)

    def _repr_html_(self) -> str:
        from ec2asr._html import notebook_safe

        def row(plan: MachinePlan) -> str:
            m, t = plan.machine, plan.target
            said = " ".join(plan.blockers)
            reasons = [*plan.blockers, *(c for c in plan.connectivity if c not in said)]
            why = "<br>".join(html.escape(r) for r in reasons) or "&ndash;"
            return (
                f'<tr data-instance-id="{html.escape(m.instance_id)}">'
                f'<td class="iid">{html.escape(m.instance_id)}</td>'
                f"<td>{html.escape(m.name or '')}</td>"
                f"<td>{html.escape(plan.readiness.verdict.value)}</td>"
                f"<td>{html.escape(t.vm_name)}</td><td>{html.escape(t.vm_size)}</td>"
                f"<td>{html.escape(t.disk_type)}</td><td>{why}</td></tr>"
            )

        head = (
            "<thead><tr><th>Instance</th><th>Name</th><th>Readiness</th><th>Azure VM</th>"
            "<th>Size</th><th>Disks</th><th>Network / blockers</th></tr></thead>"
        )
        parts = [f"<p>{html.escape(self.summary())}</p>"]
        migrating = [p for p in self.machines if p.migrates]
        if migrating:
            rows = "".join(row(p) for p in migrating)
            parts.append(f'<table class="migrates">{head}<tbody>{rows}</tbody></table>')
        if self.blocked:
            rows = "".join(row(p) for p in self.blocked)
            parts.append(f'<h2 id="blocked">Not migrated: {len(self.blocked)} blocked</h2>')
            parts.append(f'<table class="blocked">{head}<tbody>{rows}</tbody></table>')
        return notebook_safe("".join(parts))


def steps_for(
    *, push: bool, test_migration: bool, recovery_plan: bool, leases: bool
) -> tuple[str, ...]:
    """The ordered step names for one machine."""
    steps = ["prepare"]
    if leases:
        steps.append("lease security-group rules")
    steps += [
        "hand over to the appliance (push)" if push else "install the Mobility agent",
        "wait for discovery",
        "enable replication",
        "wait for initial replication",
    ]
    if test_migration:
        steps += ["test migration", "clean up test migration"]
    steps += [
        "stop the EC2 instance",
        "wait for a recovery point after the stop",
        "fail over (recovery plan)" if recovery_plan else "fail over",
        "commit",
        "complete migration",
    ]
    if leases:
        steps.append("revoke leased rules")
    steps.append("tag the source")
    return tuple(steps)


def readiness_blockers(readiness: MachineReadiness) -> tuple[str, ...]:
    """The readiness reasons that block a machine."""
    if readiness.verdict is not Verdict.NOT_READY:
        return ()
    return tuple(f"{f.code}: {f.message}" for f in readiness.blockers)


def order_like(items: Sequence[MachinePlan], ids: Sequence[str]) -> list[MachinePlan]:
    """Plans for ``ids``, in that order."""
    by_id = {p.instance_id: p for p in items}
    return [by_id[i] for i in ids if i in by_id]
