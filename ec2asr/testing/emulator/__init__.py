"""A local emulator of the Azure Site Recovery REST API ("moto for ASR").

It serves the modernized stack (provider ``InMageRcm``), the Recovery Services vault and the
``Microsoft.OffAzure`` server site on 127.0.0.1, for the real Azure SDK clients::

    from ec2asr.testing.emulator import AsrEmulator, MachineSpec, DiskSpec

    with AsrEmulator() as emulator:
        emulator.register_appliance("appliance", "10.0.0.4")
        emulator.register_machine(MachineSpec("i-0abc", "web01", ["10.0.1.5"], "linux",
                                              disks=[DiskSpec(30, "/dev/xvda", is_os=True)]))
        client = emulator.asr_management_client()
        print(list(client.replication_fabrics.list(emulator.resource_group, emulator.vault)))

See docs/sandbox.md ("Azure half / ASR emulator") for states, errors, faults and limits.
"""

from ec2asr.testing.emulator.client import LoopbackBearerPolicy, StaticTokenCredential
from ec2asr.testing.emulator.clock import SimulatedClock
from ec2asr.testing.emulator.emulator import AllowAllConnectivity, AsrEmulator
from ec2asr.testing.emulator.faults import FaultRule
from ec2asr.testing.emulator.models import (
    NEVER_FINISHES,
    ApplianceInfo,
    ConnectivityOracle,
    DiskSpec,
    FailoverRecord,
    JobError,
    MachineSpec,
    Reachability,
    RegistrationEvent,
    SourcePowerOracle,
    Timings,
    WriteRecord,
    ec2_bios_guid,
)

__all__ = [
    "NEVER_FINISHES",
    "AllowAllConnectivity",
    "ApplianceInfo",
    "AsrEmulator",
    "ConnectivityOracle",
    "DiskSpec",
    "FailoverRecord",
    "FaultRule",
    "JobError",
    "LoopbackBearerPolicy",
    "MachineSpec",
    "Reachability",
    "RegistrationEvent",
    "SimulatedClock",
    "SourcePowerOracle",
    "StaticTokenCredential",
    "Timings",
    "WriteRecord",
    "ec2_bios_guid",
]
