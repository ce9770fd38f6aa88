"""The rehearsal sandbox: run ec2asr end to end on one machine, without a cloud account.

:class:`Sandbox` starts moto (AWS) in server mode and the ASR emulator (Azure) on 127.0.0.1 and
seeds a realistic EC2 estate; the fleet's profiles say which readiness verdict each machine
should get. :class:`AsrEmulator` is usable on its own ("moto for ASR"). Needs the ``sandbox``
extra (``pip install 'ec2asr[sandbox]'``).
"""

from __future__ import annotations

from ec2asr.testing.emulator import (
    NEVER_FINISHES,
    AsrEmulator,
    DiskSpec,
    FailoverRecord,
    JobError,
    MachineSpec,
    SimulatedClock,
    Timings,
)
from ec2asr.testing.fleet import SeededAppliance, SeededFleet, SeededInstance
from ec2asr.testing.profiles import (
    DEFAULT_PROFILE_KEYS,
    NOT_READY,
    PROFILES,
    READY,
    READY_WITH_WARNINGS,
    Disk,
    FleetProfile,
)
from ec2asr.testing.sandbox import Sandbox

__all__ = [
    "DEFAULT_PROFILE_KEYS",
    "NEVER_FINISHES",
    "NOT_READY",
    "PROFILES",
    "READY",
    "READY_WITH_WARNINGS",
    "AsrEmulator",
    "Disk",
    "DiskSpec",
    "FailoverRecord",
    "FleetProfile",
    "JobError",
    "MachineSpec",
    "Sandbox",
    "SeededAppliance",
    "SeededFleet",
    "SeededInstance",
    "SimulatedClock",
    "Timings",
]
