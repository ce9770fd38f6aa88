"""The command line's migration config: one JSON file, validated before any I/O.

:func:`load_config` reads the file and :func:`parse_config` checks every key (types, ranges,
ARM ids, installer options) and builds the SDK's own value types (:class:`TargetSettings`,
:class:`ReplicationPolicy`, :class:`RecoveryPlanSpec`), so a typo fails with an
:class:`~ec2asr.errors.InvalidInputError` naming the key before AWS or Azure is touched.

Credentials never come from this file (AWS: the profile or the environment; Azure:
``DefaultAzureCredential``); keys that look like secrets are refused. Relative paths are relative
to the config file's folder. Keys starting with ``_`` in a section are comments and ignored.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from ec2asr import _config_schema
from ec2asr._config_installer import InstallerConfig, parse_installer
from ec2asr._config_reader import Section, config_path, wrap
from ec2asr._config_types import (
    AwsConfig,
    AzureConfig,
    MigrationConfig,
    SimulatedClockConfig,
    sandbox_url,
)
from ec2asr.aws._selection import validate as validate_selectors
from ec2asr.errors import Ec2AsrError, InvalidInputError
from ec2asr.migration import _recovery_plan
from ec2asr.migration._journal_pg import PostgresJournal
from ec2asr.migration._pg_schema import check_schema_name
from ec2asr.migration.journal import is_database_url
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.settings import ReplicationPolicy, TargetSettings

__all__ = [
    "AwsConfig",
    "AzureConfig",
    "InstallerConfig",
    "MigrationConfig",
    "SimulatedClockConfig",
    "load_config",
    "parse_config",
]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


# The keys come from the JSON Schema (ec2asr/config.schema.json), the one source of truth.
_TOP = _config_schema.keys()
_AWS = _config_schema.keys("aws")
_AZURE = _config_schema.keys("azure")
_TARGET = _config_schema.keys("target")
_POLICY = _config_schema.keys("policy")


def load_config(path: str | os.PathLike[str]) -> MigrationConfig:
    """Read and validate a migration config file.

    Raises:
        InvalidInputError: The file cannot be read, is not JSON, or a key is invalid (the
            message names the key).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(f"cannot read the config file {file}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{file}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_config(data, source=str(file), base_dir=file.resolve().parent)


def parse_config(data: Any, *, source: str, base_dir: Path, schema: bool = True) -> MigrationConfig:
    """Validate a parsed config (see the module docstring); no I/O.

    The JSON Schema is checked first (keys, types, ranges), then what needs code (ARM ids,
    selectors, boot groups, the paths).

    Args:
        data: The parsed JSON.
        source: How to name the config in messages (its path).
        base_dir: What relative paths are relative to.
        schema: Check the JSON Schema first (tests turn it off to compare both checks).

    Raises:
        InvalidInputError: A key is missing, unknown or invalid (the message names it).
    """
    if schema:
        _config_schema.check(data, source=source)
    top = Section(source, "", data, _TOP)
    journal, default_name, journal_schema = _journal(top, base_dir)
    name = top.text("name", pattern=_NAME, what="a name of letters, digits, '.', '_' and '-'")
    aws = _aws(top.section("aws", _AWS))
    azure = _azure(top.section("azure", _AZURE), base_dir)
    target = _target(top.section("target", _TARGET))
    policy = _policy(top.section("policy", _POLICY, required=False))
    installer = parse_installer(top, base_dir)
    test_migration = top.flag("test_migration", True)
    if test_migration and target.test_network_id is None:
        top.fail(
            "target.test_network_id",
            "is required while test_migration is true (the default): give an isolated VNet "
            "for test migrations, or set test_migration to false",
        )
    acknowledged = top.texts("acknowledge_instance_store") or ()
    if acknowledged:
        wrap(source, "acknowledge_instance_store", lambda: _ids(acknowledged))
    return MigrationConfig(
        source=source,
        name=name or default_name,
        journal=journal,
        aws=aws,
        azure=azure,
        target=target,
        policy=policy,
        installer=installer,
        manage_security_groups=top.flag("manage_security_groups", False),
        concurrency=(
            None
            if top.data.get("concurrency") is None
            else int(top.number("concurrency", 1, integer=True, minimum=1))
        ),
        poll_interval=float(top.number("poll_interval", 30.0, exclusive=True)),
        discovery_timeout=float(top.number("discovery_timeout", 3600.0, exclusive=True)),
        test_migration=test_migration,
        recovery_plan=_recovery(top),
        acknowledge_instance_store=acknowledged,
        simulated_clock=_clock(top, azure),
        journal_schema=journal_schema,
    )


def _journal(top: Section, base_dir: Path) -> tuple[Path | str, str, str]:
    """The journal (a file, or a database URL checked here), the default name, the schema."""
    text = top.text("journal", required=True)
    assert text is not None
    schema = top.text("journal_schema") or "ec2asr"
    if is_database_url(text):
        try:
            check_schema_name(schema)
        except InvalidInputError as exc:
            top.fail("journal_schema", str(exc))
        try:
            journal = PostgresJournal(text, schema=schema)  # checks the URL; connects to nothing
        except Ec2AsrError as exc:
            top.fail("journal", str(exc))
        if journal.dsn.password is not None:
            top.fail(
                "journal",
                f"{journal.dsn.redacted} carries a password, and no credential goes in this "
                "file: give it in PGPASSWORD, ~/.pgpass or a PGSERVICE entry instead",
            )
        return text, "ec2asr", schema
    if top.has("journal_schema"):
        top.fail("journal_schema", "applies only to a postgresql:// journal")
    path = config_path(base_dir, text)
    assert path is not None
    return path, re.sub(r"[^A-Za-z0-9_.\-]+", "-", path.stem).strip("-.") or "ec2asr", schema


def _aws(section: Section) -> AwsConfig:
    region = section.text("region", required=True, pattern=_REGION, what="an AWS region")
    instance_ids = section.texts("instance_ids")
    tags = section.text_map("tags", values="tag values") if section.has("tags") else None
    vpc_id = section.text("vpc_id")
    overrides = section.text_map("os_overrides")
    if not instance_ids and not tags and vpc_id is None:
        section.fail(
            section.path,
            "select the machines with instance_ids, tags or vpc_id (ec2asr never migrates a "
            "whole region by default)",
        )
    checks: tuple[tuple[str, tuple[Any, ...]], ...] = (
        ("instance_ids", (instance_ids, None, None, None, None)),
        ("tags", (None, tags, None, None, None)),
        ("vpc_id", (None, None, vpc_id, None, None)),
        ("os_overrides", (None, None, None, None, overrides)),
    )
    for key, selector in checks:
        wrap(section.source, section.key(key), partial(validate_selectors, *selector))
    endpoint_url = _endpoint(section, "endpoint_url")
    profile = section.text("profile")
    if profile is not None and endpoint_url is not None and sandbox_url(endpoint_url):
        section.fail(
            section.key("profile"),
            "is not used with a loopback endpoint_url: the rehearsal sandbox is reached with "
            "its own dummy credentials, never yours",
        )
    return AwsConfig(
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        instance_ids=instance_ids,
        tags=tags,
        vpc_id=vpc_id,
        os_overrides=overrides,
    )


def _azure(section: Section, base_dir: Path) -> AzureConfig:
    subscription = section.text(
        "subscription_id", required=True, pattern=_GUID, what="a subscription id (a GUID)"
    )
    base_url = _endpoint(section, "base_url")
    budget = section.text("arm_budget")
    return AzureConfig(
        arm_budget=budget if budget in (None, "host", "process") else config_path(base_dir, budget),
        subscription_id=subscription,
        resource_group=section.text("resource_group", required=True),
        vault=section.text("vault", required=True),
        vault_location=section.text("vault_location"),
        appliance=section.text("appliance"),
        base_url=base_url,
    )


def _endpoint(section: Section, key: str) -> str | None:
    url: str | None = section.text(key)
    if url is not None and not (url.startswith("https://") or sandbox_url(url)):
        section.fail(
            section.key(key),
            "must be an https:// URL (plain http only on loopback, for the rehearsal sandbox)",
        )
    return url


def _clock(top: Section, azure: AzureConfig) -> SimulatedClockConfig | None:
    if not top.has("simulated_clock"):
        return None
    if not azure.sandbox:
        top.fail(
            "simulated_clock",
            "is for the rehearsal sandbox only (azure.base_url on loopback): against Azure, "
            "time is real",
        )
    section = top.section("simulated_clock", _config_schema.keys("simulated_clock"))
    text = section.text("start", required=True)
    try:
        start = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        section.fail(section.key("start"), f"{text!r} is not an ISO 8601 time")
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    return SimulatedClockConfig(
        start=start,
        epoch=float(section.number("epoch", 0.0)),
        speed=float(section.number("speed", 1.0, exclusive=True)),
    )


def _target(section: Section) -> TargetSettings:
    kwargs: dict[str, Any] = {}
    for key in ("resource_group_id", "network_id", "subnet_name", "log_storage_account_id"):
        kwargs[key] = section.text(key, required=True)
    for key in (
        "test_network_id",
        "test_subnet_name",
        "disk_type",
        "linux_license_type",
        "availability_zone",
    ):
        if section.has(key):
            kwargs[key] = section.text(key)
    for key in ("vm_sizes", "vm_names", "tags"):
        kwargs[key] = section.text_map(key)
    kwargs["azure_hybrid_benefit"] = section.flag("azure_hybrid_benefit", False)
    result: TargetSettings = wrap(section.source, "target", lambda: TargetSettings(**kwargs))
    return result


def _policy(section: Section) -> ReplicationPolicy:
    kwargs: dict[str, Any] = {}
    if section.has("name"):
        kwargs["name"] = section.text("name")
    for key in (
        "recovery_point_history_minutes",
        "app_consistent_frequency_minutes",
        "crash_consistent_frequency_minutes",
    ):
        if section.has(key):
            kwargs[key] = section.number(key, 0, integer=True)
    if section.has("multi_vm_sync"):
        kwargs["multi_vm_sync"] = section.flag("multi_vm_sync", False)
    result: ReplicationPolicy = wrap(section.source, "policy", lambda: ReplicationPolicy(**kwargs))
    return result


def _ids(instance_ids: tuple[str, ...] | list[str]) -> None:
    validate_selectors(instance_ids, None, None, None, None)


def _recovery(top: Section) -> RecoveryPlanSpec | None:
    if not top.has("recovery_plan"):
        return None
    section = top.section("recovery_plan", ("name", "groups"))
    groups = section.raw("groups")
    if groups is not None and not (
        isinstance(groups, list)
        and all(isinstance(g, list) and all(isinstance(i, str) and i for i in g) for g in groups)
    ):
        section.fail(section.key("groups"), "must be a list of boot groups (lists of instance ids)")
    name = section.text("name") or RecoveryPlanSpec().name
    spec = wrap(section.source, "recovery_plan", lambda: RecoveryPlanSpec(name=name, groups=groups))
    members = [i for g in spec.groups or () for i in g]
    wrap(section.source, "recovery_plan", lambda: _recovery_plan.validate(spec, members))
    if members:
        wrap(
            section.source,
            "recovery_plan.groups",
            lambda: _ids(members),
        )
    return spec
