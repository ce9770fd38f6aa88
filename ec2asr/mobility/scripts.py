"""The Mobility service install scripts: where the installer and the configuration come from.

The scripts follow Microsoft's "Install the Mobility service using command prompt (Modernized)":

* Linux (``AWS-RunShellScript``): pick the package of the distribution
  (``Microsoft-ASR_UA_<version>_<DISTRO>-64_..._release.tar.gz``), extract it, run
  ``./install -q -r MS -v VmWare -c CSPrime``, then
  ``/usr/local/ASR/Vx/bin/UnifiedAgentConfigurator.sh -c CSPrime -S <config> -q``;
* Windows (``AWS-RunPowerShellScript``): extract ``Microsoft-ASR_UA_*_Windows_*_release.exe``
  (``/q /x:<folder>``), run ``UnifiedAgentInstaller.exe /Platform vmware /Silent /Role MS
  /CSType CSPrime /InstallLocation "C:\\Program Files (x86)\\Microsoft Azure Site Recovery"``, then
  ``agent\\UnifiedAgentConfigurator.exe /SourceConfigFilePath <config> /CSType CSPrime
  /CredentialLessDiscovery false``.

The templates live in ``ec2asr/mobility/templates/`` (package data). The configuration (a secret)
is never part of a script: the script reads it from Parameter Store
(:class:`ParameterStoreConfig`) or from a file a person put next to it (:class:`FileBesideScript`),
copies it into a private temporary folder, and deletes it when done.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from importlib import resources

import attrs

from ec2asr._frozen import frozen_map
from ec2asr._version import __version__
from ec2asr.errors import InvalidInputError
from ec2asr.models import OsFamily

__all__ = [
    "DEFAULT_CONFIG_FILENAME",
    "FileBesideScript",
    "InstallerLocation",
    "ParameterStoreConfig",
    "Platform",
    "render_script",
]

DEFAULT_CONFIG_FILENAME = "MobilityServiceConfig.json"
"""The name a person gives the configuration file generated on the appliance (bundles)."""

_PARAMETER = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_FILE = re.compile(r"^[A-Za-z0-9._\-]+$")
_PACKAGE_KEY = re.compile(
    r"^(?:(?:RHEL|OL|DEBIAN|SLES)\d+|SLES11-SP\d|UBUNTU-\d\d\.\d\d)-64$|^Windows$"
)
_SAFE_PATH = re.compile(r"^[^\x00-\x1f'\"`$]+$")


class Platform(str, enum.Enum):
    """The script flavour, with its Run Command document."""

    WINDOWS = "windows"
    LINUX = "linux"

    @property
    def document(self) -> str:
        """``AWS-RunPowerShellScript`` or ``AWS-RunShellScript``."""
        return "AWS-RunPowerShellScript" if self is Platform.WINDOWS else "AWS-RunShellScript"

    @property
    def script_name(self) -> str:
        """``install.ps1`` or ``install.sh``."""
        return "install.ps1" if self is Platform.WINDOWS else "install.sh"

    @classmethod
    def of(cls, family: OsFamily) -> Platform | None:
        """The platform of an OS family, None when unknown."""
        return {OsFamily.WINDOWS: cls.WINDOWS, OsFamily.LINUX: cls.LINUX}.get(family)


def _quote(platform: Platform, value: str) -> str:
    if platform is Platform.WINDOWS:
        return "'" + value.replace("'", "''") + "'"
    return "'" + value.replace("'", "'\\''") + "'"


def _comment(value: str) -> str:
    return re.sub(r"[\x00-\x1f]+", " ", value)


@attrs.frozen
class ParameterStoreConfig:
    """The script reads the configuration from a Parameter Store SecureString.

    Attributes:
        name: The parameter name (``/ec2asr/agent-config/<migration>``).
        region: The region the parameter lives in.

    Raises:
        InvalidInputError: The name or region is malformed.
    """

    name: str
    region: str

    def __attrs_post_init__(self) -> None:
        if not _PARAMETER.match(self.name):
            raise InvalidInputError(f"not a usable Parameter Store name: {self.name!r}")
        if not _REGION.match(self.region):
            raise InvalidInputError(f"not an AWS region: {self.region!r}")


@attrs.frozen
class FileBesideScript:
    """The script reads the configuration from a file a person put next to it.

    Attributes:
        filename: The file's name.

    Raises:
        InvalidInputError: The name is not a plain file name.
    """

    filename: str = DEFAULT_CONFIG_FILENAME

    def __attrs_post_init__(self) -> None:
        if not _FILE.match(self.filename):
            raise InvalidInputError(f"not a plain file name: {self.filename!r}")


ConfigSource = ParameterStoreConfig | FileBesideScript


@attrs.frozen
class InstallerLocation:
    """Where the scripts get the Mobility service installer package.

    Use a named constructor (or :meth:`parse`). The packages are the ones the appliance keeps in
    ``E:\\Software\\Agents`` (or Microsoft's download): ``Microsoft-ASR_UA_*_Windows_*release.exe``
    and, per Linux distribution, ``Microsoft-ASR_UA_*_<DISTRO>-64_*release.tar.gz``. With S3 or a
    directory the newest matching package is used.

    Attributes:
        kind: ``s3``, ``https``, ``directory`` or ``beside-script``.
        uri: The S3 prefix (``s3://bucket/prefix/``), HTTPS base URL or directory.
        files: HTTPS only: package key (``Windows``, ``RHEL8-64``, ``UBUNTU-20.04-64`` ...) to
            file name.
    """

    kind: str
    uri: str | None = None
    files: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_map, hash=False)

    @classmethod
    def s3(cls, uri: str) -> InstallerLocation:
        """Packages under an S3 prefix; the instance role needs read access.

        Raises:
            InvalidInputError: ``uri`` is not ``s3://bucket[/prefix]``.
        """
        match = re.match(r"^s3://([^/]+)/?(.*)$", uri or "")
        if not match or not _BUCKET.match(match.group(1)) or not _SAFE_PATH.match(uri):
            raise InvalidInputError(f"not an S3 location (s3://bucket/prefix/): {uri!r}")
        prefix = match.group(2)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls("s3", f"s3://{match.group(1)}/{prefix}")

    @classmethod
    def https(cls, base_url: str, files: Mapping[str, str]) -> InstallerLocation:
        """Packages on an HTTPS server: ``files`` names the file of each package key.

        Raises:
            InvalidInputError: The URL is not HTTPS, or a key or file name is malformed.
        """
        if not re.match(r"^https://[^\s'\"`$]+$", base_url or ""):
            raise InvalidInputError(f"not an HTTPS URL: {base_url!r}")
        if not files:
            raise InvalidInputError("files must name at least one package (e.g. {'Windows': ...})")
        for key, name in files.items():
            if not _PACKAGE_KEY.match(key):
                raise InvalidInputError(
                    f"unknown package key {key!r}: use 'Windows' or e.g. 'RHEL8-64', "
                    "'UBUNTU-20.04-64', 'SLES15-64', 'DEBIAN11-64', 'OL8-64'"
                )
            if not _FILE.match(name):
                raise InvalidInputError(f"not a plain file name: {name!r}")
        url = base_url if base_url.endswith("/") else base_url + "/"
        return cls("https", url, files)

    @classmethod
    def directory(cls, path: str) -> InstallerLocation:
        """Packages already on each machine (an absolute path: a share, an AMI folder).

        Raises:
            InvalidInputError: ``path`` is not absolute or holds quotes/control characters.
        """
        absolute = path.startswith(("/", "\\\\")) or re.match(r"^[A-Za-z]:\\", path)
        if not path or not absolute or not _SAFE_PATH.match(path):
            raise InvalidInputError(f"not an absolute directory path: {path!r}")
        return cls("directory", path)

    @classmethod
    def beside_script(cls) -> InstallerLocation:
        """The package lies next to the script (script bundles run by hand)."""
        return cls("beside-script")

    @classmethod
    def parse(cls, value: str | InstallerLocation | None) -> InstallerLocation:
        """``s3://...``, an absolute directory, an :class:`InstallerLocation`, or None (beside).

        Raises:
            InvalidInputError: An HTTPS URL without file names, or anything unrecognised.
        """
        if value is None:
            return cls.beside_script()
        if isinstance(value, InstallerLocation):
            return value
        if not isinstance(value, str):
            raise InvalidInputError(f"installer_location must be a string, not {value!r}")
        if value.startswith("s3://"):
            return cls.s3(value)
        if value.startswith("https://"):
            raise InvalidInputError(
                "an HTTPS location needs the file name of each package: use "
                "InstallerLocation.https(base_url, files={'Windows': ..., 'RHEL8-64': ...})"
            )
        return cls.directory(value)

    def __str__(self) -> str:
        return self.uri or "the script's own folder"


def _template(platform: Platform, name: str) -> str:
    return (resources.files("ec2asr.mobility") / "templates" / platform.value / name).read_text(
        encoding="utf-8"
    )


def _fill(text: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {key!r} has no value")
        return values[key]

    return re.sub(r"\{\{(\w+)\}\}", value, text)


def _installer(platform: Platform, where: InstallerLocation, region: str) -> str:
    ext = "ps1" if platform is Platform.WINDOWS else "sh"
    q = _quote
    if where.kind == "s3":
        assert where.uri is not None
        bucket, _, prefix = where.uri[len("s3://") :].partition("/")
        values = {"uri": q(platform, where.uri), "region": q(platform, region)}
        values.update(bucket=q(platform, bucket), prefix=q(platform, prefix))
        return _fill(_template(platform, f"installer-s3.{ext}"), values)
    if where.kind == "https":
        assert where.uri is not None
        if platform is Platform.WINDOWS:
            if "Windows" not in where.files:
                raise InvalidInputError("the HTTPS installer location names no 'Windows' package")
            url = q(platform, where.uri + where.files["Windows"])
            return _fill(_template(platform, "installer-https.ps1"), {"url": url})
        cases = "\n".join(
            f"  {key}) FILE={q(platform, name)} ;;"
            for key, name in sorted(where.files.items())
            if key != "Windows"
        )
        values = {"cases": cases, "base_url": q(platform, where.uri)}
        return _fill(_template(platform, "installer-https.sh"), values)
    if where.kind == "directory":
        assert where.uri is not None
        values = {"directory": q(platform, where.uri), "label": _comment(where.uri)}
    else:
        here = "$here" if platform is Platform.WINDOWS else '"$HERE"'
        values = {"directory": here, "label": "the script's own folder"}
    return _fill(_template(platform, f"installer-directory.{ext}"), values)


def _config(platform: Platform, config: ConfigSource) -> str:
    ext = "ps1" if platform is Platform.WINDOWS else "sh"
    if isinstance(config, ParameterStoreConfig):
        values = {
            "parameter": _quote(platform, config.name),
            "region": _quote(platform, config.region),
        }
        return _fill(_template(platform, f"config-parameter.{ext}"), values)
    # On Linux the (validated, plain) name is part of a double-quoted path.
    value = _quote(platform, config.filename) if platform is Platform.WINDOWS else config.filename
    return _fill(_template(platform, f"config-file.{ext}"), {"filename": value})


def render_script(
    platform: Platform,
    *,
    config: ConfigSource,
    installer: InstallerLocation,
    region: str,
    appliance: str,
    target: str | None = None,
) -> str:
    """Render the install-and-register script for one platform.

    Args:
        platform: Windows or Linux.
        config: Where the script reads the configuration.
        installer: Where the script gets the installer package.
        region: The AWS region (for ``aws``/AWS Tools for PowerShell calls).
        appliance: How the appliance is named in the script's header comment.
        target: A machine name for the header comment (bundles); None keeps the script
            identical for every machine (Run Command batches).

    Returns:
        The script text (no secret in it).

    Raises:
        InvalidInputError: The installer location cannot serve this platform.
    """
    if not _REGION.match(region):
        raise InvalidInputError(f"not an AWS region: {region!r}")
    values = {
        "appliance": _comment(appliance),
        "version": __version__,
        "target": f" For {_comment(target)}." if target else "",
        "get_installer": _installer(platform, installer, region).rstrip("\n"),
        "fetch_config": _config(platform, config).rstrip("\n"),
    }
    return _fill(_template(platform, platform.script_name), values)
