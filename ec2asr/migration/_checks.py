"""The facade's argument checks: everything that can be refused before anything is written.

:class:`~ec2asr.Migration`'s constructor, :meth:`~ec2asr.Migration.plan`,
:meth:`~ec2asr.Migration.run` and the step methods call these first; each raises
:class:`~ec2asr.errors.InvalidInputError` naming the parameter and the bad value.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ec2asr import _validate as v
from ec2asr.errors import InvalidInputError
from ec2asr.migration.plan import MigrationPlan, RecoveryPlanSpec
from ec2asr.migration.stages import Stage
from ec2asr.models import SourceMachine

if TYPE_CHECKING:
    from ec2asr.migration.facade import Migration

__all__ = [
    "RUN_OPTIONS",
    "check_init",
    "check_machines",
    "check_plan",
    "check_plan_options",
    "check_region",
    "check_run",
    "check_step_kwargs",
    "preflight_installer",
    "string_ids",
]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_AZURE_REGION = re.compile(r"^[A-Za-z][A-Za-z0-9 ]{2,39}$")
"""An Azure region's name (``westeurope``) or display name (``West Europe``)."""

RUN_OPTIONS = frozenset(
    {
        "until",
        "confirm_cutover",
        "test_migration",
        "recovery_plan",
        "timeout",
        "discovery_timeout",
        "drain_timeout",
        "only_from",
    }
)
"""The keyword arguments :meth:`~ec2asr.Migration.run` takes."""


def check_init(
    *,
    journal: object,
    appliance: object,
    vault_location: object,
    manage_security_groups: object,
    concurrency: object,
    poll_interval: object,
    sleep: object,
    now: object,
    on_event: object,
    progress: object,
    name: object,
) -> None:
    """The constructor's scalar arguments (the collaborators are checked by the facade)."""
    from ec2asr.migration.journal import Journal

    if not isinstance(journal, (Journal, str, os.PathLike)):
        raise InvalidInputError(
            "journal must be a Journal or the path of its file (str or pathlib.Path), "
            f"not {v.shown(journal)}"
        )
    if isinstance(journal, str) and not journal.strip():
        raise InvalidInputError("journal must not be an empty path")
    v.check_str("appliance", appliance, optional=True)
    if vault_location is not None and (
        not isinstance(vault_location, str) or not _AZURE_REGION.match(vault_location)
    ):
        raise InvalidInputError(
            "vault_location must be an Azure region name such as 'westeurope' (or None), "
            f"not {v.shown(vault_location)}"
        )
    v.check_bool("manage_security_groups", manage_security_groups)
    if concurrency is not None:
        v.check_int("concurrency", concurrency, minimum=1)
    v.check_number("poll_interval", poll_interval, minimum=0)
    v.check_callable("sleep", sleep)
    v.check_callable("now", now)
    v.check_callable("on_event", on_event, optional=True)
    v.check_bool("progress", progress)
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            "name must be 1-64 letters, digits, '.', '_' or '-' (it names temporary resources "
            f"such as the agent configuration's parameter), not {v.shown(name)}"
        )


def check_machines(migration: Migration, machines: object) -> list[SourceMachine]:
    """``plan()``'s machines: SourceMachine objects, each once, from the migration's region."""
    if isinstance(machines, MigrationPlan):
        raise InvalidInputError(
            "machines must be the SourceMachine objects from Ec2Discovery.discover(), not a "
            "MigrationPlan: pass the plan to run() instead"
        )
    if isinstance(machines, (str, bytes, Mapping, SourceMachine)) or not isinstance(
        machines, Iterable
    ):
        raise InvalidInputError(
            "machines must be a list of SourceMachine objects from Ec2Discovery.discover(), "
            f"not {v.shown(machines)}"
        )
    items = list(machines)
    if not items:
        raise InvalidInputError("plan() needs at least one machine")
    for item in items:
        if not isinstance(item, SourceMachine):
            raise InvalidInputError(
                "machines must hold SourceMachine objects from Ec2Discovery.discover(), "
                f"not {v.shown(item)}"
            )
    counts = Counter(m.instance_id for m in items)
    twice = sorted(iid for iid, n in counts.items() if n > 1)
    if twice:
        raise InvalidInputError(f"machines lists some instances twice: {', '.join(twice)}")
    check_region(migration, items)
    return items


