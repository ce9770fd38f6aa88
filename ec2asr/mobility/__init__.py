"""Mobility agent installation strategies.

An installer is any object with ``install(machines, context) -> results``
(:class:`MobilityInstaller`). ec2asr provides:

* :class:`PushInstall`: the replication appliance pushes the agent with a credential it holds;
* :class:`ManualInstall`: ec2asr's scripts, run by an :class:`InstallExecutor` —
  :class:`SsmRunCommand` (AWS Systems Manager) or :class:`ScriptBundle` (files for people).
"""

from __future__ import annotations

from ec2asr.mobility.base import (
    ApplianceEndpoint,
    InstallContext,
    InstallResult,
    InstallState,
    MobilityInstaller,
)
from ec2asr.mobility.bundle import ScriptBundle
from ec2asr.mobility.manual import InstallExecutor, InstallJob, ManualInstall
from ec2asr.mobility.push import PushInstall
from ec2asr.mobility.scripts import (
    FileBesideScript,
    InstallerLocation,
    ParameterStoreConfig,
    Platform,
    render_script,
)
from ec2asr.mobility.ssm import SsmRunCommand

__all__ = [
    "ApplianceEndpoint",
    "FileBesideScript",
    "InstallContext",
    "InstallExecutor",
    "InstallJob",
    "InstallResult",
    "InstallState",
    "InstallerLocation",
    "ManualInstall",
    "MobilityInstaller",
    "ParameterStoreConfig",
    "Platform",
    "PushInstall",
    "ScriptBundle",
    "SsmRunCommand",
    "render_script",
]
