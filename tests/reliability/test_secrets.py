"""Secrets never leak: a migration with a distinctive agent configuration (its one-time
password is the marker) and a run-as password handed to every place a user might mistakenly
put it, with DEBUG logging on the ec2asr, azure, botocore and urllib3 loggers. Neither appears
in the logs, the journal's bytes (the SQLite file and its -wal), the reports (text, JSON, HTML),
the reprs, the exception texts, or the commands sent to SSM Run Command.

On the PostgreSQL journal the journal's bytes are every row of its schema as ``COPY ... TO
STDOUT`` writes them, psycopg's logger is on DEBUG too, and the database password is a third
marker: it is written into the journal's URL (as a user might on a command line; the test
server trusts local connections, so it is never needed) and must appear nowhere either.
"""

from __future__ import annotations

import json
import logging
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import ec2asr
from ec2asr.migration.stages import Stage
from tests._journals import PG_URL, dump_schema
from tests.e2e._migration import TARGET, fast_sandbox, make_migration, sim_sleep
from tests.reliability.conftest import Figures

RUN_AS_PASSWORD = "Run-As-P4ssw0rd-EC2ASR-MARKER-7f3e"
DB_PASSWORD = "Db-P4ssw0rd-EC2ASR-MARKER-91c2"
LOGGERS = ("ec2asr", "azure", "botocore", "boto3", "urllib3", "psycopg")


