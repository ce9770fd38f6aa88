"""The rehearsal sandbox: an ASR emulator (and moto for AWS) to rehearse migrations locally."""

from ec2asr.testing.emulator import (
    NEVER_FINISHES,
    AsrEmulator,
    DiskSpec,
    JobError,
    MachineSpec,
    SimulatedClock,
    Timings,
)

__all__ = [
    "NEVER_FINISHES",
    "AsrEmulator",
    "DiskSpec",
    "JobError",
    "MachineSpec",
    "SimulatedClock",
    "Timings",
]
