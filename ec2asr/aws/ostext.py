"""Reading operating-system facts from text: AMI names and descriptions, tags, SSM, EC2 fields.

Pure functions. :func:`parse_os_text` recognises Windows Server and the Linux distributions ASR
knows (RHEL, CentOS, Oracle Linux, Ubuntu, Debian, SLES, Amazon Linux, Rocky, Alma) in the many
spellings AWS, vendors and users give them, and returns the facts it found as :class:`OsFacts`.
"""

from __future__ import annotations

import re

import attrs

from ec2asr.models import OsFamily, SsmStatus

__all__ = [
    "DISTRIBUTION_NAMES",
    "OsFacts",
    "facts_from_platform",
    "facts_from_ssm",
    "parse_os_text",
]

_UBUNTU_CODENAMES = {
    "precise": "12.04",
    "trusty": "14.04",
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "noble": "24.04",
}
_DEBIAN_CODENAMES = {
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
}
# Windows Server builds as SSM reports them in PlatformVersion.
_WINDOWS_BUILDS = {
    "6.0.6002": "2008 SP2",
    "6.1.7600": "2008 R2",
    "6.1.7601": "2008 R2 SP1",
    "6.2.9200": "2012",
    "6.3.9600": "2012 R2",
    "10.0.14393": "2016",
    "10.0.17763": "2019",
    "10.0.20348": "2022",
    "10.0.26100": "2025",
}
DISTRIBUTION_NAMES = {
    "windows": "Windows Server",
    "rhel": "Red Hat Enterprise Linux",
    "centos": "CentOS",
    "oracle": "Oracle Linux",
    "ubuntu": "Ubuntu",
    "debian": "Debian",
    "sles": "SUSE Linux Enterprise Server",
    "amazon": "Amazon Linux",
    "rocky": "Rocky Linux",
    "alma": "AlmaLinux",
}


@attrs.frozen
class OsFacts:
    """What one source says about the OS; ``None`` where it says nothing.

    Attributes:
        family: Windows or Linux, if the source says.
        distribution: The distribution key (``rhel``, ``ubuntu``, ``windows`` ...).
        name: A human name (``"Ubuntu 20.04 LTS"``).
        version: The version as ASR's support matrix spells it (``"2008 R2 SP1"``, ``"8.6"``).
    """

    family: OsFamily | None = None
    distribution: str | None = None
    name: str | None = None
    version: str | None = None

    @property
    def empty(self) -> bool:
        """True when the source said nothing at all."""
        return self.family is None and self.distribution is None


def _linux(distribution: str, version: str | None, name: str | None = None) -> OsFacts:
    if name is None and version is not None:
        name = f"{DISTRIBUTION_NAMES[distribution]} {version}"
    return OsFacts(OsFamily.LINUX, distribution, name, version)


def _windows(text: str) -> OsFacts | None:
    if not re.search(r"win(dows)?", text, re.IGNORECASE):
        return None
    match = re.search(
        r"win(?:dows)?[\s_-]*(?:server)?[\s_-]*(2003|2008|2012|2016|2019|2022|2025)"
        r"(?P<r2>[\s_-]*r2)?(?:[\s_-]*(?:rtm|with)?[\s_-]*(?P<sp>sp\d))?",
        text,
        re.IGNORECASE,
    )
    if match is None:
        # "Windows" alone, or a Windows client: the family is all we can say.
        if re.search(r"\bwindows\b|^windows|windows_", text, re.IGNORECASE):
            return OsFacts(OsFamily.WINDOWS, "windows")
        return None
    version = match.group(1)
    if match.group("r2"):
        version += " R2"
    if match.group("sp"):
        version += " " + match.group("sp").upper()
    return OsFacts(OsFamily.WINDOWS, "windows", f"Windows Server {version}", version)


def _major_minor(major: str, minor: str | None) -> str:
    return f"{int(major)}.{int(minor)}" if minor is not None else str(int(major))


