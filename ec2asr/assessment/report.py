"""The readiness report: findings per machine, verdicts, and ways to show them.

A :class:`ReadinessReport` is what :func:`ec2asr.assess` returns. It is plain, immutable data:

- iterate it for one :class:`MachineReadiness` per machine, in the order the machines were given;
- ``report["i-0abc..."]`` looks a machine up by instance id;
- ``.ready`` / ``.warnings`` / ``.blocked`` filter by verdict, ``.counts`` counts them;
- ``to_dict()`` / ``to_json()`` give a stable, documented JSON schema
  (``ec2asr.readiness-report/1``, see ``docs/readiness.md``), and
  :meth:`ReadinessReport.from_dict` reads it back;
- ``str(report)`` is a fixed-width text table followed by every finding; ``_repr_html_`` renders an
  escaped HTML table in Jupyter; ``summary()`` is one line.
"""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from ec2asr.assessment import _render
from ec2asr.errors import InvalidInputError
from ec2asr.models import Evidence, EvidenceSource, SourceMachine

__all__ = [
    "REPORT_SCHEMA",
    "Finding",
    "MachineReadiness",
    "ReadinessReport",
    "Severity",
    "Verdict",
]

REPORT_SCHEMA = "ec2asr.readiness-report/1"
"""The ``schema`` value written by :meth:`ReadinessReport.to_dict`."""


class Severity(str, enum.Enum):
    """How much a finding matters.

    ``BLOCKER`` makes the machine NOT_READY, ``WARNING`` makes it READY_WITH_WARNINGS, ``INFO``
    does not change the verdict.
    """

    BLOCKER = "BLOCKER"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """0 for BLOCKER, 1 for WARNING, 2 for INFO: sorts the worst first."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.BLOCKER: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Verdict(str, enum.Enum):
    """Whether ASR can move a machine as it stands."""

    READY = "READY"
    """No finding above INFO."""
    READY_WITH_WARNINGS = "READY_WITH_WARNINGS"
    """At least one WARNING and no BLOCKER: read the warnings before migrating."""
    NOT_READY = "NOT_READY"
    """At least one BLOCKER: ASR cannot (or must not) move this machine as it is."""

    @classmethod
    def from_findings(cls, findings: Sequence[Finding]) -> Verdict:
        """The verdict a set of findings leads to."""
        severities = {f.severity for f in findings}
        if Severity.BLOCKER in severities:
            return cls.NOT_READY
        if Severity.WARNING in severities:
            return cls.READY_WITH_WARNINGS
        return cls.READY


_VERDICT_LABEL = {
    Verdict.READY: "ready",
    Verdict.READY_WITH_WARNINGS: "ready with warnings",
    Verdict.NOT_READY: "not ready",
}


def _evidence_to_dict(evidence: Evidence) -> dict[str, str]:
    return {"source": evidence.source.value, "field": evidence.field, "detail": evidence.detail}


def _evidence_from_dict(data: Mapping[str, Any]) -> Evidence:
    return Evidence(
        source=EvidenceSource(data["source"]),
        detail=str(data["detail"]),
        field=str(data.get("field", "")),
    )


@attrs.frozen
class Finding:
    """One thing readiness found about one machine.

    Attributes:
        code: A stable identifier (``"ARCH_UNSUPPORTED"``); see ``docs/readiness.md`` for all.
        severity: BLOCKER, WARNING or INFO.
        message: What was found, for a human.
        evidence: The facts the finding rests on, each saying where it came from.
        remediation: What to do about it, or ``None`` when nothing needs doing.
    """

    code: str
    severity: Severity
    message: str
    evidence: tuple[Evidence, ...] = ()
    remediation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (see the report schema)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": [_evidence_to_dict(e) for e in self.evidence],
            "remediation": self.remediation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Read a finding written by :meth:`to_dict`."""
        return cls(
            code=str(data["code"]),
            severity=Severity(data["severity"]),
            message=str(data["message"]),
            evidence=tuple(_evidence_from_dict(e) for e in data.get("evidence", ())),
            remediation=data.get("remediation"),
        )


def _sorted_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    # Stable sort: worst first, rule order kept within a severity.
    return tuple(sorted(findings, key=lambda f: f.severity.rank))


