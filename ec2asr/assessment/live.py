"""ASR's live answer: which operating systems ``replicationSupportedOperatingSystems`` lists.

``GET {vault}/replicationSupportedOperatingSystems?instanceType=InMageRcm`` answers a
``SupportedOperatingSystems`` resource whose ``properties.supportedOsList[]`` holds, per provider
(``instanceType``), a list of ``SupportedOSDetails`` (``osType``, ``osName``,
``osVersions[{version, servicePack}]``) — see Microsoft's REST example
``SupportedOperatingSystems_Get.json``. :class:`SupportedOs` is ec2asr's frozen copy of one
``SupportedOSDetails``; :func:`supported_os_from_response` flattens an answer (SDK model or REST
body, read by attribute or key, so no Azure import happens here) and :func:`match_live` checks a
machine's OS against the list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ec2asr.assessment.matrix import INMAGE_RCM, tokens
from ec2asr.models import OsFamily, OsInfo

__all__ = [
    "LiveMatch",
    "SupportedOs",
    "distribution_of_os_name",
    "match_live",
    "supported_os_from_response",
]


def _service_pack(value: object) -> str | None:
    if value in (None, "", "0"):
        return None
    text = str(value).strip()
    digits = re.search(r"\d+", text)
    return f"SP{digits.group()}" if digits else text.upper()


def _get(obj: Any, attr: str, key: str) -> Any:
    """Read a field from an SDK model (attribute) or a REST body (mapping key)."""
    value = getattr(obj, attr, None)
    if value is None and isinstance(obj, Mapping):
        value = obj.get(key)
    return value


@attrs.frozen
class SupportedOs:
    """One operating system in ASR's live supported list (``SupportedOSDetails``).

    Attributes:
        os_type: ``"windows"`` or ``"linux"`` (as ASR sends it).
        os_name: ASR's name (``"Windows Server 2008 R2 Datacenter"``, ``"centos"``).
        versions: Each ``OSVersionWrapper`` as one string: ``version``, plus ``" SPn"`` when ASR
            gives a service pack (``"6.1 SP1"``).
    """

    os_type: str
    os_name: str
    versions: tuple[str, ...] = ()

    @classmethod
    def from_azure(cls, details: Any) -> SupportedOs:
        """Build from an SDK ``SupportedOSDetails`` or its REST JSON (``osName`` ...).

        No Azure import happens here: the argument is read by attribute or by key.
        """
        versions = []
        for wrapper in _get(details, "os_versions", "osVersions") or ():
            version = _get(wrapper, "version", "version")
            if not version:
                continue
            sp = _service_pack(_get(wrapper, "service_pack", "servicePack"))
            versions.append(f"{version} {sp}" if sp else str(version))
        return cls(
            os_type=str(_get(details, "os_type", "osType") or ""),
            os_name=str(_get(details, "os_name", "osName") or ""),
            versions=tuple(versions),
        )


def supported_os_from_response(
    response: Any, *, instance_type: str = INMAGE_RCM
) -> tuple[SupportedOs, ...]:
    """Flatten a ``SupportedOperatingSystems`` answer to the entries for one provider.

    Accepts the SDK model or the REST body (``properties.supportedOsList[].supportedOs``).
    """
    properties = _get(response, "properties", "properties")
    items = _get(properties, "supported_os_list", "supportedOsList") or ()
    found: list[SupportedOs] = []
    for item in items:
        if str(_get(item, "instance_type", "instanceType") or "").lower() != instance_type.lower():
            continue
        found.extend(
            SupportedOs.from_azure(d) for d in _get(item, "supported_os", "supportedOs") or ()
        )
    return tuple(found)


_NAME_TO_DISTRIBUTION = (
    ("windows", "windows"),
    ("red hat", "rhel"),
    ("redhat", "rhel"),
    ("rhel", "rhel"),
    ("centos", "centos"),
    ("oracle", "oracle"),
    ("ubuntu", "ubuntu"),
    ("debian", "debian"),
    ("suse", "sles"),
    ("sles", "sles"),
    ("rocky", "rocky"),
    ("alma", "alma"),
    ("amazon", "amazon"),
)


def distribution_of_os_name(os_name: str) -> str | None:
    """ec2asr's distribution key for an OS name as ASR spells it (None when unrecognised)."""
    lowered = os_name.lower()
    for needle, key in _NAME_TO_DISTRIBUTION:
        if needle in lowered:
            return key
    return None


# Windows Server marketing versions and the NT version ASR reports for them.
_WINDOWS_NT = {
    "2008": "6.0",
    "2008 R2": "6.1",
    "2012": "6.2",
    "2012 R2": "6.3",
    "2016": "10.0",
    "2019": "10.0",
    "2022": "10.0",
    "2025": "10.0",
}
_WINDOWS_RELEASE = re.compile(r"\b(20(?:08|12|16|19|22|25))(\s*R2)?\b", re.IGNORECASE)


def _windows_release(text: str) -> str | None:
    m = _WINDOWS_RELEASE.search(text)
    if not m:
        return None
    return m.group(1) + (" R2" if m.group(2) else "")


class LiveMatch(str, enum.Enum):
    """How a machine's OS compares with ASR's live supported list."""

    LISTED = "listed"
    NOT_LISTED = "not-listed"
    UNKNOWN = "unknown"
    """The machine's OS is too vague to check (unknown family or distribution)."""


def _linux_listed(version: str | None, listed: Sequence[str]) -> bool:
    if not listed:
        return True  # an entry without versions lists the whole distribution
    if not version:
        return False
    wanted = tokens(version)
    for item in listed:
        have = tokens(item)
        # ASR spells some Linux entries "6.0" for the whole 6.x line (see its own REST example);
        # a bare major or "X.0" therefore covers every release of that major.
        if len(have) == 2 and have[1] == "0":
            have = have[:1]
        if wanted == have or (len(wanted) > len(have) and wanted[: len(have)] == have):
            return True
    return False


def _windows_listed(version: str | None, entry: SupportedOs) -> bool:
    release = _windows_release(version or "")
    if release is None:
        return False
    named = _windows_release(entry.os_name)
    if named is not None:
        return named == release
    nt = _WINDOWS_NT.get(release)
    return any(tokens(v)[:2] == tuple(nt.split(".")) for v in entry.versions) if nt else False


def match_live(os_info: OsInfo, supported: Iterable[SupportedOs]) -> LiveMatch:
    """Check an OS against ASR's live ``replicationSupportedOperatingSystems`` list.

    Entries are matched by ``os_type`` and by the distribution in ``os_name``. Windows entries
    match on the release in their name (``"Windows Server 2008 R2 Datacenter"``), or, for entries
    without one, on the NT version (``6.1`` = 2008 R2, ``6.3`` = 2012 R2, ``10.0`` = 2016+).
    Linux versions match exactly, as a point release, or through a bare major / ``"X.0"`` entry,
    which ASR uses for a whole major line (its published example lists CentOS as ``"6.0"``).
    """
    if os_info.family is OsFamily.UNKNOWN or not os_info.distribution:
        return LiveMatch.UNKNOWN
    family = os_info.family.value
    for entry in supported:
        if entry.os_type.lower() != family:
            continue
        if distribution_of_os_name(entry.os_name) != os_info.distribution:
            continue
        if os_info.family is OsFamily.WINDOWS:
            if _windows_listed(os_info.version, entry):
                return LiveMatch.LISTED
        elif _linux_listed(os_info.version, entry.versions):
            return LiveMatch.LISTED
    return LiveMatch.NOT_LISTED