_LINUX_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("amazon-2023", re.compile(r"\bal2023\b|amazon[\s_-]*linux[\s_-]*2023", re.I)),
    ("amazon-2", re.compile(r"\bamzn2\b|amazon[\s_-]*linux[\s_-]*2(?!\d)", re.I)),
    ("amazon-1", re.compile(r"\bamzn-ami\b.*?(\d{4}\.\d{2})|amazon[\s_-]*linux[\s_-]*ami", re.I)),
    ("amazon", re.compile(r"amazon[\s_-]*linux", re.I)),
    ("rhel", re.compile(r"\brhel[\s_-]*(\d+)(?:\.(\d+))?", re.I)),
    (
        "rhel",
        re.compile(
            r"red[\s_-]*hat[\s_-]*enterprise[\s_-]*linux(?:[\s_-]*server)?"
            r"(?:[\s_-]*release)?(?:[\s_-]*(\d+)(?:\.(\d+))?)?",
            re.I,
        ),
    ),
    ("centos-stream", re.compile(r"\bcentos[\s_-]*stream[\s_-]*(\d+)", re.I)),
    ("centos", re.compile(r"\bcentos(?:[\s_-]*linux)?(?:[\s_-]*(\d+)(?:\.(\d+))?)?", re.I)),
    ("oracle", re.compile(r"(?<![A-Za-z])OL[-_]?(\d+)[.uU](\d+)")),
    (
        "oracle",
        re.compile(
            r"oracle[\s_-]*linux(?:[\s_-]*server)?"
            r"(?:[\s_-]*(\d+)(?:(?:[.u]|[\s_-]*update[\s_-]*)(\d+))?)?",
            re.I,
        ),
    ),
    ("rocky", re.compile(r"\brocky(?:[\s_-]*linux)?[\s_-]*(\d+)\.(\d+)", re.I)),
    (
        "rocky",
        re.compile(
            r"\brocky(?:[\s_-]*linux)?(?:[\s_-]*(\d+)(?:[\s_-]+ec2[\s_a-z-]*?(\d+)\.(\d+))?)?", re.I
        ),
    ),
    (
        "alma",
        re.compile(r"\balma[\s_-]*(?:linux)?(?:[\s_-]*os)?(?:[\s_-]*(\d+)(?:\.(\d+))?)?", re.I),
    ),
    ("ubuntu", re.compile(r"ubuntu(?:[^0-9/]*?)(\d{2}\.\d{2})", re.I)),
    ("ubuntu", re.compile(r"ubuntu", re.I)),
    ("debian", re.compile(r"\bdebian(?:[\s_-]*gnu/linux)?(?:[\s_-]*(\d+))?", re.I)),
    (
        "sles",
        re.compile(
            r"\b(?:sles|suse[\s_-]*linux[\s_-]*enterprise(?:[\s_-]*server)?)"
            r"(?:[\s_-]*(\d+)(?:\.(\d+)|[\s_-]*sp(\d+))?)?",
            re.I,
        ),
    ),
)


