"""Operating-system detection: pure functions from what EC2 and SSM say to :class:`OsInfo`.

Nothing here does I/O. Each source yields partial facts (family, distribution, name, version);
:func:`detect_os` merges them by precedence, most trusted first:

1. a caller override (``os_overrides=`` of :meth:`ec2asr.Ec2Discovery.discover`),
2. the ``ec2asr:os`` tag on the instance,
3. AWS Systems Manager's instance information (reported by the agent in the guest),
4. EC2's ``Platform`` / ``PlatformDetails``,
5. the AMI name,
6. the AMI description.

A lower source only fills facts the higher ones left open, and only when it agrees with the
family and distribution already decided (an AMI named ``Windows_Server-2019-...`` cannot add a
version to a machine tagged ``rhel``). Every fact carries the :class:`Evidence` it came from, with
``Evidence.field`` naming the fact.

The tags a user may set on an instance to correct or complete discovery are module constants:
:data:`TAG_OS`, :data:`TAG_KERNEL`, :data:`TAG_SECURE_BOOT` and :data:`TAG_PV_DRIVER`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from ec2asr.models import Evidence, EvidenceSource, ImageInfo, OsFamily, OsInfo, SsmStatus

__all__ = [
    "CANONICAL_OWNER_ID",
    "TAG_KERNEL",
    "TAG_OS",
    "TAG_PV_DRIVER",
    "TAG_SECURE_BOOT",
    "OsFacts",
    "detect_kernel",
    "detect_os",
    "facts_from_platform",
    "facts_from_ssm",
    "parse_os_text",
    "secure_boot_from_tags",
]

TAG_OS = "ec2asr:os"
"""Tag naming the OS, e.g. ``Windows Server 2019`` or ``rhel 8.6`` (beats SSM and the AMI)."""
TAG_KERNEL = "ec2asr:kernel"
"""Tag giving the running kernel release, e.g. ``5.15.0-1019-aws``."""
TAG_SECURE_BOOT = "ec2asr:secure-boot"
"""Tag saying whether UEFI Secure Boot is on: ``on`` or ``off``."""
TAG_PV_DRIVER = "ec2asr:pv-driver"
"""Tag naming a Windows instance's paravirtual drivers: ``redhat``, ``citrix`` or ``aws``."""

