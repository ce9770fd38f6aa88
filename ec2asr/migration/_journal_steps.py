"""The journal's write-ahead steps (methods of :class:`~ec2asr.migration.journal.Journal`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ec2asr.errors import MigrationError
from ec2asr.migration._journal_sql import Host, json_object, step_from_row
from ec2asr.migration.records import StepRecord, StepState, dumps


class Steps:
    """Step methods of :class:`~ec2asr.migration.journal.Journal`."""

    def begin_step(
        self: Host, subject: str, step: str, *, detail: Mapping[str, Any] | None = None
    ) -> StepRecord:
        """Record that a step is about to run (write-ahead). Call it *before* the request.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
            MachineClaimedError: Another live worker holds the machine (PostgreSQL); nothing
                was written and the request must not be sent.
        """
        text = dumps(dict(detail or {}))
        now = self._now()
        with self._tx() as tx:
            self._fence(tx, subject)
            step_id = self._insert_id(
                tx,
                "INSERT INTO steps (subject, step, state, detail, started_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (subject, step, StepState.STARTED, text, now, now),
            )
            row = tx.execute("SELECT * FROM steps WHERE id=?", (step_id,)).fetchone()
            return step_from_row(row, self.location)

    def step_accepted(
        self: Host,
        step_id: int,
        *,
        job_name: str | None = None,
        polling_url: str | None = None,
        continuation_token: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> StepRecord:
        """Record that AWS/Azure accepted the step, with what is needed to follow it.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
        """
        return _update_step(
            self,
            step_id,
            state=StepState.ACCEPTED,
            job_name=job_name,
            polling_url=polling_url,
            continuation_token=continuation_token,
            detail=detail,
        )

    def end_step(
        self: Host,
        step_id: int,
        *,
        succeeded: bool,
        error: str | None = None,
        abandoned: bool = False,
        detail: Mapping[str, Any] | None = None,
    ) -> StepRecord:
        """Record how a step ended.

        Args:
            step_id: The step.
            succeeded: Whether it succeeded.
            error: The error message when it failed.
            abandoned: Reconciliation found it was never sent (or superseded).
            detail: Extra facts to merge.

        Raises:
            InvalidInputError: When ``detail`` holds a secret.
        """
        state = (
            StepState.ABANDONED
            if abandoned
            else (StepState.SUCCEEDED if succeeded else StepState.FAILED)
        )
        return _update_step(
            self,
            step_id,
            state=state,
            error=error,
            detail=detail,
            ended=True,
        )

    def steps(
        self: Host, subject: str | None = None, *, step: str | None = None
    ) -> list[StepRecord]:
        """Return steps, oldest first, optionally for one subject and/or one step name."""
        sql, params = "SELECT * FROM steps WHERE 1=1", []
        if subject is not None:
            sql += " AND subject=?"
            params.append(subject)
        if step is not None:
            sql += " AND step=?"
            params.append(step)
        rows = self._query(sql + " ORDER BY id", tuple(params))
        return [step_from_row(r, self.location) for r in rows]

    def open_steps(self: Host, subject: str | None = None) -> list[StepRecord]:
        """Return steps begun but not ended (what a crash interrupted), oldest first."""
        return [s for s in Steps.steps(self, subject) if s.is_open]

    def last_step(self: Host, subject: str, step: str) -> StepRecord | None:
        """Return the most recent record of one step for one subject, or None."""
        found = Steps.steps(self, subject, step=step)
        return found[-1] if found else None


def _update_step(
    host: Host,
    step_id: int,
    *,
    state: str,
    job_name: str | None = None,
    polling_url: str | None = None,
    continuation_token: str | None = None,
    detail: Mapping[str, Any] | None = None,
    error: str | None = None,
    ended: bool = False,
) -> StepRecord:
    dumps(dict(detail or {}))  # refuses a secret before anything is written
    now = host._now()
    with host._tx() as tx:
        row = tx.execute(f"SELECT * FROM steps WHERE id=?{host._LOCK_ROW}", (step_id,)).fetchone()
        if row is None:
            raise MigrationError(f"journal step {step_id} does not exist")
        host._fence(tx, row["subject"])
        merged = json_object(row["detail"], "steps", step_id, host.location)
        merged.update(detail or {})
        tx.execute(
            "UPDATE steps SET state=?, job_name=?, polling_url=?, continuation_token=?, "
            "detail=?, error=?, updated_at=?, ended_at=? WHERE id=?",
            (
                state,
                job_name if job_name is not None else row["job_name"],
                polling_url if polling_url is not None else row["polling_url"],
                continuation_token if continuation_token is not None else row["continuation_token"],
                dumps(merged),
                error if error is not None else row["error"],
                now,
                now if ended else row["ended_at"],
                step_id,
            ),
        )
        out = tx.execute("SELECT * FROM steps WHERE id=?", (step_id,)).fetchone()
        return step_from_row(out, host.location)
