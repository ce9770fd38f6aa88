"""ASR's operating-system support matrix: the packaged data file, and matching against it.

The data file ``ec2asr/assessment/data/support_matrix.json`` (schema ``ec2asr.support-matrix/1``)
transcribes Microsoft's *Support matrix for disaster recovery of VMware VMs and physical servers to
Azure* (https://learn.microsoft.com/azure/site-recovery/vmware-physical-azure-support-matrix),
which is the matrix for the modernized stack (provider ``InMageRcm``) that replicates EC2 instances
as physical servers. Each entry and limit names the page revision it came from. Entries from the
2017 *Migrate AWS VMs to Azure* tutorial (Windows Server 2008 R2 SP1, 2012, 2012 R2 and RHEL 6.7)
carry ``"seed_2017": true``; :meth:`SupportMatrix.seed_2017` returns that subset.

ASR's live answer (``replicationSupportedOperatingSystems``) is handled in
:mod:`ec2asr.assessment.live`.
"""

from __future__ import annotations

import enum
import functools
import importlib.resources
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ec2asr.errors import InvalidInputError

__all__ = [
    "MATRIX_SCHEMA",
    "Advisory",
    "MatchStatus",
    "MatrixEntry",
    "MatrixLimits",
    "MatrixMatch",
    "SupportMatrix",
    "load_support_matrix",
    "normalize_version",
    "tokens",
]

MATRIX_SCHEMA = "ec2asr.support-matrix/1"
"""The only data-file schema this module reads."""

INMAGE_RCM = "InMageRcm"


# -- version spelling ---------------------------------------------------------------------------


def normalize_version(version: str) -> str:
    """Spell an OS version the way the matrix does: upper-case, single spaces, ``SPn``.

    ``"2008r2 sp1"`` and ``"2008 R2 Service Pack 1"`` become ``"2008 R2 SP1"``; ``"15-sp4"`` and
    ``"15SP4"`` become ``"15 SP4"``; ``"8.6"`` stays ``"8.6"``.
    """
    s = version.strip().upper()
    s = re.sub(r"SERVICE\s*PACK\s*", "SP", s)
    s = re.sub(r"[\s_-]+", " ", s)
    s = re.sub(r"(?<=\d)(R2|SP\d+)", r" \1", s)
    s = re.sub(r"\bSP\s+(\d+)", r"SP\1", s)
    return re.sub(r"\s+", " ", s).strip()


@functools.lru_cache(maxsize=4096)
def tokens(version: str) -> tuple[str, ...]:
    """A normalized version split on spaces and dots: ``"15 SP4"`` -> ``("15", "SP4")``."""
    return tuple(t for t in re.split(r"[ .]", normalize_version(version)) if t)


# -- the data file ------------------------------------------------------------------------------


@attrs.frozen
class Advisory:
    """A note the matrix attaches to an entry, raised as a finding for matching machines."""

    severity: str
    text: str
    source: str = ""


@attrs.frozen
class MatrixEntry:
    """One row of the matrix: a distribution and the versions ASR supports.

    Attributes:
        distribution: ec2asr's distribution key (``windows``, ``rhel``, ``ubuntu`` ...).
        name: A human name (``"Red Hat Enterprise Linux 8"``).
        versions: Supported versions, spelled as ``OsInfo.version`` spells them.
        point_releases: True when point releases of a version are included (``"20.04.6"``
            matches ``"20.04"``).
        seed_2017: True when the entry is in the 2017 *Migrate AWS VMs to Azure* list.
        modernized_only: True when only the modernized stack (InMageRcm) supports it.
        advisory: A note raised as a finding for matching machines, if any.
        source: Which page revision the entry came from (a key of ``SupportMatrix.sources``).
    """

    distribution: str
    name: str
    versions: tuple[str, ...]
    point_releases: bool = False
    seed_2017: bool = False
    modernized_only: bool = False
    advisory: Advisory | None = None
    source: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatrixEntry:
        """Build from one item of the data file's ``entries``."""
        advisory = data.get("advisory")
        return cls(
            distribution=str(data["distribution"]),
            name=str(data["name"]),
            versions=tuple(normalize_version(str(v)) for v in data["versions"]),
            point_releases=bool(data.get("point_releases", False)),
            seed_2017=bool(data.get("seed_2017", False)),
            modernized_only=bool(data.get("modernized_only", False)),
            advisory=None
            if advisory is None
            else Advisory(
                severity=str(advisory["severity"]).upper(),
                text=str(advisory["text"]),
                source=str(advisory.get("source", "")),
            ),
            source=str(data.get("source", "")),
        )


