"""The config file's ``installer`` section: push, SSM Run Command or a script bundle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ec2asr import _config_schema
from ec2asr._config_reader import Section, config_path, wrap
from ec2asr._frozen import frozen_map
from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError
from ec2asr.mobility.base import MobilityInstaller
from ec2asr.mobility.bundle import ScriptBundle
from ec2asr.mobility.manual import ManualInstall
from ec2asr.mobility.push import PushInstall
from ec2asr.mobility.scripts import InstallerLocation
from ec2asr.mobility.ssm import SsmRunCommand

__all__ = ["INSTALLER_KEYS", "SSM_OPTIONS", "InstallerConfig", "parse_installer"]


@attrs.frozen
class InstallerConfig:
    """The ``installer`` section: how the Mobility agent gets onto the machines.

    Attributes:
        kind: ``push``, ``ssm`` or ``bundle``.
        run_as_account: Push: the credential's name on the appliance (or one per OS family).
        manage_security_groups: Push: lease the missing push-install rules.
        agent_config_file: SSM and bundle: the Mobility service configuration file generated on
            the appliance (its content is a secret; only read when agents are installed).
        installer_location: SSM and bundle: ``s3://bucket/prefix/``, an absolute directory on
            the machines, or an ``https://`` base URL (with ``installer_files``).
        installer_files: HTTPS only: package key to file name.
        directory: Bundle: where the scripts are written.
        config_filename: Bundle: the file name people give the configuration next to each script.
        ssm_options: SSM: keyword arguments of :class:`~ec2asr.SsmRunCommand`.
    """

    kind: str
    run_as_account: str | Mapping[str, str] | None = None
    manage_security_groups: bool = False
    agent_config_file: Path | None = None
    installer_location: str | None = None
    installer_files: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_map)
    directory: Path | None = None
    config_filename: str | None = None
    ssm_options: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_map)

    def read_agent_config(self) -> Secret | None:
        """Read the agent configuration file into a :class:`~ec2asr.Secret` (manual kinds).

        Raises:
            InvalidInputError: The file cannot be read or is empty (its content is never shown).
        """
        if self.agent_config_file is None:
            return None
        try:
            text = self.agent_config_file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InvalidInputError(
                f"installer.agent_config_file: cannot read {self.agent_config_file}: {exc.strerror}"
            ) from None
        if not text.strip():
            raise InvalidInputError(
                f"installer.agent_config_file: {self.agent_config_file} is empty"
            )
        return Secret(text, label="Mobility service configuration")

    def location(self) -> InstallerLocation:
        """Where the scripts get the installer package (no I/O).

        Raises:
            InvalidInputError: The location is malformed.
        """
        if self.installer_location and self.installer_location.startswith("https://"):
            return InstallerLocation.https(self.installer_location, self.installer_files)
        return InstallerLocation.parse(self.installer_location)

    def build(self, *, agent_config: Secret | None = None, **ssm_extra: Any) -> MobilityInstaller:
        """The installer object (no I/O).

        Args:
            agent_config: The configuration read by :meth:`read_agent_config`; without it the
                file is named and read only when agents are installed.
            **ssm_extra: More :class:`~ec2asr.SsmRunCommand` arguments (``sleep``...).

        Raises:
            InvalidInputError: An option is out of range.
        """
        if self.kind == "push":
            assert self.run_as_account is not None
            return PushInstall(
                self.run_as_account, manage_security_groups=self.manage_security_groups
            )
        assert self.agent_config_file is not None
        config: Secret | Path = agent_config if agent_config is not None else self.agent_config_file
        location = self.location()
        if self.kind == "ssm":
            executor: Any = SsmRunCommand(**{**self.ssm_options, **ssm_extra})
        else:
            assert self.directory is not None
            extra = {"config_filename": self.config_filename} if self.config_filename else {}
            executor = ScriptBundle(self.directory, **extra)
        return ManualInstall(executor, config, installer_location=location)


INSTALLER_KEYS = {
    kind: _config_schema.keys("installer", kind=kind) for kind in ("push", "ssm", "bundle")
}
SSM_OPTIONS = tuple(
    k
    for k in INSTALLER_KEYS["ssm"]
    if k not in ("kind", "agent_config_file", "installer_location", "installer_files")
)


def parse_installer(top: Section, base_dir: Path) -> InstallerConfig:
    """Validate the ``installer`` section of ``top`` (no I/O).

    Raises:
        InvalidInputError: The section is missing or a key is invalid (named in the message).
    """
    raw = top.raw("installer")
    kind = raw.get("kind") if isinstance(raw, Mapping) else None
    if isinstance(raw, Mapping) and (not isinstance(kind, str) or kind not in INSTALLER_KEYS):
        top.fail("installer.kind", f"must be one of {', '.join(map(repr, INSTALLER_KEYS))}")
    section = top.section("installer", INSTALLER_KEYS[kind] if isinstance(kind, str) else ())
    if kind == "push":
        account = section.raw("run_as_account")
        if isinstance(account, Mapping):
            account = section.text_map("run_as_account")
        elif account is not None:
            account = section.text("run_as_account")
        else:
            section.fail(
                section.key("run_as_account"),
                "is required: the friendly name of a credential stored on the appliance "
                '(or {"windows": ..., "linux": ...}), never a password',
            )
        config = InstallerConfig(
            kind="push",
            run_as_account=account,
            manage_security_groups=section.flag("manage_security_groups", False),
        )
    else:
        location = section.text("installer_location")
        files = section.text_map("installer_files")
        if files and not (location or "").startswith("https://"):
            section.fail(
                section.key("installer_files"), "goes with an https:// installer_location only"
            )
        ssm_options: dict[str, Any] = {}
        for key in SSM_OPTIONS if kind == "ssm" else ():
            if not section.has(key):
                continue
            if key in ("parameter_prefix", "kms_key_id"):
                ssm_options[key] = section.text(key)
            else:
                integer = key in ("command_timeout", "delivery_timeout", "batch_size")
                ssm_options[key] = section.number(key, 0, integer=integer, exclusive=True)
        config = InstallerConfig(
            kind=str(kind),
            agent_config_file=config_path(
                base_dir, section.text("agent_config_file", required=True)
            ),
            installer_location=location,
            installer_files=files,
            directory=config_path(base_dir, section.text("directory", required=kind == "bundle")),
            config_filename=section.text("config_filename"),
            ssm_options=ssm_options,
        )
    if kind == "push":
        wrap(section.source, section.key("run_as_account"), config.build)
    else:
        wrap(section.source, section.key("installer_location"), config.location)
        wrap(section.source, section.path, config.build)
    return config
