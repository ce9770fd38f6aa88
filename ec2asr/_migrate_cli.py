"""The migration commands of ``python -m ec2asr``: plan, migrate, status, rollback, abort.

Each reads one JSON config file (:mod:`ec2asr._config`), validated before anything touches AWS
or Azure. Credentials and time come from a :class:`CliEnvironment`: the real one uses a boto3
session (the config's profile) and azure-identity's ``DefaultAzureCredential``; tests replace
:func:`environment` to run the same commands against the rehearsal sandbox.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ec2asr._config import AwsConfig, AzureConfig, MigrationConfig, load_config
from ec2asr.errors import InvalidInputError
from ec2asr.migration._journal_pg import PostgresJournal
from ec2asr.migration._journal_sqlite import SqliteJournal
from ec2asr.migration.journal import Journal, is_database_url
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration.facade import Migration
    from ec2asr.migration.plan import MigrationPlan

__all__ = ["CliEnvironment", "add_commands", "environment"]

EXIT_OK = 0
EXIT_MACHINES = 3
"""Exit status when machines are blocked or failed."""
_MOVING = (MachineStatus.PENDING, MachineStatus.IN_PROGRESS)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aws_session(aws: AwsConfig) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session(region_name=aws.region, profile_name=aws.profile)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise InvalidInputError(f"aws.profile: {exc}") from exc


def _azure_credential(azure: AzureConfig) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@attrs.frozen
class CliEnvironment:
    """What the commands take from the world: credentials and time.

    Attributes:
        aws_session: Builds the boto3 session from the ``aws`` section.
        azure_credential: Builds the Azure ``TokenCredential`` from the ``azure`` section.
        sleep: How to wait.
        now: The current time (UTC).
    """

    aws_session: Callable[[AwsConfig], Any] = _aws_session
    azure_credential: Callable[[AzureConfig], Any] = _azure_credential
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utcnow


def environment() -> CliEnvironment:
    """The environment the commands use (the real one; tests patch this function)."""
    return CliEnvironment()


def _journal(location: Path | str, schema: str, *, read_only: bool = False) -> Journal:
    """The journal at ``location``: a SQLite file, or a team's PostgreSQL database."""
    if is_database_url(location):
        return PostgresJournal(str(location), schema=schema, read_only=read_only)
    return SqliteJournal(location, read_only=read_only)


def _config(args: argparse.Namespace) -> MigrationConfig:
    """The config file, with ``--journal``/``--journal-schema`` taking precedence."""
    config = load_config(args.config)
    journal = getattr(args, "journal", None)
    schema = getattr(args, "journal_schema", None) or config.journal_schema
    if journal:
        location = journal if is_database_url(journal) else Path(journal)
        _journal(location, schema)  # refuses a bad URL or schema before anything else
        config = attrs.evolve(config, journal=location, journal_schema=schema)
    elif schema != config.journal_schema:
        _journal(config.journal, schema)
        config = attrs.evolve(config, journal_schema=schema)
    return config


def _migration(
    config: MigrationConfig, env: CliEnvironment, installer: Any, *, progress: bool = False
) -> Migration:
    from ec2asr.aws.discovery import Ec2Discovery
    from ec2asr.azure.site_recovery import SiteRecoveryClient
    from ec2asr.migration.facade import Migration

    azure = config.azure
    asr = SiteRecoveryClient(
        env.azure_credential(azure),
        azure.subscription_id,
        resource_group=azure.resource_group,
        vault=azure.vault,
        base_url=azure.base_url,
        sleep=env.sleep,
    )
    return Migration(
        ec2=Ec2Discovery(env.aws_session(config.aws)),
        asr=asr,
        installer=installer,
        target=config.target,
        policy=config.policy,
        journal=_journal(config.journal, config.journal_schema),
        appliance=azure.appliance,
        vault_location=azure.vault_location,
        manage_security_groups=config.manage_security_groups,
        concurrency=config.concurrency,
        poll_interval=config.poll_interval,
        sleep=env.sleep,
        now=env.now,
        progress=progress,
        name=config.name,
    )