@attrs.frozen
class MachineReadiness:
    """The readiness of one machine.

    Attributes:
        instance_id: The EC2 instance id.
        name: The ``Name`` tag, or None.
        os_label: A short human OS description (``"Windows Server 2019"``, ``"rhel 8.6"``).
        instance_type: The EC2 instance type (``"m5.large"``).
        verdict: READY, READY_WITH_WARNINGS or NOT_READY.
        findings: Every finding, worst first.
        machine: The assessed :class:`~ec2asr.SourceMachine` (None when read back from JSON).
    """

    instance_id: str
    name: str | None
    os_label: str
    instance_type: str
    verdict: Verdict
    findings: tuple[Finding, ...] = attrs.field(converter=_sorted_findings)
    machine: SourceMachine | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_findings(cls, machine: SourceMachine, findings: Sequence[Finding]) -> MachineReadiness:
        """Build the result for ``machine``, deriving the verdict from ``findings``."""
        return cls(
            instance_id=machine.instance_id,
            name=machine.name,
            os_label=os_label(machine),
            instance_type=machine.instance_type.name,
            verdict=Verdict.from_findings(findings),
            findings=tuple(findings),
            machine=machine,
        )

    @property
    def blockers(self) -> tuple[Finding, ...]:
        """The BLOCKER findings."""
        return tuple(f for f in self.findings if f.severity is Severity.BLOCKER)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The WARNING findings."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every finding code, worst first."""
        return tuple(f.code for f in self.findings)

    def top_reasons(self, limit: int = 3) -> tuple[str, ...]:
        """The codes of the most severe findings above INFO (at most ``limit``)."""
        return tuple(f.code for f in self.findings if f.severity is not Severity.INFO)[:limit]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (see the report schema)."""
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "os": self.os_label,
            "instance_type": self.instance_type,
            "verdict": self.verdict.value,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MachineReadiness:
        """Read a machine written by :meth:`to_dict` (``machine`` is then None)."""
        return cls(
            instance_id=str(data["instance_id"]),
            name=data.get("name"),
            os_label=str(data.get("os", "")),
            instance_type=str(data.get("instance_type", "")),
            verdict=Verdict(data["verdict"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
        )


def os_label(machine: SourceMachine) -> str:
    """A short, human OS label for tables: the OS name, else distribution and version."""
    info = machine.os
    if info.name:
        return info.name
    parts = [p for p in (info.distribution, info.version) if p]
    if parts:
        return " ".join(parts)
    return "unknown OS"


@attrs.frozen
class ReadinessReport:
    """Readiness of a set of machines.

    Attributes:
        machines: One result per machine, in input order.
        matrix_version: The support-matrix data version the rules used.
        live_os_list: True when ASR's live supported-OS list took part.
    """

    machines: tuple[MachineReadiness, ...]
    matrix_version: str = ""
    live_os_list: bool = False
    _index: dict[str, MachineReadiness] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, MachineReadiness] = {}
        for m in self.machines:
            if m.instance_id in index:
                raise InvalidInputError(f"instance {m.instance_id} appears twice in the report")
            index[m.instance_id] = m
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[MachineReadiness]:
        return iter(self.machines)

    def __len__(self) -> int:
        return len(self.machines)

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._index

    def __getitem__(self, instance_id: str) -> MachineReadiness:
        """The result for one instance id.

        Raises:
            KeyError: The id was not assessed.
        """
        try:
            return self._index[instance_id]
        except KeyError:
            raise KeyError(f"{instance_id!r} is not in this readiness report") from None

    def get(self, instance_id: str) -> MachineReadiness | None:
        """The result for one instance id, or None."""
        return self._index.get(instance_id)

    def _with(self, *verdicts: Verdict) -> tuple[MachineReadiness, ...]:
        return tuple(m for m in self.machines if m.verdict in verdicts)

    @property
    def ready(self) -> tuple[MachineReadiness, ...]:
        """Machines that can be migrated: READY and READY_WITH_WARNINGS."""
        return self._with(Verdict.READY, Verdict.READY_WITH_WARNINGS)

    @property
    def warnings(self) -> tuple[MachineReadiness, ...]:
        """Machines that are READY_WITH_WARNINGS (a subset of :attr:`ready`)."""
        return self._with(Verdict.READY_WITH_WARNINGS)

    @property
    def blocked(self) -> tuple[MachineReadiness, ...]:
        """Machines that are NOT_READY."""
        return self._with(Verdict.NOT_READY)

    @property
    def counts(self) -> Mapping[Verdict, int]:
        """How many machines got each verdict (every verdict present, zero when none)."""
        counts = dict.fromkeys(Verdict, 0)
        for m in self.machines:
            counts[m.verdict] += 1
        return types.MappingProxyType(counts)

    def summary(self) -> str:
        """One line: ``"12 machines: 7 ready, 2 ready with warnings, 3 not ready"``."""
        counts = self.counts
        noun = "machine" if len(self) == 1 else "machines"
        parts = ", ".join(f"{counts[v]} {_VERDICT_LABEL[v]}" for v in Verdict)
        return f"{len(self)} {noun}: {parts}"

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-serialisable data, schema ``ec2asr.readiness-report/1``.

        Keys: ``schema``, ``matrix_version``, ``live_os_list``, ``summary`` (``total`` and one count
        per verdict, lower-case), ``machines`` (each: ``instance_id``, ``name``, ``os``,
        ``instance_type``, ``verdict``, ``findings``; each finding: ``code``, ``severity``,
        ``message``, ``evidence`` [``source``, ``field``, ``detail``], ``remediation``).
        """
        counts = self.counts
        return {
            "schema": REPORT_SCHEMA,
            "matrix_version": self.matrix_version,
            "live_os_list": self.live_os_list,
            "summary": {"total": len(self), **{v.value.lower(): counts[v] for v in Verdict}},
            "machines": [m.to_dict() for m in self.machines],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (keys in a stable order)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReadinessReport:
        """Read a report written by :meth:`to_dict` (or parsed from :meth:`to_json`).

        Raises:
            InvalidInputError: The data is not a ``ec2asr.readiness-report/1`` document.
        """
        if data.get("schema") != REPORT_SCHEMA:
            raise InvalidInputError(
                f"not a readiness report: schema is {data.get('schema')!r}, "
                f"expected {REPORT_SCHEMA!r}"
            )
        try:
            machines = tuple(MachineReadiness.from_dict(m) for m in data["machines"])
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"malformed readiness report: {exc}") from exc
        return cls(
            machines=machines,
            matrix_version=str(data.get("matrix_version", "")),
            live_os_list=bool(data.get("live_os_list", False)),
        )

    def __str__(self) -> str:
        return _render.render_text(self)

    def table(self) -> str:
        """The readiness table alone, with the summary line (``str()`` adds every finding)."""
        return "\n".join([*_render.render_table(self), "", self.summary()])

    def _repr_html_(self) -> str:
        return _render.render_html(self)
