"""ec2asr: migrate Amazon EC2 instances to Azure VMs with Azure Site Recovery.

The public surface is what ``__all__`` lists; everything else is an implementation detail.
Logging goes to the ``ec2asr`` logger, which has a ``NullHandler``: nothing is printed unless
the application configures logging.
"""

import logging as _logging

from ec2asr._secret import Secret
from ec2asr._version import __version__
from ec2asr.assessment import (
    AzureDisk,
    AzureDiskType,
    AzureVmSize,
    Finding,
    MachineReadiness,
    ReadinessReport,
    Severity,
    SizeFamily,
    SupportedOs,
    SupportMatrix,
    Verdict,
    assess,
    azure_disk_for,
    azure_vm_size_for,
)
from ec2asr.aws import Ec2Discovery
from ec2asr.aws.leases import SecurityGroupLeases
from ec2asr.aws.network import ConnectivityReport, NetworkInspector
from ec2asr.azure._budget import BudgetStore, MemoryBudget, SqliteBudget
from ec2asr.azure.site_recovery import SiteRecoveryClient
from ec2asr.errors import (
    AsrJobError,
    AwsError,
    AwsPermissionError,
    AwsThrottlingError,
    AzureConflictError,
    AzureError,
    AzurePermissionError,
    AzureResourceNotFoundError,
    AzureThrottlingError,
    ClaimLostError,
    ConnectivityError,
    CutoverNotConfirmedError,
    DataPendingError,
    Ec2AsrError,
    InstancesNotFoundError,
    InvalidInputError,
    InvalidStateError,
    JournalCorruptError,
    JournalError,
    JournalLockedError,
    JournalSchemaError,
    JournalUnavailableError,
    MachineClaimedError,
    MigrationError,
    MobilityError,
    ReadinessError,
)
from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration._journal_pg import PostgresJournal
from ec2asr.migration._journal_sqlite import SqliteJournal
from ec2asr.migration.facade import Migration
from ec2asr.migration.journal import Journal
from ec2asr.migration.plan import MachinePlan, MigrationPlan, RecoveryPlanSpec
from ec2asr.migration.report import MachineReport, MigrationReport
from ec2asr.migration.stages import MachineStatus, Stage
from ec2asr.migration.timeline import MigrationTimeline
from ec2asr.mobility import (
    ApplianceEndpoint,
    InstallContext,
    InstallerLocation,
    InstallExecutor,
    InstallJob,
    InstallResult,
    InstallState,
    ManualInstall,
    MobilityInstaller,
    PushInstall,
    ScriptBundle,
    SsmRunCommand,
)
from ec2asr.models import (
    EbsVolume,
    Evidence,
    EvidenceSource,
    ImageInfo,
    InstanceStorageDisk,
    InstanceStoreVolume,
    InstanceTypeInfo,
    NetworkInterface,
    OsFamily,
    OsInfo,
    SecurityGroup,
    SecurityGroupRule,
    SourceMachine,
    SsmStatus,
)
from ec2asr.settings import ReplicationPolicy, TargetSettings

_logging.getLogger("ec2asr").addHandler(_logging.NullHandler())

__all__ = [
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
    "BudgetStore",
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
    "JournalLockedError",
    "JournalSchemaError",
    "JournalUnavailableError",
    "MachineClaimedError",
    "MachinePlan",
    "MachineReadiness",
    "MachineReport",
    "MachineStatus",
    "ManualInstall",
    "MemoryBudget",
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
    "PostgresJournal",
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
    "SqliteBudget",
    "SqliteJournal",
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
]
