"""Architecture, virtualization, instance state, instance store and churn rules."""

from __future__ import annotations

import pytest

from ec2asr.assessment import Severity, Verdict
from ec2asr.models import EvidenceSource
from tests.assessment.helpers import only, run
from tests.factories import make_machine, with_instance_store

# -- architecture -------------------------------------------------------------------------------


def test_x86_64_is_accepted():
    result = run(make_machine(architecture="x86_64"))
    assert not {"ARCH_UNSUPPORTED", "ARCH_UNKNOWN"} & set(result.codes)
    assert result.verdict is Verdict.READY


@pytest.mark.parametrize(
    ("arch", "itype", "words"),
    [
        ("arm64", "m6g.large", "Graviton"),
        ("i386", "m1.small", "32-bit"),
        ("x86_64_mac", "m5.large", "Mac"),
    ],
)
def test_non_x86_64_is_blocked(arch, itype, words):
    result = run(make_machine(architecture=arch, instance_type=itype))
    finding = only(result, "ARCH_UNSUPPORTED")
    assert finding.severity is Severity.BLOCKER
    assert words in finding.message
    assert result.verdict is Verdict.NOT_READY
    assert any(e.source is EvidenceSource.EC2_API and arch in e.detail for e in finding.evidence)


def test_graviton_evidence_names_the_instance_type():
    finding = only(
        run(make_machine(architecture="arm64", instance_type="m6g.large")), "ARCH_UNSUPPORTED"
    )
    assert any("m6g.large" in e.detail for e in finding.evidence)


def test_missing_architecture_is_a_warning():
    result = run(make_machine(architecture=""))
    assert only(result, "ARCH_UNKNOWN").severity is Severity.WARNING
    assert result.verdict is Verdict.READY_WITH_WARNINGS


# -- virtualization ----------------------------------------------------------------------------


def test_hvm_is_accepted():
    assert "VIRTUALIZATION_PARAVIRTUAL" not in run(make_machine()).codes


def test_paravirtual_is_blocked():
    result = run(make_machine(virtualization_type="paravirtual"))
    finding = only(result, "VIRTUALIZATION_PARAVIRTUAL")
    assert finding.severity is Severity.BLOCKER
    assert "HVM" in finding.remediation
    assert finding.evidence[0].detail == "virtualization type 'paravirtual'"


def test_unknown_virtualization_is_a_warning():
    assert only(run(make_machine(virtualization_type="")), "VIRTUALIZATION_UNKNOWN").severity is (
        Severity.WARNING
    )


# -- state ---------------------------------------------------------------------------------------


def test_running_instance_has_no_state_finding():
    assert not any(c.startswith("INSTANCE_") for c in run(make_machine()).codes)


@pytest.mark.parametrize("state", ["stopped", "stopping", "pending"])
def test_not_running_is_a_warning_with_start_command(state):
    machine = make_machine(state=state)
    result = run(machine)
    finding = only(result, "INSTANCE_NOT_RUNNING")
    assert finding.severity is Severity.WARNING
    assert state in finding.message
    assert f"start-instances --instance-ids {machine.instance_id}" in finding.remediation
    assert result.verdict is Verdict.READY_WITH_WARNINGS


@pytest.mark.parametrize("state", ["terminated", "shutting-down"])
def test_terminated_is_blocked(state):
    assert only(run(make_machine(state=state)), "INSTANCE_TERMINATED").severity is Severity.BLOCKER


# -- instance store ------------------------------------------------------------------------------


def test_no_instance_store_no_finding():
    codes = run(make_machine()).codes
    assert "INSTANCE_STORE_DATA" not in codes
    assert "INSTANCE_STORE_ACKNOWLEDGED" not in codes


def test_mapped_instance_store_blocks_and_names_the_acknowledgement():
    machine = make_machine(instance_store=with_instance_store(300, 300))
    finding = only(run(machine), "INSTANCE_STORE_DATA")
    assert finding.severity is Severity.BLOCKER
    assert "600 GB" in finding.message
    assert "NOT be copied" in finding.message
    assert f"acknowledge_instance_store=['{machine.instance_id}']" in finding.remediation
    assert "/dev/sdb" in finding.evidence[0].detail


def test_instance_store_from_the_instance_type_counts_too():
    # m5d.large carries a 75 GB NVMe disk even when no block-device mapping names it.
    finding = only(run(make_machine(instance_type="m5d.large")), "INSTANCE_STORE_DATA")
    assert "75 GB" in finding.message
    assert "m5d.large" in finding.evidence[0].detail


def test_acknowledged_instance_store_stays_visible_as_warning():
    machine = make_machine(instance_store=with_instance_store(1900))
    result = run(machine, acknowledge_instance_store=[machine.instance_id])
    assert "INSTANCE_STORE_DATA" not in result.codes
    finding = only(result, "INSTANCE_STORE_ACKNOWLEDGED")
    assert finding.severity is Severity.WARNING
    assert result.verdict is Verdict.READY_WITH_WARNINGS
    assert any(e.source is EvidenceSource.OVERRIDE for e in finding.evidence)


def test_acknowledgement_is_per_machine():
    from ec2asr.assessment import assess

    a = make_machine(instance_store=with_instance_store(100))
    b = make_machine(instance_store=with_instance_store(100))
    report = assess([a, b], acknowledge_instance_store=[a.instance_id])
    assert report[a.instance_id].verdict is Verdict.READY_WITH_WARNINGS
    assert report[b.instance_id].verdict is Verdict.NOT_READY


# -- churn ---------------------------------------------------------------------------------------


def test_no_churn_figure_no_finding():
    assert not any(c.startswith("CHURN") for c in run(make_machine()).codes)


def test_churn_at_the_vm_limit_is_fine():
    machine = make_machine(data_gib=[100, 100])  # 3 disks: 18 MB/s each
    assert not any(
        c.startswith("CHURN") for c in run(machine, churn={machine.instance_id: 54}).codes
    )


def test_churn_over_the_vm_limit_warns_with_evidence():
    machine = make_machine(data_gib=[100, 100])
    result = run(machine, churn={machine.instance_id: 54.5})
    finding = only(result, "CHURN_ABOVE_VM_LIMIT")
    assert finding.severity is Severity.WARNING
    assert "54.5 MB/s" in finding.message
    assert "54 MB/s" in finding.message
    assert finding.evidence[0].source is EvidenceSource.OVERRIDE
    assert result.verdict is Verdict.READY_WITH_WARNINGS


def test_churn_concentrated_on_one_disk_warns():
    machine = make_machine(data_gib=[])  # only the root volume
    finding = only(run(machine, churn={machine.instance_id: 25}), "CHURN_ABOVE_DISK_LIMIT")
    assert "20 MB/s" in finding.message


def test_churn_spread_over_disks_is_fine():
    machine = make_machine(data_gib=[100])  # 2 disks: 12.5 MB/s each
    assert not any(
        c.startswith("CHURN") for c in run(machine, churn={machine.instance_id: 25}).codes
    )