def _linux_facts(key: str, match: re.Match[str], text: str) -> OsFacts:
    groups = match.groups()
    if key == "amazon-2023":
        return _linux("amazon", "2023", "Amazon Linux 2023")
    if key == "amazon-2":
        return _linux("amazon", "2", "Amazon Linux 2")
    if key == "amazon-1":
        version = groups[0]
        if version is None:
            found = re.search(r"(\d{4}\.\d{2})", text)
            version = found.group(1) if found else None
        name = f"Amazon Linux AMI {version}" if version else "Amazon Linux AMI"
        return _linux("amazon", version, name)
    if key == "amazon":
        return _linux("amazon", None)
    if key == "centos-stream":
        major = str(int(groups[0]))
        return _linux("centos", major, f"CentOS Stream {major}")
    if key == "ubuntu":
        version = groups[0] if groups else None
        if version is None:
            codename = re.search("|".join(_UBUNTU_CODENAMES), text, re.I)
            version = _UBUNTU_CODENAMES[codename.group(0).lower()] if codename else None
        if version is None:
            return _linux("ubuntu", None)
        lts = " LTS" if version.endswith(".04") and int(version[:2]) % 2 == 0 else ""
        return _linux("ubuntu", version, f"Ubuntu {version}{lts}")
    if key == "debian":
        version = str(int(groups[0])) if groups[0] else None
        if version is None:
            codename = re.search("|".join(_DEBIAN_CODENAMES), text, re.I)
            version = _DEBIAN_CODENAMES[codename.group(0).lower()] if codename else None
        return _linux("debian", version)
    if key == "sles":
        major, minor, sp = groups
        if major is None:
            return _linux("sles", None)
        service_pack = sp if sp is not None else minor
        version = major if not service_pack or service_pack == "0" else f"{major} SP{service_pack}"
        return _linux("sles", version)
    if key == "rocky" and len(groups) == 3:
        major, major_again, minor = groups
        if major is None:
            return _linux("rocky", None)
        if major_again == major and minor is not None:
            return _linux("rocky", _major_minor(major, minor))
        return _linux("rocky", str(int(major)))
    major, minor = groups[0], groups[1] if len(groups) > 1 else None
    return _linux(key, _major_minor(major, minor) if major is not None else None)


def parse_os_text(text: str | None) -> OsFacts:
    """Read OS facts from free text: an AMI name or description, a tag value, an SSM name.

    Args:
        text: E.g. ``"RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2"``,
            ``"Windows_Server-2008-R2_SP1-English-64Bit-Base-2020.01.15"`` or ``"rhel 8.6"``.

    Returns:
        The facts found; an empty :class:`OsFacts` when the text names no known OS.
    """
    if not text:
        return OsFacts()
    windows = _windows(text)
    if windows is not None:
        return windows
    for key, pattern in _LINUX_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            return _linux_facts(key, match, text)
    if re.search(r"linux|unix", text, re.IGNORECASE):
        return OsFacts(family=OsFamily.LINUX)
    return OsFacts()


def facts_from_platform(platform: str | None, platform_details: str | None) -> OsFacts:
    """Read EC2's ``Platform`` (``windows`` or absent) and ``PlatformDetails``.

    ``PlatformDetails`` names the billing product (``Linux/UNIX``, ``Red Hat Enterprise Linux``,
    ``SUSE Linux``, ``Ubuntu Pro``, ``Windows with SQL Server Standard`` ...): it gives the
    family and sometimes the distribution, never a version.
    """
    details = (platform_details or "").strip()
    lowered = details.lower()
    if (platform or "").lower() == "windows" or lowered.startswith("windows"):
        return OsFacts(OsFamily.WINDOWS, "windows")
    if "red hat" in lowered:
        return OsFacts(OsFamily.LINUX, "rhel")
    if "suse" in lowered:
        return OsFacts(OsFamily.LINUX, "sles")
    if "ubuntu" in lowered:
        return OsFacts(OsFamily.LINUX, "ubuntu")
    if "linux" in lowered:
        return OsFacts(OsFamily.LINUX)
    return OsFacts()


def facts_from_ssm(ssm: SsmStatus) -> OsFacts:
    """Read what the SSM agent reported (``PlatformType``/``PlatformName``/``PlatformVersion``)."""
    if not ssm.managed:
        return OsFacts()
    ptype = (ssm.platform_type or "").lower()
    pname = ssm.platform_name or ""
    pversion = ssm.platform_version or ""
    if ptype == "windows" or "windows" in pname.lower():
        facts = _windows(pname) or OsFacts(OsFamily.WINDOWS, "windows")
        build = ".".join(pversion.split(".")[:3])
        from_build = _WINDOWS_BUILDS.get(build)
        if (
            from_build
            and from_build != facts.version
            and from_build.startswith(facts.version or "")
        ):
            facts = attrs.evolve(facts, version=from_build, name=f"Windows Server {from_build}")
        return facts
    facts = parse_os_text(f"{pname} {pversion}".strip())
    if facts.empty and ptype == "linux":
        return OsFacts(family=OsFamily.LINUX)
    return facts
