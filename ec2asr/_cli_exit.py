"""The command line's exit statuses: one per outcome a script must tell apart.

When several apply, the first in this order wins: FAILED, WAITING, UNFINISHED, BLOCKED.
``docs/cli.md`` shows :data:`MEANINGS` as a table (a test keeps them equal).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from ec2asr.migration.report import MachineReport, MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["MEANINGS", "ExitCode", "for_report", "ready_for_cutover"]


class ExitCode(enum.IntEnum):
    """Exit statuses of ``python -m ec2asr`` (:data:`MEANINGS` says what each means)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    FAILED = 3
    BLOCKED = 4
    WAITING = 5
    UNFINISHED = 6
    ERROR = 7
    INTERRUPTED = 130


MEANINGS = {
    ExitCode.OK: (
        "success: every machine did what the command asked (a machine ready for cutover, "
        "which needs `--confirm-cutover`, counts as done)"
    ),
    ExitCode.INTERNAL: "an unexpected error inside ec2asr (a bug: `-vv` shows the traceback)",
    ExitCode.USAGE: "bad arguments or a bad config file: nothing was read or changed",
    ExitCode.FAILED: "some machines failed (their note has the error); the others carried on",
    ExitCode.BLOCKED: (
        "some machines are blocked (readiness or network) and not migrated; none failed"
    ),
    ExitCode.WAITING: (
        "some machines wait for a person (their note says what to do); then run again"
    ),
    ExitCode.UNFINISHED: (
        "`--timeout` returned before every machine got there: run the same command again"
    ),
    ExitCode.ERROR: (
        "AWS or Azure refused or failed a fleet-wide step, or another process holds the "
        "journal: nothing is lost (the journal has every step); fix the cause, run again"
    ),
    ExitCode.INTERRUPTED: (
        "interrupted (Ctrl-C): every step is in the journal; run the same command again"
    ),
}


def ready_for_cutover(machine: MachineReport) -> bool:
    """True when the machine waits only for the cutover to be confirmed."""
    return (
        machine.stage is Stage.TEST_CLEANED_UP
        and machine.status is MachineStatus.WAITING
        and (machine.waiting or "").startswith("ready for cutover")
    )


def for_report(report: MigrationReport, *, unfinished: Iterable[MachineReport] = ()) -> ExitCode:
    """The exit status a migration's report calls for (see the module docstring)."""
    if report.failed:
        return ExitCode.FAILED
    if any(m.status is MachineStatus.WAITING and not ready_for_cutover(m) for m in report):
        return ExitCode.WAITING
    if any(True for _ in unfinished):
        return ExitCode.UNFINISHED
    if report.blocked:
        return ExitCode.BLOCKED
    return ExitCode.OK