CANONICAL_OWNER_ID = "099720109477"
"""The AWS account that publishes Canonical's official Ubuntu AMIs."""

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
_DISTRIBUTION_NAMES = {
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
_TRUE_WORDS = frozenset({"on", "true", "yes", "enabled", "1"})
_FALSE_WORDS = frozenset({"off", "false", "no", "disabled", "0"})


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
        name = f"{_DISTRIBUTION_NAMES[distribution]} {version}"
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


_FIELDS = ("family", "distribution", "name", "version")


def _describe_override(value: str | OsInfo) -> str:
    if isinstance(value, OsInfo):
        shown = value.name or value.distribution or value.family.value
        return f"caller override os_overrides: {shown}"
    return f"caller override os_overrides: {value!r}"


def detect_os(
    *,
    image: ImageInfo,
    tags: Mapping[str, str] | None = None,
    ssm: SsmStatus | None = None,
    platform: str | None = None,
    platform_details: str | None = None,
    override: str | OsInfo | None = None,
) -> OsInfo:
    """Merge every source into one :class:`OsInfo` with evidence per fact.

    Args:
        image: The AMI (possibly :meth:`ImageInfo.missing`).
        tags: The instance's tags (``ec2asr:os``, ``ec2asr:kernel`` are read).
        ssm: What Systems Manager reported; when it was not available, an ``"ssm"`` evidence
            entry says why.
        platform: EC2's ``Platform`` of the instance.
        platform_details: EC2's ``PlatformDetails`` of the instance (or AMI).
        override: The caller's word: an OS text (``"Windows Server 2019"``) or a full
            :class:`OsInfo`.

    Returns:
        The merged OS information. ``family`` is ``UNKNOWN`` (with an evidence entry saying
        so) when no source identified the OS.
    """
    tags = tags or {}
    candidates: list[tuple[OsFacts, EvidenceSource, str]] = []
    if isinstance(override, OsInfo):
        candidates.append(
            (
                OsFacts(
                    None if override.family is OsFamily.UNKNOWN else override.family,
                    override.distribution,
                    override.name,
                    override.version,
                ),
                EvidenceSource.OVERRIDE,
                _describe_override(override),
            )
        )
    elif override:
        candidates.append(
            (parse_os_text(override), EvidenceSource.OVERRIDE, _describe_override(override))
        )
    if tags.get(TAG_OS):
        candidates.append(
            (parse_os_text(tags[TAG_OS]), EvidenceSource.TAG, f"tag {TAG_OS}={tags[TAG_OS]!r}")
        )
    if ssm is not None and ssm.managed:
        shown = " ".join(p for p in (ssm.platform_name, ssm.platform_version) if p)
        candidates.append(
            (
                facts_from_ssm(ssm),
                EvidenceSource.SSM_INVENTORY,
                f"SSM agent reports {ssm.platform_type or '?'}: {shown or 'no platform name'}",
            )
        )
    if platform or platform_details:
        shown = ", ".join(
            f"{k}={v!r}"
            for k, v in (("Platform", platform), ("PlatformDetails", platform_details))
            if v
        )
        candidates.append(
            (
                facts_from_platform(platform, platform_details),
                EvidenceSource.PLATFORM,
                f"EC2 {shown}",
            )
        )
    if image.found and image.name:
        candidates.append(
            (parse_os_text(image.name), EvidenceSource.AMI_NAME, f"AMI name {image.name!r}")
        )
    if image.found and image.description:
        candidates.append(
            (
                parse_os_text(image.description),
                EvidenceSource.AMI_DESCRIPTION,
                f"AMI description {image.description!r}",
            )
        )

    decided: dict[str, object] = dict.fromkeys(_FIELDS)
    evidence: list[Evidence] = []
    for facts, source, detail in candidates:
        if facts.empty:
            continue
        if decided["family"] is not None and facts.family not in (None, decided["family"]):
            continue
        if decided["distribution"] is not None and facts.distribution not in (
            None,
            decided["distribution"],
        ):
            continue
        for field in _FIELDS:
            value = getattr(facts, field)
            if decided[field] is None and value is not None:
                decided[field] = value
                evidence.append(Evidence(source, detail, field))

    family = decided["family"]
    distribution = decided["distribution"]
    version = decided["version"]
    name = decided["name"]
    if name is None and isinstance(distribution, str):
        name = _DISTRIBUTION_NAMES.get(distribution, distribution)
        if version is not None:
            name = f"{name} {version}"
        evidence.extend(
            attrs.evolve(e, field="name") for e in evidence if e.field in ("distribution",)
        )
    if family is None:
        evidence.append(
            Evidence(
                EvidenceSource.UNKNOWN,
                "no source identified the OS (no override, no "
                f"{TAG_OS} tag, no SSM report, no EC2 platform, "
                + ("AMI no longer described)" if not image.found else "AMI name not recognised)"),
                "family",
            )
        )
    if ssm is not None and not ssm.managed:
        evidence.append(
            Evidence(
                EvidenceSource.SSM_INVENTORY,
                f"Systems Manager not consulted for the OS: {ssm.reason or 'not a managed node'}",
                "ssm",
            )
        )
    kernel, kernel_evidence = detect_kernel(
        tags=tags,
        image=image,
        distribution=distribution if isinstance(distribution, str) else None,
        override=override.kernel if isinstance(override, OsInfo) else None,
    )
    if kernel_evidence is not None:
        evidence.append(kernel_evidence)
    return OsInfo(
        family=family if isinstance(family, OsFamily) else OsFamily.UNKNOWN,
        distribution=distribution if isinstance(distribution, str) else None,
        name=name if isinstance(name, str) else None,
        version=version if isinstance(version, str) else None,
        kernel=kernel,
        evidence=tuple(evidence),
    )


def detect_kernel(
    *,
    tags: Mapping[str, str],
    image: ImageInfo,
    distribution: str | None,
    override: str | None = None,
) -> tuple[str | None, Evidence | None]:
    """Return the kernel release (or flavour hint) and its evidence.

    Precedence: an override, the ``ec2asr:kernel`` tag, then a hint from the AMI: Canonical's
    Ubuntu AMIs boot the ``linux-aws`` kernel flavour, so such machines get ``"linux-aws"``
    (the exact release is unknown without SSM inventory or the tag).
    """
    if override:
        return override, Evidence(
            EvidenceSource.OVERRIDE, f"caller override kernel {override!r}", "kernel"
        )
    if tags.get(TAG_KERNEL):
        value = tags[TAG_KERNEL].strip()
        return value, Evidence(EvidenceSource.TAG, f"tag {TAG_KERNEL}={value!r}", "kernel")
    if distribution in (None, "ubuntu") and image.found and _is_canonical_ubuntu(image):
        return "linux-aws", Evidence(
            EvidenceSource.AMI_NAME,
            f"AMI name {image.name!r} is a Canonical Ubuntu AMI; these boot the linux-aws "
            f"kernel flavour (a hint: set the {TAG_KERNEL} tag to the running release to "
            "confirm)",
            "kernel",
        )
    return None, None


def _is_canonical_ubuntu(image: ImageInfo) -> bool:
    name = (image.name or "").lower()
    return image.owner_id == CANONICAL_OWNER_ID or name.startswith(
        ("ubuntu/images/", "ubuntu-pro-server/images/", "ubuntu-minimal/images/")
    )


def secure_boot_from_tags(tags: Mapping[str, str]) -> tuple[bool | None, Evidence | None]:
    """Read the ``ec2asr:secure-boot`` tag (``on``/``off``, also true/false, enabled/disabled).

    Returns:
        ``(True/False, evidence)`` when the tag is set and understood, ``(None, evidence)`` when it
        is set but not understood, ``(None, None)`` when absent.
    """
    raw = tags.get(TAG_SECURE_BOOT)
    if raw is None:
        return None, None
    value = raw.strip().lower()
    if value in _TRUE_WORDS or value in _FALSE_WORDS:
        return value in _TRUE_WORDS, Evidence(
            EvidenceSource.TAG, f"tag {TAG_SECURE_BOOT}={raw!r}", "secure_boot"
        )
    return None, Evidence(
        EvidenceSource.TAG,
        f"tag {TAG_SECURE_BOOT}={raw!r} not understood (use 'on' or 'off'); Secure Boot unknown",
        "secure_boot",
    )