@attrs.frozen
class MatrixLimits:
    """Disk and churn limits of the modernized VMware/physical stack.

    All figures come from the matrix's *Azure VM requirements*, *Storage* and *Churn limits*
    sections: OS disk up to 2,048 GB for Generation 1 (BIOS) and 4,095 GB for Generation 2 (UEFI),
    at most 64 data disks, each disk at least 1 GB and up to 32,767 GB on managed disks, peak churn
    across all disks of a VM 54 MB/s, per Premium P20+ disk 20 MB/s (16 KB+ writes), per Standard
    disk 2 MB/s, and 2 TB of churn per day per process server.
    """

    os_disk_max_gib_bios: int = 2048
    os_disk_max_gib_uefi: int = 4095
    data_disk_max_count: int = 64
    disk_min_gib: int = 1
    disk_max_gib: int = 32767
    churn_vm_peak_mb_per_s: float = 54.0
    churn_disk_premium_mb_per_s: float = 20.0
    churn_disk_standard_mb_per_s: float = 2.0
    process_server_daily_churn_tb: float = 2.0
    source: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatrixLimits:
        """Build from the data file's ``limits``; missing keys keep the documented defaults."""
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


class MatchStatus(str, enum.Enum):
    """How a machine's OS compares with the matrix."""

    SUPPORTED = "supported"
    """A matrix entry lists this exact version."""
    AMBIGUOUS = "ambiguous"
    """The version is less precise than the matrix (``"8"`` vs ``"8.6"``, ``"2008 R2"`` vs
    ``"2008 R2 SP1"``) or missing: some, not necessarily this one, are supported."""
    UNSUPPORTED = "unsupported"
    """The distribution or version is not in the matrix."""
    UNKNOWN = "unknown"
    """The distribution is unknown."""


@attrs.frozen
class MatrixMatch:
    """The result of :meth:`SupportMatrix.match`.

    Attributes:
        status: Supported, ambiguous, unsupported or unknown.
        entry: The matching entry (SUPPORTED only).
        candidates: For AMBIGUOUS, the versions it could be; for UNSUPPORTED, every version the
            matrix supports for the distribution.
    """

    status: MatchStatus
    entry: MatrixEntry | None = None
    candidates: tuple[str, ...] = ()


def _version_matches(version: Sequence[str], listed: Sequence[str], point_releases: bool) -> bool:
    if tuple(version) == tuple(listed):
        return True
    return point_releases and len(version) > len(listed) and version[: len(listed)] == listed