def _plan(config: MigrationConfig, migration: Migration) -> MigrationPlan:
    machines = migration.ec2.discover(**config.aws.selectors())
    if not machines:
        raise InvalidInputError(
            f"{config.source}: aws: no instance matches the selectors (terminated instances "
            "are never listed)"
        )
    return migration.plan(
        machines,
        acknowledge_instance_store=config.acknowledge_instance_store,
        test_migration=config.test_migration,
        recovery_plan=config.recovery_plan,
    )


def _check_recovery_plan(config: MigrationConfig, plan: MigrationPlan) -> None:
    from ec2asr.migration import _recovery_plan

    if config.recovery_plan is not None:
        try:
            _recovery_plan.validate(config.recovery_plan, [p.instance_id for p in plan.to_migrate])
        except InvalidInputError as exc:
            raise InvalidInputError(f"{config.source}: recovery_plan: {exc}") from None


def _print_report(report: MigrationReport, *, as_json: bool) -> int:
    print(report.to_json() if as_json else str(report))
    return EXIT_MACHINES if report.failed or report.blocked else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    """Discover, assess and plan; print the plan. Writes nothing."""
    config = _config(args)
    env = environment()
    with _migration(config, env, config.installer.build()) as migration:
        plan = _plan(config, migration)
    print(plan.to_json() if args.json else plan.explain())
    _check_recovery_plan(config, plan)
    return EXIT_MACHINES if plan.blocked else EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    """Plan, then drive every machine that is not blocked up to ``--until``."""
    config = _config(args)
    until = Stage(args.until)
    if args.timeout is not None and args.timeout <= 0:
        raise InvalidInputError("--timeout must be a positive number of seconds")
    secret = config.installer.read_agent_config()  # a clear error before anything changes
    env = environment()
    installer = config.installer.build(agent_config=secret, sleep=env.sleep)
    with _migration(config, env, installer, progress=not args.no_progress) as migration:
        plan = _plan(config, migration)
        _check_recovery_plan(config, plan)
        print(plan.summary(), file=sys.stderr)
        for blocked in plan.blocked:
            reasons = "; ".join(blocked.blockers)
            print(f"  not migrated: {blocked.machine.display_name}: {reasons}", file=sys.stderr)
        report = migration.run(
            plan,
            until=until,
            confirm_cutover=args.confirm_cutover,
            test_migration=config.test_migration,
            recovery_plan=config.recovery_plan,
            timeout=args.timeout,
            discovery_timeout=config.discovery_timeout,
        )
    status = _print_report(report, as_json=args.json)
    ready = [
        m
        for m in report
        if m.stage is Stage.TEST_CLEANED_UP
        and m.status is MachineStatus.WAITING
        and until > Stage.TEST_CLEANED_UP
    ]
    people = [m for m in report if m.status is MachineStatus.WAITING and m not in ready]
    if people:
        print(
            f"{len(people)} machine(s) wait for a person (their note says what to do): "
            "run the same command again afterwards.",
            file=sys.stderr,
        )
    unfinished = [m for m in report if m.stage < until and m.status in _MOVING]
    if unfinished:
        print(
            f"{len(unfinished)} machine(s) have not reached {until.value} yet (--timeout): "
            "run the same command again to carry on (the journal has every step).",
            file=sys.stderr,
        )
    if ready and not args.confirm_cutover:
        print(
            f"{len(ready)} machine(s) are ready for cutover. Nothing was stopped or failed over: "
            f"run `python -m ec2asr migrate --config {args.config} --confirm-cutover` to stop "
            "the sources and fail over.",
            file=sys.stderr,
        )
    return status