def check_region(migration: Any, machines: Iterable[SourceMachine]) -> None:
    """Every machine must come from the region of the migration's EC2 client: that client stops,
    starts and tags them, and leases their security-group rules."""
    region = migration.ec2.region
    foreign = sorted(
        {f"{m.instance_id} ({m.region})" for m in machines if m.region and m.region != region}
    )
    if foreign:
        raise InvalidInputError(
            f"machines from another region than the migration's EC2 client ({region}): "
            f"{', '.join(foreign)}; use an Ec2Discovery of their region"
        )


def check_plan(migration: Any, plan: object, *, method: str = "run") -> MigrationPlan:
    """A :class:`MigrationPlan` (built by ``plan()``) for this migration's region."""
    if not isinstance(plan, MigrationPlan):
        hint = ""
        if isinstance(plan, (list, tuple)) and plan and isinstance(plan[0], SourceMachine):
            hint = ": make one from the machines with migration.plan(machines) first"
        raise InvalidInputError(
            f"{method}() takes the MigrationPlan from Migration.plan(), not {v.shown(plan)}{hint}"
        )
    check_region(migration, (p.machine for p in plan))
    return plan


def check_plan_options(*, test_migration: object, recovery_plan: object) -> None:
    """``plan()``'s options."""
    v.check_bool("test_migration", test_migration)
    if recovery_plan is not None and not isinstance(recovery_plan, RecoveryPlanSpec):
        raise InvalidInputError(
            f"recovery_plan must be a RecoveryPlanSpec or None, not {v.shown(recovery_plan)}"
        )


def check_run(
    *,
    until: object,
    test_migration: object,
    recovery_plan: object,
    timeout: object,
    discovery_timeout: object,
    drain_timeout: object,
    only_from: object,
) -> None:
    """``run()``'s options (``confirm_cutover`` has its own, stricter check)."""
    if not isinstance(until, Stage):
        raise InvalidInputError(
            f"until must be a Stage (Stage.COMPLETED ...), not {v.shown(until)}"
        )
    if only_from is not None and not isinstance(only_from, Stage):
        raise InvalidInputError(f"only_from must be a Stage or None, not {v.shown(only_from)}")
    check_plan_options(test_migration=test_migration, recovery_plan=recovery_plan)
    if timeout is not None:
        v.check_number("timeout", timeout, minimum=0)
    for label, value in (
        ("discovery_timeout", discovery_timeout),
        ("drain_timeout", drain_timeout),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InvalidInputError(f"{label} must be a positive number of seconds, not {value!r}")


def string_ids(name: str, value: object, plan: MigrationPlan) -> tuple[str, ...]:
    """A list of instance ids (one string alone is refused); membership in the plan is the
    caller's to judge (it says why in its own terms)."""
    return v.string_list(name, value, item="instance id")


def check_step_kwargs(method: str, kwargs: Mapping[str, Any], *, fixed: Iterable[str]) -> None:
    """A step method passes ``kwargs`` on to ``run()``: only run's options, minus the ones the
    step sets itself."""
    allowed = RUN_OPTIONS - set(fixed)
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InvalidInputError(
            f"{method}() got unexpected argument(s) {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(allowed))}"
        )


def preflight_installer(installer: object) -> None:
    """Let the installer refuse before anything is written (a missing agent configuration
    file, an executor that cannot work with the installer location): its optional
    ``preflight()`` method."""
    preflight = getattr(installer, "preflight", None)
    if callable(preflight):
        preflight()