def _with_password(url: str, password: str, port: int | None = None) -> str:
    """``url`` with ``password`` written into it (and another port, to make it fail)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{parts.username or 'postgres'}:{password}@{host}:{port or parts.port or 5432}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _needles(*secrets: str) -> list[str]:
    """Each secret, and the forms it takes once escaped into JSON, a repr or a bytes repr."""
    out: set[str] = set()
    for value in secrets:
        for form in (value, json.dumps(value)[1:-1]):
            out.update({form, repr(form)[1:-1], repr(form.encode())[2:-1]})
    return sorted(out)


class Haystack:
    """Every text the run produced, by where it came from."""

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = {}

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.texts.setdefault(where, []).append(text)

    def found(self, needles: list[str]) -> dict[str, int]:
        return {
            where: hits
            for where, texts in self.texts.items()
            if (hits := sum(t.count(n) for t in texts for n in needles))
        }

    def contexts(self, needles: list[str]) -> list[str]:
        """Where each hit is, with 60 characters around it (for the failure message)."""
        out = []
        for where, texts in self.texts.items():
            for text in texts:
                for needle in needles:
                    at = text.find(needle)
                    if at >= 0:
                        out.append(f"{where}: ...{text[max(0, at - 60) : at + 60]!r}...")
        return out


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _raises(stack: Haystack, call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception as exc:  # every error text counts, whatever its type
        stack.add("exception texts", "".join(traceback.format_exception(exc)))
        stack.add("exception texts", repr(exc))
    else:
        raise AssertionError("expected an error")


def _misplaced_password(stack: Haystack, tmp_path: Path) -> int:
    """The run-as password where it does not belong: each place refuses it without echoing it."""
    pw = ec2asr.Secret(RUN_AS_PASSWORD, label="run-as password")
    stack.add("reprs", repr(pw) + str(pw) + f"{pw}")
    calls: list[Callable[[], Any]] = [
        lambda: ec2asr.PushInstall(pw),  # type: ignore[arg-type]
        lambda: ec2asr.PushInstall({"windows": pw}),  # type: ignore[dict-item]
        lambda: ec2asr.PushInstall({RUN_AS_PASSWORD: "admin"}),
        lambda: ec2asr.Secret(RUN_AS_PASSWORD.encode()),  # type: ignore[arg-type]
        lambda: ec2asr.ManualInstall(pw, pw),  # type: ignore[arg-type]
        lambda: json.dumps({"pw": pw}),
        lambda: __import__("pickle").dumps(pw),
        lambda: attrs.evolve(TARGET, tags={"password": pw}),
    ]
    from ec2asr._config import parse_config

    calls.append(
        lambda: parse_config(
            {"azure": {"password": RUN_AS_PASSWORD}}, source="m.json", base_dir=tmp_path
        )
    )
    for call in calls:
        _raises(stack, call)
    return len(calls)


def _journal_bytes(stack: Haystack, journal: Path | ec2asr.PostgresJournal, ids: list[str]) -> None:
    if isinstance(journal, ec2asr.PostgresJournal):
        rows = dump_schema(journal.schema)
        assert all(iid.encode() in rows for iid in ids)  # the dump holds the run's rows
        stack.add("journal bytes", rows)
        return
    # The SQLite file, its -wal (the latest pages while it is open) and -shm.
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(journal) + suffix)
        if path.exists():
            stack.add("journal bytes", path.read_bytes())


def test_no_secret_anywhere(
    tmp_path: Path,
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
    request: pytest.FixtureRequest,
    figures: Figures,
) -> None:
    stack = Haystack()
    journal: Path | ec2asr.PostgresJournal = tmp_path / "migration.sqlite"
    secrets = [RUN_AS_PASSWORD]
    with fast_sandbox() as sandbox:
        if backend == "postgres":
            journal = ec2asr.PostgresJournal(
                _with_password(PG_URL, DB_PASSWORD),
                schema=request.getfixturevalue("pg_schema"),
                clock=sandbox.now,
                budget_clock="caller",
            )
            secrets.append(DB_PASSWORD)
            stack.add("reprs", repr(journal) + str(journal) + journal.location)
            # A database that does not answer: the error names it, not its password.
            _raises(
                stack,
                lambda: ec2asr.PostgresJournal(
                    _with_password(PG_URL, DB_PASSWORD, port=1), connect_timeout=2
                ).open(),
            )
        ids = sandbox.seed_fleet(profiles=["win2016", "rhel8", "rhel79"]).instance_ids
        config = sandbox.emulator.mobility_configuration().reveal()
        otp = json.loads(config)["Otp"]
        session = sandbox.new_aws_session()
        discovery = ec2asr.Ec2Discovery(session)
        machines = discovery.discover(instance_ids=ids)
        executor = ec2asr.SsmRunCommand(
            discovery.ssm_client, poll_interval=5, sleep=sim_sleep(sandbox)
        )
        installer = ec2asr.ManualInstall(
            executor,
            ec2asr.Secret(config, label="agent configuration"),
            installer_location="s3://asr-installers/agents/",
        )
        with make_migration(
            sandbox, journal, installer=installer, manage_security_groups=True
        ) as migration:
            migration.ec2 = discovery
            plan = migration.plan(machines)
            report = migration.run(plan, confirm_cutover=True)
            assert {m.stage for m in report} == {Stage.COMPLETED}, report.summary()
            _journal_bytes(stack, journal, ids)  # while it is open
            stack.add("reprs", repr(migration) + repr(installer) + repr(executor) + repr(plan))
            stack.add("reports", str(report) + report.to_json() + report._repr_html_())
            stack.add("reports", report.summary() + json.dumps(report.to_dict(), default=str))
            stack.add(
                "reports", str(plan) + plan.explain() + json.dumps(plan.to_dict(), default=str)
            )
            stack.add("reports", "".join(m.note for m in report))
            stack.add("reports", repr(report) + "".join(map(repr, report)))
        # The same agent configuration, wrong on purpose: the errors name no part of it.
        wrong = ec2asr.ManualInstall(
            executor, ec2asr.Secret(config.replace(otp, otp[::-1])), installer_location="/x"
        )
        stack.add("reprs", repr(wrong))
        _raises(stack, lambda: ec2asr.SsmRunCommand(parameter_prefix=config))
        _raises(stack, lambda: ec2asr.ManualInstall(executor, "  "))
        misplaced = _misplaced_password(stack, tmp_path)
        commands = sandbox.ssm_backend()._commands
        assert commands, "no Run Command was sent"
        for command in commands:
            stack.add("ssm command texts", json.dumps(command.parameters))
            stack.add("ssm command texts", json.dumps(command.response_object(), default=str))
        # The configuration really went through: the configurator registered every machine
        # with it, through Run Command.
        registered = {
            e.instance_id
            for e in sandbox.emulator.registration_log
            if e.method == "manual" and e.registered and e.command_id
        }
        assert registered == set(ids)
        # The parameter the scripts read is removed once the agents are installed.
        assert not [p for p in sandbox.ssm_backend()._parameters if p.startswith("/ec2asr/")]
        _journal_bytes(stack, journal, ids)  # closed
    for record in debug_logs.records:
        stack.add("logs", record.getMessage())
        if record.exc_info:
            stack.add("logs", "".join(traceback.format_exception(*record.exc_info)))
    assert len(debug_logs.records) > 100  # DEBUG really was on
    assert any(r.name.startswith("botocore") for r in debug_logs.records)
    assert any(r.name.startswith("azure") for r in debug_logs.records)

    if backend == "postgres":
        assert any(r.name.startswith("psycopg") for r in debug_logs.records)
    needles = _needles(config, otp, *secrets)
    found = stack.found(needles)
    assert found == {}, "\n".join(stack.contexts(needles))
    searched = {where: len(texts) for where, texts in stack.texts.items()}
    figures.set("backend", backend)
    figures.set("secrets_found", sum(found.values()))
    figures.set("places_searched", searched)
    figures.set("log_records_searched", len(debug_logs.records))
    figures.set("misplaced_password_refusals", misplaced)