def cmd_status(args: argparse.Namespace) -> int:
    """Print the journal's report; needs no cloud access and no lock."""
    if args.events < 0:
        raise InvalidInputError("--events takes a number of events, 0 or more")
    if args.journal:
        location: Path | str = args.journal
        schema = args.journal_schema or "ec2asr"
    else:
        config = load_config(args.config)
        location, schema = config.journal, args.journal_schema or config.journal_schema
    with _journal(location, schema, read_only=True) as journal:
        report = MigrationReport.from_records(journal.machines(), generated_at=environment().now())
        events = journal.events()[-args.events :] if args.events else []
    status = _print_report(report, as_json=args.json)
    if events and not args.json:
        print()
        for event in events:
            who = f"{event['instance_id']}: " if event["instance_id"] else ""
            print(f"{event['at']}  {event['kind']:<15} {who}{event['message']}")
    return status


def cmd_rollback(args: argparse.Namespace) -> int:
    """Before commit: undo cutovers (deallocate the VM, disable protection, start the source)."""
    config = _config(args)
    env = environment()
    with _migration(config, env, config.installer.build()) as migration:
        plan = _plan(config, migration)
        report = migration.rollback(plan, instance_ids=args.instance_id or None)
    return _print_report(report, as_json=args.json)


def cmd_abort(args: argparse.Namespace) -> int:
    """Revoke every security-group rule this migration leased."""
    config = _config(args)
    env = environment()
    with _migration(config, env, config.installer.build()) as migration:
        revoked = migration.abort()
    for lease_id in revoked:
        print(f"revoked {lease_id}")
    print(f"{len(revoked)} leased rule(s) revoked; replication was left as it is")
    return EXIT_OK


def _journal_options(parser: Any, text: str, *, group: Any = None) -> None:
    (group or parser).add_argument(
        "--journal",
        metavar="FILE|URL",
        help=f"{text}: a SQLite file or a postgresql:// URL (a team's shared journal; leave "
        "the password out: libpq reads PGPASSWORD or ~/.pgpass)",
    )
    parser.add_argument(
        "--journal-schema",
        metavar="NAME",
        help="the PostgreSQL schema of a postgresql:// journal (default: ec2asr)",
    )


def add_commands(sub: Any) -> None:
    """Register the migration commands on an ``argparse`` subparsers object."""
    stages = [s.value for s in Stage if s is not Stage.PLANNED]

    def with_config(name: str, text: str, func: Callable[[argparse.Namespace], int]) -> Any:
        parser = sub.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--config", required=True, metavar="FILE", help="the migration config (JSON)"
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        _journal_options(parser, "instead of the config's journal")
        parser.set_defaults(func=func)
        return parser

    with_config("plan", "plan a migration (reads only; exit 3 when machines are blocked)", cmd_plan)
    migrate = with_config("migrate", "run (or resume) the migration", cmd_migrate)
    migrate.add_argument(
        "--until",
        choices=stages,
        default=Stage.COMPLETED.value,
        metavar="STAGE",
        help=f"stop once machines reach this stage ({', '.join(stages)}; default: completed)",
    )
    migrate.add_argument(
        "--confirm-cutover",
        action="store_true",
        help="allow stopping the EC2 instances and failing over (without it nothing is stopped)",
    )
    migrate.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="return after waiting this long (run again to carry on)",
    )
    migrate.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    rollback = with_config(
        "rollback", "before commit: undo cutovers and start the sources again", cmd_rollback
    )
    rollback.add_argument(
        "--instance-id", action="append", help="only this machine (repeatable; default: all)"
    )
    with_config("abort", "revoke every security-group rule the migration leased", cmd_abort)

    status = sub.add_parser(
        "status",
        help="the migration's report, read from its journal (no cloud access)",
        description="The migration's report, read from its journal (no cloud access, no lock).",
    )
    where = status.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", metavar="FILE", help="the migration config (JSON)")
    _journal_options(status, "the journal itself", group=where)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--events", type=int, default=0, metavar="N", help="also print the last N events"
    )
    status.set_defaults(func=cmd_status)
