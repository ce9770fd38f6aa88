"""The migration commands of ``python -m ec2asr``: plan, migrate, status, report, rollback, abort.

Each reads one JSON config file (:mod:`ec2asr._config`), validated before anything touches AWS
or Azure. Credentials, endpoints and time come from a :class:`CliEnvironment`
(:mod:`ec2asr._cli_env`): AWS and Azure from the config, or the rehearsal sandbox when the
config's endpoints are loopback ones (``python -m ec2asr sandbox`` writes such a config).
Messages speak the command line's language (``--confirm-cutover``, not ``confirm_cutover=True``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ec2asr._cli_env import CliEnvironment
from ec2asr._cli_exit import ExitCode, for_report, ready_for_cutover
from ec2asr._config import MigrationConfig, load_config
from ec2asr.errors import InvalidInputError
from ec2asr.migration._journal_pg import PostgresJournal
from ec2asr.migration._journal_sqlite import SqliteJournal
from ec2asr.migration.journal import Journal, is_database_url
from ec2asr.migration.report import MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage

if TYPE_CHECKING:
    from ec2asr.migration.facade import Migration
    from ec2asr.migration.plan import MigrationPlan

__all__ = ["CliEnvironment", "add_commands", "cli_voice", "environment"]

_MOVING = (MachineStatus.PENDING, MachineStatus.IN_PROGRESS)
_PYTHON_TO_CLI = (
    ("confirm_cutover=True", "--confirm-cutover"),
    ("test_migration=False", '"test_migration": false in the config'),
)


def cli_voice(text: str) -> str:
    """A message of the SDK, in the command line's words (its options, not Python's)."""
    for python, cli in _PYTHON_TO_CLI:
        text = text.replace(python, cli)
    return text


def _cli_report(report: MigrationReport) -> MigrationReport:
    machines = tuple(
        attrs.evolve(
            m,
            waiting=cli_voice(m.waiting) if m.waiting else m.waiting,
            error=cli_voice(m.error) if m.error else m.error,
        )
        for m in report
    )
    return attrs.evolve(report, machines=machines)


def environment() -> CliEnvironment:
    """The environment the commands use (tests may replace this function)."""
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


def _environment(config: MigrationConfig) -> CliEnvironment:
    return environment().with_clock(config.simulated_clock)


def _migration(
    config: MigrationConfig, env: CliEnvironment, installer: Any, *, progress: bool = False
) -> Migration:
    from ec2asr.aws.discovery import Ec2Discovery
    from ec2asr.azure.site_recovery import SiteRecoveryClient
    from ec2asr.migration.facade import Migration

    azure = config.azure
    options: dict[str, Any] = {"clock": env.monotonic} if env.monotonic is not None else {}
    if azure.arm_budget is not None:
        options["arm_budget"] = azure.arm_budget
    asr = SiteRecoveryClient(
        env.azure_credential(azure),
        azure.subscription_id,
        resource_group=azure.resource_group,
        vault=azure.vault,
        base_url=azure.base_url,
        sleep=env.sleep,
        **options,
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


def _installer(config: MigrationConfig, env: CliEnvironment, secret: Any = None) -> Any:
    extra: dict[str, Any] = {"sleep": env.sleep}
    if env.monotonic is not None:
        extra["clock"] = env.monotonic
    return config.installer.build(agent_config=secret, **extra)


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


def _print_report(report: MigrationReport, *, as_json: bool) -> MigrationReport:
    report = _cli_report(report)
    print(report.to_json() if as_json else str(report))
    return report


def cmd_plan(args: argparse.Namespace) -> int:
    """Discover, assess and plan; print the plan. Writes nothing."""
    config = _config(args)
    if args.validate_only:
        config.installer.read_agent_config()  # readable and not empty (never shown)
        print(f"{args.config}: valid (checked against the JSON Schema and ec2asr's own rules)")
        return ExitCode.OK
    env = _environment(config)
    with _migration(config, env, config.installer.build()) as migration:
        plan = _plan(config, migration)
    print(plan.to_json() if args.json else cli_voice(plan.explain()))
    _check_recovery_plan(config, plan)
    return ExitCode.BLOCKED if plan.blocked else ExitCode.OK


def cmd_migrate(args: argparse.Namespace) -> int:
    """Plan, then drive every machine that is not blocked up to ``--until``."""
    config = _config(args)
    until = Stage(args.until)
    if args.timeout is not None and args.timeout <= 0:
        raise InvalidInputError("--timeout must be a positive number of seconds")
    secret = config.installer.read_agent_config()  # a clear error before anything changes
    env = _environment(config)
    installer = _installer(config, env, secret)
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
    report = _print_report(report, as_json=args.json)
    ready = [m for m in report if ready_for_cutover(m) and until > Stage.TEST_CLEANED_UP]
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
    return for_report(report, unfinished=unfinished)


def _read_journal(
    args: argparse.Namespace, *, events: bool = False
) -> tuple[MigrationReport, list[dict[str, Any]]]:
    location: Path | str
    if args.journal:
        location, now = args.journal, environment().now
        schema = args.journal_schema or "ec2asr"
    else:
        config = load_config(args.config)
        location, now = config.journal, _environment(config).now
        schema = args.journal_schema or config.journal_schema
    journal = _journal(location, schema, read_only=True)
    if not journal.exists():
        raise InvalidInputError(
            f"there is no migration journal at {journal.location}: `migrate` creates it (check "
            "--journal or the config's journal)"
        )
    with journal:
        report = MigrationReport.from_records(journal.machines(), generated_at=now())
        return report, journal.events() if events else []


def cmd_status(args: argparse.Namespace) -> int:
    """Print the journal's report; needs no cloud access and no lock."""
    if args.events < 0:
        raise InvalidInputError("--events takes a number of events, 0 or more")
    report, events = _read_journal(args, events=args.events > 0)
    report = _print_report(report, as_json=args.json)
    if args.events and not args.json:
        print()
        for event in events[-args.events :]:
            who = f"{event['instance_id']}: " if event["instance_id"] else ""
            print(f"{event['at']}  {event['kind']:<15} {who}{cli_voice(event['message'])}")
    return for_report(report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the migration's timeline as one self-contained HTML page (from the journal)."""
    report, _ = _read_journal(args)
    report = _cli_report(report)
    out = Path(args.html)
    try:
        out.write_text(report.to_html(), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"--html: cannot write {out}: {exc.strerror}") from None
    print(f"wrote {out} ({report.summary()})")
    return ExitCode.OK


def cmd_rollback(args: argparse.Namespace) -> int:
    """Before commit: undo cutovers (deallocate the VM, disable protection, start the source)."""
    config = _config(args)
    env = _environment(config)
    with _migration(config, env, config.installer.build()) as migration:
        plan = _plan(config, migration)
        report = migration.rollback(plan, instance_ids=args.instance_id or None)
    return for_report(_print_report(report, as_json=args.json))


def cmd_abort(args: argparse.Namespace) -> int:
    """Revoke every security-group rule this migration leased."""
    config = _config(args)
    env = _environment(config)
    with _migration(config, env, config.installer.build()) as migration:
        revoked = migration.abort()
    for lease_id in revoked:
        print(f"revoked {lease_id}")
    print(f"{len(revoked)} leased rule(s) revoked; replication was left as it is")
    return ExitCode.OK


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

    plan = with_config(
        "plan", "plan a migration (reads only; exit 4 when machines are blocked)", cmd_plan
    )
    plan.add_argument(
        "--validate-only",
        action="store_true",
        help="only check the config (JSON Schema and ec2asr's rules); no AWS or Azure access",
    )
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
    migrate.add_argument("--no-progress", action="store_true", help="no progress display")
    rollback = with_config(
        "rollback", "before commit: undo cutovers and start the sources again", cmd_rollback
    )
    rollback.add_argument(
        "--instance-id", action="append", help="only this machine (repeatable; default: all)"
    )
    with_config("abort", "revoke every security-group rule the migration leased", cmd_abort)

    for name, func, text in (
        ("status", cmd_status, "the migration's report, read from its journal"),
        ("report", cmd_report, "the migration's timeline as one HTML page, from its journal"),
    ):
        parser = sub.add_parser(
            name, help=f"{text} (no cloud access)", description=f"{text} (no cloud, no lock)."
        )
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--config", metavar="FILE", help="the migration config (JSON)")
        _journal_options(parser, "the journal itself", group=where)
        parser.set_defaults(func=func)
        if name == "status":
            parser.add_argument("--json", action="store_true", help="machine-readable output")
            parser.add_argument(
                "--events", type=int, default=0, metavar="N", help="also print the last N events"
            )
        else:
            parser.add_argument(
                "--html", required=True, metavar="FILE", help="write the page to this file"
            )