@attrs.frozen
class SupportMatrix:
    """The support matrix: versioned entries plus limits.

    Build it with :func:`load_support_matrix` (the packaged file, cached), :meth:`from_file` or
    :meth:`from_dict`.

    Attributes:
        schema: ``"ec2asr.support-matrix/1"``.
        version: The data version (``"2026.11.26"``).
        updated: When the data was last checked against the sources (ISO date).
        provider: ``"InMageRcm"``.
        sources: Source key -> citation (URL and page revision).
        limits: Disk and churn limits.
        entries: Supported operating systems.
        unsupported: Distribution key -> why it is not supported (``amazon``).
    """

    schema: str
    version: str
    updated: str
    provider: str
    sources: Mapping[str, str] = attrs.field(hash=False)
    limits: MatrixLimits
    entries: tuple[MatrixEntry, ...]
    unsupported: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SupportMatrix:
        """Build from parsed JSON.

        Raises:
            InvalidInputError: Wrong schema or malformed entries.
        """
        if data.get("schema") != MATRIX_SCHEMA:
            raise InvalidInputError(
                f"unsupported support-matrix schema {data.get('schema')!r}; "
                f"expected {MATRIX_SCHEMA!r}"
            )
        try:
            return cls(
                schema=MATRIX_SCHEMA,
                version=str(data["version"]),
                updated=str(data["updated"]),
                provider=str(data.get("provider", INMAGE_RCM)),
                sources={str(k): str(v) for k, v in dict(data.get("sources", {})).items()},
                limits=MatrixLimits.from_dict(data.get("limits", {})),
                entries=tuple(MatrixEntry.from_dict(e) for e in data["entries"]),
                unsupported={
                    str(u["distribution"]): str(u["reason"]) for u in data.get("unsupported", ())
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed support matrix: {exc!r}") from exc

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SupportMatrix:
        """Read a matrix data file (for example a refreshed copy).

        Raises:
            InvalidInputError: The file cannot be read or is not a valid matrix.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read support matrix {path}: {exc}") from exc
        return cls.from_dict(data)

    def entries_for(self, distribution: str) -> tuple[MatrixEntry, ...]:
        """Every entry for one distribution key."""
        return tuple(e for e in self.entries if e.distribution == distribution)

    def versions_for(self, distribution: str) -> tuple[str, ...]:
        """Every supported version of one distribution, in data-file order."""
        return tuple(v for e in self.entries_for(distribution) for v in e.versions)

    def seed_2017(self) -> SupportMatrix:
        """The subset from the 2017 *Migrate AWS VMs to Azure* list (entries flagged
        ``seed_2017``): Windows Server 2008 R2 SP1, 2012, 2012 R2 and RHEL 6.7."""
        return attrs.evolve(self, entries=tuple(e for e in self.entries if e.seed_2017))

    def match(self, distribution: str | None, version: str | None) -> MatrixMatch:
        """Compare a distribution and version with the matrix.

        A version matches a listed one when equal after :func:`normalize_version`, or, for
        entries with ``point_releases``, when it is a point release of it (``"20.04.6"``).
        A version that is a strict prefix of listed ones (``"8"``, ``"2008 R2"``), or no version at
        all, is AMBIGUOUS.
        """
        if not distribution:
            return MatrixMatch(MatchStatus.UNKNOWN)
        entries = self.entries_for(distribution)
        all_versions = tuple(v for e in entries for v in e.versions)
        if not entries:
            return MatrixMatch(MatchStatus.UNSUPPORTED)
        if not version:
            return MatrixMatch(MatchStatus.AMBIGUOUS, candidates=all_versions)
        wanted = tokens(version)
        ambiguous: list[str] = []
        for entry in entries:
            for listed in entry.versions:
                listed_tokens = tokens(listed)
                if _version_matches(wanted, listed_tokens, entry.point_releases):
                    return MatrixMatch(MatchStatus.SUPPORTED, entry=entry)
                if len(listed_tokens) > len(wanted) and listed_tokens[: len(wanted)] == wanted:
                    ambiguous.append(listed)
        if ambiguous:
            return MatrixMatch(MatchStatus.AMBIGUOUS, candidates=tuple(ambiguous))
        return MatrixMatch(MatchStatus.UNSUPPORTED, candidates=all_versions)


@functools.lru_cache(maxsize=1)
def load_support_matrix() -> SupportMatrix:
    """The matrix packaged with ec2asr (read once, then cached; the object is immutable)."""
    text = (
        importlib.resources.files("ec2asr.assessment")
        .joinpath("data/support_matrix.json")
        .read_text(encoding="utf-8")
    )
    return SupportMatrix.from_dict(json.loads(text))
