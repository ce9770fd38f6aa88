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

from collections.abc import Mapping

import attrs

from ec2asr.aws.ostext import (
    DISTRIBUTION_NAMES,
    OsFacts,
    facts_from_platform,
    facts_from_ssm,
    parse_os_text,
)
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
_TRUE_WORDS = frozenset({"on", "true", "yes", "enabled", "1"})
_FALSE_WORDS = frozenset({"off", "false", "no", "disabled", "0"})

_FIELDS = ("family", "distribution", "name", "version")
_Candidate = tuple[OsFacts, EvidenceSource, str]


def _describe_override(value: str | OsInfo) -> str:
    if isinstance(value, OsInfo):
        shown = value.name or value.distribution or value.family.value
        return f"caller override os_overrides: {shown}"
    return f"caller override os_overrides: {value!r}"


def _candidates(
    image: ImageInfo,
    tags: Mapping[str, str],
    ssm: SsmStatus | None,
    platform: str | None,
    platform_details: str | None,
    override: str | OsInfo | None,
) -> list[_Candidate]:
    """What each source says, most trusted first."""
    found: list[_Candidate] = []
    if isinstance(override, OsInfo):
        family = None if override.family is OsFamily.UNKNOWN else override.family
        facts = OsFacts(family, override.distribution, override.name, override.version)
        found.append((facts, EvidenceSource.OVERRIDE, _describe_override(override)))
    elif override:
        found.append(
            (parse_os_text(override), EvidenceSource.OVERRIDE, _describe_override(override))
        )
    if tags.get(TAG_OS):
        detail = f"tag {TAG_OS}={tags[TAG_OS]!r}"
        found.append((parse_os_text(tags[TAG_OS]), EvidenceSource.TAG, detail))
    if ssm is not None and ssm.managed:
        shown = " ".join(p for p in (ssm.platform_name, ssm.platform_version) if p)
        detail = f"SSM agent reports {ssm.platform_type or '?'}: {shown or 'no platform name'}"
        found.append((facts_from_ssm(ssm), EvidenceSource.SSM_INVENTORY, detail))
    if platform or platform_details:
        fields = (("Platform", platform), ("PlatformDetails", platform_details))
        detail = "EC2 " + ", ".join(f"{k}={v!r}" for k, v in fields if v)
        found.append(
            (facts_from_platform(platform, platform_details), EvidenceSource.PLATFORM, detail)
        )
    if image.found and image.name:
        detail = f"AMI name {image.name!r}"
        found.append((parse_os_text(image.name), EvidenceSource.AMI_NAME, detail))
    if image.found and image.description:
        detail = f"AMI description {image.description!r}"
        found.append((parse_os_text(image.description), EvidenceSource.AMI_DESCRIPTION, detail))
    return found


def _merge(candidates: list[_Candidate]) -> tuple[OsFacts, list[Evidence]]:
    """Fill each fact from the first source that gives it and agrees with what is decided."""
    decided: dict[str, object] = dict.fromkeys(_FIELDS)
    evidence: list[Evidence] = []
    for facts, source, detail in candidates:
        if facts.family not in (None, decided["family"]) and decided["family"] is not None:
            continue
        if (
            facts.distribution not in (None, decided["distribution"])
            and decided["distribution"] is not None
        ):
            continue
        for field in _FIELDS:
            value = getattr(facts, field)
            if decided[field] is None and value is not None:
                decided[field] = value
                evidence.append(Evidence(source, detail, field))
    merged = OsFacts(**decided)  # type: ignore[arg-type]
    if merged.name is None and merged.distribution is not None:
        # No source spelled a name: derive it, on the distribution's evidence.
        name = DISTRIBUTION_NAMES.get(merged.distribution, merged.distribution)
        if merged.version is not None:
            name = f"{name} {merged.version}"
        merged = attrs.evolve(merged, name=name)
        evidence.extend(
            attrs.evolve(e, field="name") for e in evidence if e.field == "distribution"
        )
    return merged, evidence


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
    facts, evidence = _merge(_candidates(image, tags, ssm, platform, platform_details, override))
    if facts.family is None:
        ami = "AMI no longer described" if not image.found else "AMI name not recognised"
        evidence.append(
            Evidence(
                EvidenceSource.UNKNOWN,
                f"no source identified the OS (no override, no {TAG_OS} tag, no SSM report, "
                f"no EC2 platform, {ami})",
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
        distribution=facts.distribution,
        override=override.kernel if isinstance(override, OsInfo) else None,
    )
    if kernel_evidence is not None:
        evidence.append(kernel_evidence)
    return OsInfo(
        family=facts.family or OsFamily.UNKNOWN,
        distribution=facts.distribution,
        name=facts.name,
        version=facts.version,
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
