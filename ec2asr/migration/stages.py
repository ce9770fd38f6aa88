"""The stages a machine moves through, in order."""

from __future__ import annotations

import enum

__all__ = ["MachineStatus", "Stage"]


class Stage(str, enum.Enum):
    """Where a machine is in the migration; stages are ordered (``PROTECTED < COMPLETED``).

    ``run(plan, until=...)`` drives every machine up to and including the given stage.
    """

    PLANNED = "planned"
    """In the plan; nothing done yet."""
    PREPARED = "prepared"
    """Vault, appliance, policy and network checked or prepared."""
    AGENT_INSTALLED = "agent-installed"
    """Mobility agent installed (manual), or the machine was handed to the appliance (push)."""
    DISCOVERED = "discovered"
    """The appliance discovered the machine and ec2asr matched it to the EC2 instance."""
    REPLICATING = "replicating"
    """Replication was enabled; initial replication runs."""
    PROTECTED = "protected"
    """Initial replication finished; recovery points are being taken."""
    TEST_MIGRATED = "test-migrated"
    """A test failover into the isolated test network succeeded."""
    TEST_CLEANED_UP = "test-cleaned-up"
    """The test failover's resources were removed again."""
    SOURCE_STOPPED = "source-stopped"
    """The EC2 instance was stopped for cutover (never terminated)."""
    FAILED_OVER = "failed-over"
    """Failed over to a recovery point taken after the stop."""
    COMMITTED = "committed"
    """The failover was committed; rollback is no longer possible."""
    COMPLETED = "completed"
    """Migration completed: replication removed, temporary rules revoked, source tagged."""

    @property
    def order(self) -> int:
        """Position in the order of stages (0 for ``PLANNED``)."""
        return _ORDER[self]

    # Stage is a str: its inherited comparisons are alphabetical, so all four are defined here
    # (functools.total_ordering would keep str's).
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return _ORDER[self] < _ORDER[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return _ORDER[self] <= _ORDER[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return _ORDER[self] > _ORDER[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return _ORDER[self] >= _ORDER[other]

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __str__(self) -> str:
        return self.value

    @property
    def next(self) -> Stage | None:
        """The stage after this one, or None after ``COMPLETED``."""
        members = list(Stage)
        i = _ORDER[self]
        return members[i + 1] if i + 1 < len(members) else None


_ORDER = {stage: i for i, stage in enumerate(Stage)}


class MachineStatus(str, enum.Enum):
    """How a machine is doing at its current stage."""

    PENDING = "pending"
    """Waiting for its next step."""
    IN_PROGRESS = "in-progress"
    """A step is running (an ASR job, an SSM command, an instance stop...)."""
    WAITING = "waiting"
    """Waiting for something outside ec2asr (a person on the appliance, a confirmation)."""
    DONE = "done"
    """Reached the stage the run was asked to reach."""
    FAILED = "failed"
    """A step failed permanently; the error is recorded. Other machines carry on."""
    BLOCKED = "blocked"
    """Not migrated: readiness or connectivity blockers."""
    ROLLED_BACK = "rolled-back"
    """The failover was cancelled and the source started again."""

    def __str__(self) -> str:
        return self.value
