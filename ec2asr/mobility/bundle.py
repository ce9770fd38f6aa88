"""Write the install scripts to a folder, for people who run them by hand.

:class:`ScriptBundle` is an :class:`~ec2asr.mobility.manual.InstallExecutor` that changes nothing
anywhere: it writes one folder per machine (``<instance id>-<Name tag>/install.sh`` or
``install.ps1``) and a ``README.md`` saying what to copy where, and answers ``ACTION_REQUIRED``.
The agent configuration is a secret and is never written: the README tells people to put the
file generated on the appliance next to each script, and to delete it afterwards.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ec2asr._validate import shown
from ec2asr.errors import InvalidInputError, MobilityError
from ec2asr.mobility.base import InstallContext, InstallResult, InstallState
from ec2asr.mobility.manual import InstallJob
from ec2asr.mobility.scripts import DEFAULT_CONFIG_FILENAME, FileBesideScript, Platform

__all__ = ["ScriptBundle"]

_RUN = {
    Platform.LINUX: "sudo bash install.sh",
    Platform.WINDOWS: "powershell.exe -ExecutionPolicy Bypass -File .\\install.ps1",
}


def _folder_name(job: InstallJob) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", job.machine.name or "").strip("-.")[:60]
    return f"{job.instance_id}-{name}" if name else job.instance_id


def _write(path: Path, text: str, *, mode: int = 0o600, crlf: bool = False) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="\r\n" if crlf else "\n") as fh:
        fh.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


class ScriptBundle:
    """Write per-machine install scripts and a README to a directory.

    Args:
        directory: Where to write (created if missing; files ec2asr wrote before are replaced).
        config_filename: The name people give the configuration file next to each script.

    Raises:
        InvalidInputError: ``directory`` is not a path or ``config_filename`` is not a plain
            file name.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, config_filename: str = DEFAULT_CONFIG_FILENAME
    ) -> None:
        if not isinstance(directory, (str, os.PathLike)) or not str(directory).strip():
            raise InvalidInputError(
                f"directory must be a path (str or pathlib.Path), not {shown(directory)}"
            )
        if not isinstance(config_filename, str):
            raise InvalidInputError(
                f"config_filename must be a file name, not {shown(config_filename)}"
            )
        self._directory = Path(directory)
        try:
            self._config = FileBesideScript(config_filename)
        except InvalidInputError as exc:
            raise InvalidInputError(f"config_filename: {exc}") from None

    def __repr__(self) -> str:
        return f"ScriptBundle({str(self._directory)!r})"

    @property
    def directory(self) -> Path:
        """The bundle's directory."""
        return self._directory

    def run(self, jobs: Sequence[InstallJob], context: InstallContext) -> list[InstallResult]:
        """Write the bundle; every machine is ``ACTION_REQUIRED`` with its script's path.

        Raises:
            MobilityError: The directory cannot be written.
        """
        if not jobs:
            return []
        written: list[tuple[InstallJob, Path]] = []
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            for job in jobs:
                folder = self._directory / _folder_name(job)
                folder.mkdir(exist_ok=True)
                script = folder / job.platform.script_name
                text = job.render(self._config, for_machine=True)
                if job.platform is Platform.WINDOWS:
                    _write(script, text, crlf=True)
                else:
                    _write(script, text, mode=0o700)
                written.append((job, script))
            readme = self._directory / "README.md"
            _write(readme, self._readme(written, context))
        except OSError as exc:
            raise MobilityError(
                f"cannot write the script bundle to {self._directory}: {exc.strerror}"
            ) from exc
        context.emit(f"Mobility install scripts for {len(jobs)} machine(s) written to {readme}")
        return [self._result(job, script, readme) for job, script in written]

    def _result(self, job: InstallJob, script: Path, readme: Path) -> InstallResult:
        needs = "root" if job.platform is Platform.LINUX else "Administrator"
        instructions = (
            f"Copy {script.parent} to {job.machine.display_name} ({job.machine.private_ip}), put "
            f"the Mobility service configuration file from the appliance in it as "
            f"{self._config.filename}"
            + (
                " together with the installer package"
                if job.installer.kind == "beside-script"
                else ""
            )
            + f", then run `{_RUN[job.platform]}` as {needs} in that folder and delete the "
            f"configuration file afterwards. See {readme}."
        )
        return InstallResult(
            job.instance_id,
            InstallState.ACTION_REQUIRED,
            f"run {script} on {job.machine.display_name}",
            instructions=instructions,
            details={"script": str(script), "bundle": str(self._directory)},
        )

    def _readme(self, written: Sequence[tuple[InstallJob, Path]], context: InstallContext) -> str:
        appliance = context.appliance.ip_address
        if context.appliance.name:
            appliance = f"{context.appliance.name} ({appliance})"
        beside = any(job.installer.kind == "beside-script" for job, _ in written)
        installer = (
            "the installer package next to the script: the Windows package "
            "`Microsoft-ASR_UA_*_Windows_*release.exe`, or for Linux the tarball of the machine's "
            "distribution `Microsoft-ASR_UA_*_<DISTRO>-64_*release.tar.gz` (the appliance keeps "
            "them in `E:\\Software\\Agents`)"
            if beside
            else f"nothing else: the script fetches the installer from {written[0][0].installer}"
        )
        rows = "\n".join(
            f"| {job.instance_id} | {job.machine.name or ''} | {job.machine.private_ip or ''} | "
            f"{job.machine.os.name or job.platform.value} | `{script.parent.name}/{script.name}` |"
            for job, script in written
        )
        name = self._config.filename
        return f"""# Mobility service installation scripts

Generated by ec2asr for the migration `{context.migration_id}`. Each folder installs the Azure
Site Recovery Mobility service (modernized stack) on one machine and registers it with the
replication appliance **{appliance}**.

## Steps

1. On the appliance, open the **Appliance Configuration Manager**, go to
   **Mobility service configuration details** and download the configuration file. It contains
   a one-time secret: keep it out of mail, tickets and source control. ec2asr never writes it
   here.
2. For each machine below, copy its folder to the machine and put in that folder:
   - the configuration file, named `{name}`;
   - {installer}.
3. Run the script in that folder:
   - Linux, as root: `{_RUN[Platform.LINUX]}`
   - Windows, in an elevated PowerShell: `{_RUN[Platform.WINDOWS]}`
4. Delete `{name}` from the machine when the script has finished (the script only deletes its
   own private copy).
5. The machine then appears in the appliance's discovered machines; run the migration again to
   continue.

The machines must reach the appliance on TCP 443 and 9443.

## Machines

| Instance | Name | Private IP | OS | Script |
|---|---|---|---|---|
{rows}

## Exit codes

| Code | Meaning |
|---|---|
| 0 | installed and registered |
| 64 | not run as root (Linux) |
| 65 | no Mobility service package exists for this OS or architecture |
| 66 | the installer package was not found |
| 67 | `{name}` is missing or empty |
| other | the installer's or configurator's own code; its output is shown above it |
"""
