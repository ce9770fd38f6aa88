"""The public surface is curated: ``ec2asr.__all__`` is exactly what is exported."""

from __future__ import annotations

import inspect
import types

import ec2asr

EXPECTED = {
    "ApplianceEndpoint",
    "AsrJobError",
    "AwsError",
    "AwsPermissionError",
    "AwsThrottlingError",
    "AzureConflictError",
    "AzureDisk",
    "AzureDiskType",
    "AzureError",
    "AzurePermissionError",
    "AzureResourceNotFoundError",
    "AzureThrottlingError",
    "AzureVmSize",
    "ClaimLostError",
    "ConnectivityError",
    "ConnectivityReport",
    "CutoverNotConfirmedError",
    "DataPendingError",
    "EbsVolume",
    "Ec2AsrError",
    "Ec2Discovery",
    "EventKind",
    "Evidence",
    "EvidenceSource",
    "Finding",
    "ImageInfo",
    "InstallContext",
    "InstallExecutor",
    "InstallJob",
    "InstallResult",
    "InstallState",
    "InstallerLocation",
    "InstanceStorageDisk",
    "InstanceStoreVolume",
    "InstanceTypeInfo",
    "InstancesNotFoundError",
    "InvalidInputError",
    "InvalidStateError",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalSchemaError",
    "JournalUnavailableError",
    "MachineClaimedError",
    "PostgresJournal",
    "SqliteJournal",
    "BudgetStore",
    "MemoryBudget",
    "SqliteBudget",
    "JournalLockedError",
    "MachinePlan",
    "MachineReadiness",
    "MachineReport",
    "MachineStatus",
    "ManualInstall",
    "Migration",
    "MigrationError",
    "MigrationEvent",
    "MigrationPlan",
    "MigrationReport",
    "MigrationTimeline",
    "MobilityError",
    "MobilityInstaller",
    "NetworkInspector",
    "NetworkInterface",
    "OsFamily",
    "OsInfo",
    "PushInstall",
    "ReadinessError",
    "ReadinessReport",
    "RecoveryPlanSpec",
    "ReplicationPolicy",
    "ScriptBundle",
    "Secret",
    "SecurityGroup",
    "SecurityGroupLeases",
    "SecurityGroupRule",
    "Severity",
    "SiteRecoveryClient",
    "SizeFamily",
    "SourceMachine",
    "SsmRunCommand",
    "SsmStatus",
    "Stage",
    "SupportMatrix",
    "SupportedOs",
    "TargetSettings",
    "Verdict",
    "__version__",
    "assess",
    "azure_disk_for",
    "azure_vm_size_for",
}


def test_all_is_exactly_the_expected_surface() -> None:
    assert set(ec2asr.__all__) == EXPECTED
    assert len(ec2asr.__all__) == len(set(ec2asr.__all__)), "duplicates in __all__"


def test_every_name_in_all_exists() -> None:
    missing = [name for name in ec2asr.__all__ if not hasattr(ec2asr, name)]
    assert missing == []


def test_no_public_name_is_exported_outside_all() -> None:
    public = {
        name
        for name, value in vars(ec2asr).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(ec2asr.__all__) == set()


def test_every_public_name_has_a_docstring() -> None:
    undocumented = [
        name
        for name in ec2asr.__all__
        if name != "__version__" and not inspect.getdoc(getattr(ec2asr, name))
    ]
    assert undocumented == []


def test_errors_share_one_root() -> None:
    errors = [
        getattr(ec2asr, n)
        for n in ec2asr.__all__
        if isinstance(getattr(ec2asr, n), type) and issubclass(getattr(ec2asr, n), Exception)
    ]
    assert errors, "no exceptions exported"
    assert all(issubclass(e, ec2asr.Ec2AsrError) for e in errors)
    # The tree drawn in the errors module's docstring names every exported error.
    assert ec2asr.errors.__doc__ is not None
    assert all(e.__name__ in ec2asr.errors.__doc__ for e in errors)


def test_version_is_a_string() -> None:
    assert isinstance(ec2asr.__version__, str)
    assert ec2asr.__version__[0].isdigit()
