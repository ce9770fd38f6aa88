"""The facade's one-method-per-step surface: each step of :meth:`Migration.run` callable alone,
and the operations that undo or adjust a cutover (rollback, change of recovery point, abort)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ec2asr import _validate as v
from ec2asr.errors import CutoverNotConfirmedError, InvalidInputError, InvalidStateError
from ec2asr.migration._checks import check_plan, check_step_kwargs, string_ids
from ec2asr.migration._runtime import FleetContext, RunOptions, Runtime
from ec2asr.migration._workers import holding, refuse_if_held
from ec2asr.migration.plan import MigrationPlan, RecoveryPlanSpec
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import Stage

if TYPE_CHECKING:
    from ec2asr.aws.leases import SecurityGroupLeases
    from ec2asr.migration.journal import Journal

__all__ = ["StepMethods"]


class StepMethods:
    """Mixed into :class:`~ec2asr.migration.facade.Migration`."""

    if TYPE_CHECKING:
        journal: Journal

        @property
        def leases(self) -> SecurityGroupLeases: ...

        run: Callable[..., MigrationReport]

        def prepare(self, plan: MigrationPlan) -> FleetContext: ...

        def status(self) -> MigrationReport: ...

        def _runtime(self, options: RunOptions, fleet: FleetContext, *, total: int) -> Runtime: ...

    def install_agents(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Install (or hand over) the Mobility agent. See :meth:`run` for ``kwargs``."""
        check_step_kwargs("install_agents", kwargs, fixed=("until",))
        return self.run(plan, until=Stage.AGENT_INSTALLED, **kwargs)

    def enable_replication(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Install agents if needed, wait for discovery, enable replication."""
        check_step_kwargs("enable_replication", kwargs, fixed=("until",))
        return self.run(plan, until=Stage.REPLICATING, **kwargs)

    def wait_for_protection(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Carry on until initial replication finished for every machine."""
        check_step_kwargs("wait_for_protection", kwargs, fixed=("until",))
        return self.run(plan, until=Stage.PROTECTED, **kwargs)

    def test_migration(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Test failover into the isolated network, then clean it up."""
        check_step_kwargs("test_migration", kwargs, fixed=("until", "test_migration"))
        return self.run(plan, until=Stage.TEST_CLEANED_UP, test_migration=True, **kwargs)

    def cutover(
        self,
        plan: MigrationPlan,
        *,
        confirm_cutover: bool = False,
        recovery_plan: RecoveryPlanSpec | None = None,
        **kwargs: Any,
    ) -> MigrationReport:
        """Stop the sources and fail over (machines that finished their test migration).

        Raises:
            CutoverNotConfirmedError: Without ``confirm_cutover=True``.
        """
        check_step_kwargs("cutover", kwargs, fixed=("until", "only_from", "confirm_cutover"))
        _check_confirmation(confirm_cutover)
        if confirm_cutover is not True:
            raise CutoverNotConfirmedError(
                "cutover stops the EC2 instances and fails over to Azure; "
                "call it with confirm_cutover=True"
            )
        return self.run(
            plan,
            until=Stage.FAILED_OVER,
            confirm_cutover=True,
            recovery_plan=recovery_plan,
            only_from=Stage.TEST_CLEANED_UP,
            **kwargs,
        )

    def commit(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Commit the failover of machines that failed over (no rollback afterwards)."""
        check_step_kwargs("commit", kwargs, fixed=("until", "only_from", "confirm_cutover"))
        return self.run(
            plan, until=Stage.COMMITTED, confirm_cutover=True, only_from=Stage.FAILED_OVER, **kwargs
        )

    def complete(self, plan: MigrationPlan, **kwargs: Any) -> MigrationReport:
        """Complete the migration of committed machines (revoke leases, tag the sources)."""
        check_step_kwargs("complete", kwargs, fixed=("until", "only_from", "confirm_cutover"))
        return self.run(
            plan, until=Stage.COMPLETED, confirm_cutover=True, only_from=Stage.COMMITTED, **kwargs
        )

    def rollback(
        self, plan: MigrationPlan, *, instance_ids: Iterable[str] | None = None
    ) -> MigrationReport:
        """Before commit, undo a cutover the way the modernized ASR stack allows.

        A source that was stopped but not failed over is started again (replication carries
        on). A failed-over (uncommitted) machine cannot have its failover cancelled: its Azure
        VM is deallocated (kept for inspection), protection is disabled and the source started
        again; the next :meth:`run` re-enables replication, **which costs a new initial
        replication**. Recovery-plan members are rolled back together. Everything is checked
        before anything is written; an interrupted rollback is finished by calling it again.

        Args:
            plan: The migration's plan.
            instance_ids: The machines to roll back (default: every machine that can be).

        Raises:
            InvalidInputError: ``plan`` or ``instance_ids`` is not of the right type.
            InvalidStateError: A named machine is not in the plan, was never migrated or
                stopped, or its failover was committed (then the source is no longer the
                primary); or only some members of a recovery plan are named.
            JournalLockedError: Another process drives this journal.
            MachineClaimedError: Live workers drive some of the machines (PostgreSQL):
                nothing was changed.
        """
        from ec2asr.migration._rollback import check_request, rollback

        plan = check_plan(self, plan, method="rollback")
        if instance_ids is not None:
            instance_ids = string_ids("instance_ids", instance_ids, plan)
            unknown = set(instance_ids) - {p.instance_id for p in plan}
            if unknown:
                raise InvalidStateError(f"not in the plan: {', '.join(sorted(unknown))}")
        self.journal.open()
        records = check_request(self.journal, plan, instance_ids)  # refuse before any write
        if not records:
            return self.status()  # nothing to roll back: nothing is prepared either
        with holding(self.journal, [r.instance_id for r in records], "roll back"):
            fleet = self.prepare(plan)
            rt = self._runtime(RunOptions(until=Stage.COMPLETED), fleet, total=len(plan))
            rollback(rt, plan, records)
        return self.status()

    def change_recovery_point(
        self, plan: MigrationPlan, instance_id: str, recovery_point_id: str
    ) -> MigrationReport:
        """After a failover and before its commit, move a machine's Azure VM to another of its
        recovery points (ASR's ``ChangePit``; list them with
        ``asr.list_recovery_points``). The next run journals the new point and commits.

        Raises:
            InvalidInputError: ``recovery_point_id`` is empty.
            InvalidStateError: The machine is not failed over (or already committed).
            JournalLockedError: Another process drives this journal.
            MachineClaimedError: A live worker drives the machine (PostgreSQL).
        """
        from ec2asr.migration._rollback import change_point

        plan = check_plan(self, plan, method="change_recovery_point")
        (instance_id,) = string_ids("instance_id", [instance_id], plan)
        if instance_id not in {p.instance_id for p in plan}:
            raise InvalidStateError(f"not in the plan: {instance_id}")
        if not isinstance(recovery_point_id, str) or "/recoveryPoints/" not in recovery_point_id:
            raise InvalidInputError(
                "recovery_point_id must be a recovery point's ARM id, "
                f"not {v.shown(recovery_point_id)}"
            )
        self.journal.open()
        record = self.journal.machine(instance_id)
        if record is None or record.stage is not Stage.FAILED_OVER:
            stage = record.stage.value if record is not None else "never migrated"
            raise InvalidStateError(
                f"{instance_id} is {stage}: the recovery point can be changed only after a "
                "failover and before its commit"
            )
        with holding(self.journal, [instance_id], "change the recovery point"):
            fleet = self.prepare(plan)
            rt = self._runtime(RunOptions(until=Stage.FAILED_OVER), fleet, total=1)
            change_point(rt, plan, instance_id, recovery_point_id)
        return self.status()

    def abort(self) -> tuple[str, ...]:
        """Stop using temporary network access: revoke every security-group rule this migration
        leased (for machines in any stage). Replication itself is left as it is; a later
        :meth:`run` leases again what it still needs.

        Returns:
            The ids of the leases revoked.

        Raises:
            JournalLockedError: Another process drives this journal.
            MachineClaimedError: Live workers drive machines of this journal (PostgreSQL):
                nothing was revoked.
            AwsError: AWS refused to revoke a rule (the journal keeps it for the next try).
        """
        self.journal.open()
        # Every leased rule is revoked, so no machine of the journal may be driven meanwhile.
        refuse_if_held(self.journal, self.journal.holders(), "abort")
        holders = {h for lease in self.journal.leases() for h in lease.holders}
        with holding(self.journal, sorted(holders), "abort"):
            revoked = self.leases.revoke_all()
        return tuple(lease.lease_id for lease in revoked)


def _check_confirmation(confirm_cutover: object) -> None:
    """Only the literal ``True`` confirms a cutover; ``False`` declines it; anything else (a
    truthy string, 1, None) is refused before anything is changed.

    Raises:
        InvalidInputError: ``confirm_cutover`` is not a bool.
    """
    if confirm_cutover is not True and confirm_cutover is not False:
        raise InvalidInputError(
            f"confirm_cutover must be True or False, not {confirm_cutover!r} "
            f"({type(confirm_cutover).__name__}): only the literal True confirms a cutover"
        )
