"""ReadinessReport: verdict aggregation, lookup, JSON, text and HTML renderings."""

from __future__ import annotations

import json

import pytest

from ec2asr.assessment import (
    Finding,
    MachineReadiness,
    ReadinessReport,
    Severity,
    Verdict,
    assess,
)
from ec2asr.errors import InvalidInputError
from ec2asr.models import Evidence, EvidenceSource
from tests.factories import make_machine


def finding(severity, code="X"):
    return Finding(code=code, severity=severity, message=f"{code} message")


# -- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severities", "verdict"),
    [
        ((), Verdict.READY),
        ((Severity.INFO,), Verdict.READY),
        ((Severity.INFO, Severity.WARNING), Verdict.READY_WITH_WARNINGS),
        ((Severity.WARNING, Severity.BLOCKER, Severity.INFO), Verdict.NOT_READY),
        ((Severity.BLOCKER,), Verdict.NOT_READY),
    ],
)
def test_verdict_from_findings(severities, verdict):
    assert Verdict.from_findings([finding(s) for s in severities]) is verdict


def test_findings_are_sorted_worst_first_keeping_rule_order():
    result = MachineReadiness.from_findings(
        make_machine(),
        [
            finding(Severity.INFO, "A"),
            finding(Severity.WARNING, "B"),
            finding(Severity.BLOCKER, "C"),
            finding(Severity.WARNING, "D"),
        ],
    )
    assert result.codes == ("C", "B", "D", "A")
    assert result.top_reasons() == ("C", "B", "D")
    assert [f.code for f in result.blockers] == ["C"]
    assert [f.code for f in result.warnings] == ["B", "D"]


# -- a mixed fleet --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet():
    return [
        make_machine(name="web-1"),  # READY
        make_machine(name="db-1", state="stopped"),  # READY_WITH_WARNINGS
        make_machine(name="arm-1", architecture="arm64", instance_type="m6g.large"),  # NOT_READY
        make_machine(name="web-2"),  # READY
        make_machine(name="al2", distribution="amazon", version="2"),  # NOT_READY
    ]


@pytest.fixture(scope="module")
def report(fleet):
    return assess(fleet)


def test_iteration_keeps_input_order(report, fleet):
    assert [m.instance_id for m in report] == [m.instance_id for m in fleet]
    assert len(report) == 5


def test_lookup_by_instance_id(report, fleet):
    assert report[fleet[2].instance_id].verdict is Verdict.NOT_READY
    assert fleet[0].instance_id in report
    assert report.get("i-nope") is None
    assert "i-nope" not in report
    with pytest.raises(KeyError, match="i-nope"):
        report["i-nope"]


def test_machine_results_keep_the_machine(report, fleet):
    assert report[fleet[0].instance_id].machine is fleet[0]


def test_filters_and_counts(report, fleet):
    assert [m.name for m in report.ready] == ["web-1", "db-1", "web-2"]
    assert [m.name for m in report.warnings] == ["db-1"]
    assert [m.name for m in report.blocked] == ["arm-1", "al2"]
    assert dict(report.counts) == {
        Verdict.READY: 2,
        Verdict.READY_WITH_WARNINGS: 1,
        Verdict.NOT_READY: 2,
    }


def test_summary_line(report):
    assert report.summary() == "5 machines: 2 ready, 1 ready with warnings, 2 not ready"


def test_summary_of_one_machine():
    assert (
        assess([make_machine()]).summary()
        == "1 machine: 1 ready, 0 ready with warnings, 0 not ready"
    )


def test_empty_report():
    empty = assess([])
    assert len(empty) == 0
    assert empty.summary() == "0 machines: 0 ready, 0 ready with warnings, 0 not ready"
    assert "0 machines" in str(empty)


# -- JSON -----------------------------------------------------------------------------------------


