"""The ``ec2asr`` logger: silent unless configured; ASR's health warnings said once per machine,
and at DEBUG when ec2asr is about to act on them."""

from __future__ import annotations

import logging
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from ec2asr.azure.items import HealthIssue, ProtectedItem
from ec2asr.events import EventDispatcher, EventKind, MigrationEvent
from ec2asr.migration._observe import NO_TEST_FAILOVER, replication_progress
from ec2asr.migration._runtime import Live, RunOptions
from ec2asr.migration.journal import MachineRecord
from ec2asr.migration.stages import MachineStatus, Stage


def test_the_package_logger_has_a_null_handler() -> None:
    import ec2asr

    logger = logging.getLogger("ec2asr")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert ec2asr.__version__


def test_an_unconfigured_application_prints_no_records() -> None:
    # Without the NullHandler, logging's last resort prints WARNING records on stderr.
    code = (
        "import logging, ec2asr\n"
        "logging.getLogger('ec2asr.migration').warning('replication health: something')\n"
        "logging.getLogger('ec2asr').error('a failure')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stderr == ""


NO_TEST_FAILOVER_ISSUE = HealthIssue(
    code=NO_TEST_FAILOVER,
    message="No successful test failover has been done on the virtual machine 'web-01'.",
    recommended_action="Do a test failover on the virtual machine.",
    severity="Warning",
)
LOW_DISK = HealthIssue(
    code="78080",
    message="The cache storage account is nearly full.",
    recommended_action="Add space.",
    severity="Warning",
)


class _Runtime:
    """Just what ``replication_progress`` uses, with a real event dispatcher."""

    def __init__(self, *, test_migration: bool) -> None:
        self.seen: list[MigrationEvent] = []
        self.events = EventDispatcher([self.seen.append])
        self.options = RunOptions(test_migration=test_migration)
        self.reached: list[Stage] = []

    def update(self, live: Live, **changes: Any) -> MachineRecord:
        data = {**live.record.data, **changes.get("data", {})}
        live.record = attrs.evolve(live.record, data=data)
        return live.record

    def reach(self, live: Live, stage: Stage, message: str, **data: Any) -> None:
        self.reached.append(stage)


def _item(*issues: HealthIssue, protected: bool = False) -> Any:
    return SimpleNamespace(
        health_errors=issues,
        is_protected=protected,
        initial_replication_percent=None,
        last_rpo_seconds=None,
    )


def _live() -> Live:
    record = MachineRecord("i-1", "web-01", Stage.REPLICATING, MachineStatus.IN_PROGRESS)
    return Live(plan=SimpleNamespace(instance_id="i-1"), record=record)  # type: ignore[arg-type]


@pytest.mark.parametrize("test_migration", [True, False])
def test_a_warning_ec2asr_acts_on_goes_to_debug_others_once_per_machine(
    test_migration: bool, caplog: pytest.LogCaptureFixture
) -> None:
    rt = _Runtime(test_migration=test_migration)
    live = _live()
    item: ProtectedItem = _item(NO_TEST_FAILOVER_ISSUE, LOW_DISK, protected=False)
    with caplog.at_level(logging.DEBUG, logger="ec2asr"):
        for _ in range(3):  # three sweeps see the same issues
            replication_progress(rt, live, item)  # type: ignore[arg-type]
        replication_progress(rt, live, _item(NO_TEST_FAILOVER_ISSUE, protected=True))  # type: ignore[arg-type]
    records = [r for r in caplog.records if "replication health" in r.getMessage()]
    assert len(records) == 2  # each issue once for this machine, however many sweeps
    by_code = {("test failover" in r.getMessage()): r for r in records}
    no_test = by_code[True]
    assert by_code[False].levelno == logging.WARNING  # the user should know this one
    if test_migration:
        assert no_test.levelno == logging.DEBUG  # ec2asr runs the test migration next
        assert "ec2asr runs a test migration next" in no_test.getMessage()
        kinds = {e.data.get("code"): e.kind for e in rt.seen}
        assert kinds[NO_TEST_FAILOVER] is EventKind.INFO
    else:
        assert no_test.levelno == logging.WARNING  # nobody will: the user should know
    assert rt.reached == [Stage.PROTECTED]
