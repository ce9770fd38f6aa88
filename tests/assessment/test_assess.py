"""assess(): input validation, rule registry, evidence carried through, purity."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pytest

from ec2asr.assessment import Rule, Severity, Verdict, assess, load_support_matrix, rule_codes
from ec2asr.errors import InvalidInputError
from ec2asr.models import EvidenceSource
from tests.factories import make_machine, with_instance_store

DOCS = Path(__file__).resolve().parents[2] / "docs" / "readiness.md"


def test_machines_must_be_source_machines():
    with pytest.raises(InvalidInputError, match=r"#1 \(dict\)"):
        assess([make_machine(), {"instance_id": "i-1"}])


def test_a_single_machine_is_refused_with_a_hint():
    with pytest.raises(InvalidInputError, match="not a single one"):
        assess(make_machine())


@pytest.mark.parametrize("bad", ["i-123", 42, None])
def test_non_iterables_are_refused(bad):
    with pytest.raises(InvalidInputError):
        assess(bad)


def test_duplicate_machines_are_refused():
    m = make_machine()
    with pytest.raises(InvalidInputError, match=m.instance_id):
        assess([m, m])


def test_generators_are_accepted():
    machines = [make_machine(), make_machine()]
    assert len(assess(m for m in machines)) == 2


def test_unknown_acknowledged_ids_are_named():
    m = make_machine()
    with pytest.raises(InvalidInputError, match="i-ghost1, i-ghost2"):
        assess([m], acknowledge_instance_store=[m.instance_id, "i-ghost2", "i-ghost1"])


def test_acknowledgement_must_not_be_a_bare_string():
    m = make_machine(instance_store=with_instance_store(10))
    with pytest.raises(InvalidInputError, match="single string"):
        assess([m], acknowledge_instance_store=m.instance_id)


def test_unknown_churn_ids_are_named():
    m = make_machine()
    with pytest.raises(InvalidInputError, match="i-ghost"):
        assess([m], churn={"i-ghost": 5})


@pytest.mark.parametrize("value", [-1, math.nan, math.inf, "fast", True])
def test_churn_values_must_be_finite_non_negative_numbers(value):
    m = make_machine()
    with pytest.raises(InvalidInputError, match="churn values"):
        assess([m], churn={m.instance_id: value})


def test_churn_must_be_a_mapping():
    m = make_machine()
    with pytest.raises(InvalidInputError, match="mapping"):
        assess([m], churn=[(m.instance_id, 5)])


def test_matrix_must_be_a_support_matrix():
    with pytest.raises(InvalidInputError, match="SupportMatrix"):
        assess([make_machine()], matrix={"schema": "ec2asr.support-matrix/1"})


def test_validation_happens_before_any_rule_runs(monkeypatch):
    calls = []

    def spy(machine, context):
        calls.append(machine.instance_id)
        return ()

    monkeypatch.setattr("ec2asr.assessment.engine.RULES", (Rule("spy", (), spy),))
    with pytest.raises(InvalidInputError):
        assess([make_machine()], churn={"i-ghost": 1})
    assert calls == []
    assess([make_machine(instance_id="i-spied")])
    assert calls == ["i-spied"]


def test_report_records_matrix_version_and_live_list():
    from ec2asr.assessment import SupportedOs

    m = make_machine()
    assert assess([m]).matrix_version == load_support_matrix().version
    live = assess([m], supported_os=[SupportedOs("linux", "RHEL", ("8.6",))])
    assert live.live_os_list is True


def test_same_input_same_report():
    machines = [make_machine(state="stopped"), make_machine(architecture="arm64")]
    assert assess(machines).to_dict() == assess(machines).to_dict()


def test_summary_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="ec2asr"):
        assess([make_machine()])
    assert "1 machine: 1 ready" in caplog.text


def test_every_finding_carries_evidence_with_a_source():
    machines = [
        make_machine(architecture="arm64", instance_type="m6g.large", state="stopped"),
        make_machine(distribution="amazon", version="2", virtualization_type="paravirtual"),
        make_machine(
            distribution="windows",
            version="2008 R2 SP1",
            boot_mode="uefi",
            ami_name="Windows_Server-2008-R2_SP1-RedHatPV",
        ),
        make_machine(distribution="ubuntu", version="20.04", kernel="5.15.0-1019-aws"),
        make_machine(distribution=None, version=None, instance_type="m5d.large"),
        make_machine(root_gib=5000, data_gib=[1] + [10] * 64 + [40000]),
    ]
    report = assess(machines, churn={machines[0].instance_id: 100})
    emitted = {f.code for m in report for f in m.findings}
    assert len(emitted) >= 15
    for result in report:
        for f in result.findings:
            assert f.evidence, f.code
            assert all(isinstance(e.source, EvidenceSource) and e.detail for e in f.evidence)
            if f.severity is not Severity.INFO:
                assert f.remediation, f.code
    assert {m.verdict for m in report} == {Verdict.NOT_READY, Verdict.READY_WITH_WARNINGS}


def test_codes_are_unique_upper_snake_case():
    codes = rule_codes()
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", c) for c in codes)


def test_every_emitted_code_is_registered():
    registered = set(rule_codes())
    machines = [
        make_machine(architecture=""),
        make_machine(virtualization_type=""),
        make_machine(state="terminated"),
        make_machine(boot_mode="uefi", tags={"ec2asr:secure-boot": "on"}),
        make_machine(boot_mode="uefi", tags={"ec2asr:secure-boot": "off"}),
        make_machine(distribution="sles", version="15", kernel=None),
    ]
    for result in assess(machines):
        assert set(result.codes) <= registered


def test_docs_describe_every_code():
    text = DOCS.read_text(encoding="utf-8")
    missing = [code for code in rule_codes() if f"`{code}`" not in text]
    assert missing == []