def test_to_dict_schema(report, fleet):
    data = report.to_dict()
    assert data["schema"] == "ec2asr.readiness-report/1"
    assert data["matrix_version"] == report.matrix_version != ""
    assert data["live_os_list"] is False
    assert data["summary"] == {"total": 5, "ready": 2, "ready_with_warnings": 1, "not_ready": 2}
    arm = data["machines"][2]
    assert arm["instance_id"] == fleet[2].instance_id
    assert arm["verdict"] == "NOT_READY"
    assert arm["instance_type"] == "m6g.large"
    first = arm["findings"][0]
    assert set(first) == {"code", "severity", "message", "evidence", "remediation"}
    assert first["code"] == "ARCH_UNSUPPORTED"
    assert first["evidence"][0] == {
        "source": "ec2-api",
        "field": "architecture",
        "detail": "architecture 'arm64'",
    }


def test_json_round_trip(report):
    text = report.to_json()
    assert json.loads(text) == report.to_dict()
    back = ReadinessReport.from_dict(json.loads(text))
    assert back.to_dict() == report.to_dict()
    assert back.machines == report.machines  # equality ignores the SourceMachine
    assert back.machines[0].machine is None


def test_from_dict_refuses_other_documents():
    with pytest.raises(InvalidInputError, match="schema"):
        ReadinessReport.from_dict({"schema": "nope"})
    with pytest.raises(InvalidInputError, match="malformed"):
        ReadinessReport.from_dict({"schema": "ec2asr.readiness-report/1", "machines": [{}]})


def test_duplicate_ids_cannot_make_a_report(report):
    with pytest.raises(InvalidInputError, match="twice"):
        ReadinessReport(machines=(report.machines[0], report.machines[0]))


# -- renderings -----------------------------------------------------------------------------------


def test_text_table_has_fixed_columns_and_findings(report, fleet):
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["INSTANCE", "NAME", "OS", "VERDICT", "TOP", "REASONS"]
    rows = lines[2:7]
    verdict_col = lines[0].index("VERDICT")
    assert [row[verdict_col:].split()[0] for row in rows] == [
        "READY",
        "READY_WITH_WARNINGS",
        "NOT_READY",
        "READY",
        "NOT_READY",
    ]
    assert all(row.startswith(m.instance_id) for row, m in zip(rows, fleet, strict=True))
    assert "ARCH_UNSUPPORTED" in rows[2]
    assert f"arm-1 ({fleet[2].instance_id}): NOT_READY" in text
    assert "  [BLOCKER] ARCH_UNSUPPORTED:" in text
    assert "      evidence: ec2-api: architecture 'arm64'" in text
    assert "      fix: Redeploy" in text
    assert lines[-1] == report.summary()


def test_long_names_are_clipped_to_the_column():
    machine = make_machine(name="a-very-long-machine-name-that-will-not-fit")
    header, _, row = str(assess([machine])).splitlines()[:3]
    assert "a-very-long-machine…" in row
    assert row[header.index("OS") :].startswith("Red Hat Enterprise Linux")
    assert row[header.index("VERDICT") :].startswith("READY")


def test_html_escapes_everything():
    evil = make_machine(name="<script>alert('x')</script>")
    html = assess([evil])._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert html.startswith('<div class="ec2asr-report"><style>')  # notebook-safe styles
    assert '<table class="ec2asr-readiness">' in html
    assert '<td class="iid">' in html  # the instance id never wraps
    assert "<caption>1 machine: 1 ready" in html


def test_html_lists_findings_per_row(report):
    html = report._repr_html_()
    assert html.count("<tr data-verdict=") == 5
    assert '<tr data-verdict="NOT_READY">' in html
    assert "<code>AMAZON_LINUX_UNSUPPORTED</code>" in html


def test_finding_round_trip_keeps_evidence():
    f = Finding(
        code="X",
        severity=Severity.WARNING,
        message="m",
        evidence=(Evidence(EvidenceSource.TAG, "tag a=b", "os"),),
        remediation=None,
    )
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f


def test_report_read_back_from_json_pickles(report):
    import pickle

    back = ReadinessReport.from_dict(report.to_dict())
    assert pickle.loads(pickle.dumps(back)).to_dict() == report.to_dict()
