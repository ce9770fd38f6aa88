"""The command line's config, as validated value types (built by :mod:`ec2asr._config`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from ec2asr._config_installer import InstallerConfig
from ec2asr._frozen import frozen_map
from ec2asr.migration.plan import RecoveryPlanSpec
from ec2asr.settings import ReplicationPolicy, TargetSettings

__all__ = ["AwsConfig", "AzureConfig", "MigrationConfig", "SimulatedClockConfig", "sandbox_url"]


def sandbox_url(url: str) -> bool:
    """True for a plain ``http://`` URL on a loopback address: the rehearsal sandbox."""
    from ec2asr.azure._pipeline import is_loopback_url

    return url.startswith("http://") and is_loopback_url(url)


@attrs.frozen
class AwsConfig:
    """The ``aws`` section: where the sources are and which ones migrate.

    Attributes:
        region: The AWS region of the sources.
        profile: The AWS profile (None: the default credential chain).
        endpoint_url: The endpoint every AWS client uses (None: AWS's own); a loopback
            ``http://`` URL is the rehearsal sandbox.
        instance_ids: Exactly these instances.
        tags: Tag selector (``{"MigrationWave": "wave-1"}``; a list matches any value; null
            only requires the key).
        vpc_id: Only instances in this VPC.
        os_overrides: Per instance id, the OS as you know it (``"RHEL 8.6"``).
    """

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    instance_ids: tuple[str, ...] | None = None
    tags: Mapping[str, Any] | None = None
    vpc_id: str | None = None
    os_overrides: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_map)

    def selectors(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`ec2asr.Ec2Discovery.discover`."""
        out: dict[str, Any] = {}
        if self.instance_ids is not None:
            out["instance_ids"] = list(self.instance_ids)
        if self.tags is not None:
            out["tags"] = dict(self.tags)
        if self.vpc_id is not None:
            out["vpc_id"] = self.vpc_id
        if self.os_overrides:
            out["os_overrides"] = dict(self.os_overrides)
        return out

    @property
    def sandbox(self) -> bool:
        """True when the endpoint is the rehearsal sandbox (plain http on loopback)."""
        return self.endpoint_url is not None and sandbox_url(self.endpoint_url)


@attrs.frozen
class AzureConfig:
    """The ``azure`` section: the Recovery Services vault and its appliance.

    Attributes:
        subscription_id: The vault's subscription.
        resource_group: The vault's resource group.
        vault: The vault's name.
        vault_location: Create the vault in this region when it does not exist.
        appliance: The appliance fabric's name when several are registered.
        base_url: The ARM endpoint (None: Azure public cloud; a loopback ``http://`` URL for
            the rehearsal sandbox).
        arm_budget: Where the ARM budget lives: ``"host"``, ``"process"`` or a budget file
            (None: the ``EC2ASR_ARM_BUDGET`` environment variable, else the process's own);
            passed to :class:`~ec2asr.SiteRecoveryClient` as ``arm_budget``.
    """

    subscription_id: str
    resource_group: str
    vault: str
    vault_location: str | None = None
    appliance: str | None = None
    base_url: str | None = None
    arm_budget: str | Path | None = None

    @property
    def sandbox(self) -> bool:
        """True when the endpoint is the rehearsal sandbox (plain http on loopback)."""
        return self.base_url is not None and sandbox_url(self.base_url)


@attrs.frozen
class SimulatedClockConfig:
    """The ``simulated_clock`` section ``python -m ec2asr sandbox`` writes.

    The sandbox's emulator runs a simulated clock, ``speed`` simulated seconds per real second
    from ``start`` at the real time ``epoch``; a command reading this config keeps the same
    time and scales its waits, so both sides agree on when things happened.

    Attributes:
        start: The simulated time at ``epoch``.
        epoch: The real time (Unix seconds) the simulated clock started at.
        speed: Simulated seconds per real second.
    """

    start: datetime
    epoch: float
    speed: float

    def now(self, real: float) -> datetime:
        """The simulated time at the real time ``real`` (Unix seconds)."""
        return self.start + timedelta(seconds=(real - self.epoch) * self.speed)


@attrs.frozen
class MigrationConfig:
    """A validated migration config file.

    Attributes:
        source: The config file (for messages).
        name: The migration's name (scopes temporary resources); default: the journal's stem
            (``ec2asr`` for a database journal).
        journal: The journal file, or a ``postgresql://`` URL (a team's shared journal).
        journal_schema: The PostgreSQL schema of a database journal.
        aws: Sources and selectors.
        azure: The vault.
        target: Where the machines land.
        policy: The replication policy.
        installer: The Mobility strategy.
        manage_security_groups: Lease the missing replication rules.
        concurrency: At most this many ASR operations (jobs) in flight; None: only ASR's and
            ARM's limits.
        poll_interval: Seconds between observation sweeps.
        discovery_timeout: Seconds to wait for the appliance to discover an installed machine.
        test_migration: Rehearse with a test failover before cutover.
        recovery_plan: Cut over with an ASR recovery plan, or None (per machine).
        acknowledge_instance_store: Instances whose instance-store data may be left behind.
        simulated_clock: The rehearsal sandbox's clock (only with a sandbox ``azure.base_url``).
    """

    source: str
    name: str
    journal: Path | str
    aws: AwsConfig
    azure: AzureConfig
    target: TargetSettings
    policy: ReplicationPolicy
    installer: InstallerConfig
    manage_security_groups: bool = False
    concurrency: int | None = None
    poll_interval: float = 30.0
    discovery_timeout: float = 3600.0
    test_migration: bool = True
    recovery_plan: RecoveryPlanSpec | None = None
    acknowledge_instance_store: tuple[str, ...] = ()
    simulated_clock: SimulatedClockConfig | None = None
    journal_schema: str = "ec2asr"
