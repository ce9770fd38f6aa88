"""Kernel, Windows 2008 PV drivers, and UEFI / Secure Boot rules."""

from __future__ import annotations

import pytest

from ec2asr.assessment import Severity, Verdict
from ec2asr.models import Evidence, EvidenceSource, SsmStatus
from tests.assessment.helpers import only, run
from tests.factories import make_machine, make_os

UBUNTU_AMI = "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230112"

# -- kernel -----------------------------------------------------------------------------------


def test_aws_kernel_is_flagged_with_generic_kernel_instructions():
    result = run(make_machine(distribution="ubuntu", version="20.04", kernel="5.15.0-1019-aws"))
    finding = only(result, "NON_STOCK_KERNEL")
    assert finding.severity is Severity.WARNING
    assert "5.15.0-1019-aws" in finding.message
    assert "linux-generic" in finding.remediation
    assert "uname -r" in finding.remediation
    assert finding.evidence[0].source is EvidenceSource.SSM_INVENTORY
    assert result.verdict is Verdict.READY_WITH_WARNINGS


@pytest.mark.parametrize("kernel", ["5.15.0-76-generic", "5.15.0-1040-azure", "4.18.0-372.el8"])
def test_stock_kernels_pass(kernel):
    result = run(make_machine(distribution="ubuntu", version="20.04", kernel=kernel))
    assert not {"NON_STOCK_KERNEL", "KERNEL_PROBABLY_AWS", "KERNEL_UNKNOWN"} & set(result.codes)


def test_kernel_from_tag_when_discovery_has_none():
    machine = make_machine(
        distribution="debian",
        version="11",
        kernel=None,
        tags={"ec2asr:kernel": "5.10.0-aws-hint"},
    )
    finding = only(run(machine), "NON_STOCK_KERNEL")
    assert finding.evidence[0].source is EvidenceSource.TAG
    assert "ec2asr:kernel" in finding.evidence[0].detail
    assert "stock kernel" in finding.remediation


def test_debian_cloud_kernel_is_stock():
    machine = make_machine(distribution="debian", version="12", kernel="6.1.0-13-cloud-amd64")
    assert "NON_STOCK_KERNEL" not in run(machine).codes


def test_canonical_ami_with_unknown_kernel_is_probably_aws():
    machine = make_machine(
        distribution="ubuntu",
        version="20.04",
        kernel=None,
        ami_name=UBUNTU_AMI,
        ami_owner="099720109477",
    )
    finding = only(run(machine), "KERNEL_PROBABLY_AWS")
    assert finding.severity is Severity.WARNING
    sources = {e.source for e in finding.evidence}
    assert {EvidenceSource.AMI_NAME, EvidenceSource.EC2_API} <= sources


def test_unknown_kernel_elsewhere_is_info_only():
    result = run(make_machine(distribution="sles", version="15 SP4", kernel=None))
    assert only(result, "KERNEL_UNKNOWN").severity is Severity.INFO
    assert result.verdict is Verdict.READY


def test_windows_has_no_kernel_findings():
    result = run(make_machine(distribution="windows", version="2019"))
    assert not any("KERNEL" in c for c in result.codes)


# -- Windows 2008 PV drivers ------------------------------------------------------------------


def win2008(**kw):
    kw.setdefault("ami_name", "Windows_Server-2008-R2_SP1-English-64Bit-Base-2020.01.15")
    kw.setdefault("ami_description", "Microsoft Windows 2008 R2 SP1 Datacenter 64-bit")
    return make_machine(distribution="windows", version="2008 R2 SP1", **kw)


@pytest.mark.parametrize("value", ["redhat", "RedHat", "red hat", "rh"])
def test_redhat_pv_tag_blocks(value):
    result = run(win2008(tags={"ec2asr:pv-driver": value}))
    finding = only(result, "WIN2008_REDHAT_PV_DRIVERS")
    assert finding.severity is Severity.BLOCKER
    assert finding.evidence[0].source is EvidenceSource.TAG
    assert "Citrix" in finding.remediation
    assert result.verdict is Verdict.NOT_READY


def test_redhat_pv_from_ami_description_blocks():
    machine = win2008(ami_description="Windows 2008 R2 SP1 with RedHat PV drivers 1.3.10")
    finding = only(run(machine), "WIN2008_REDHAT_PV_DRIVERS")
    assert finding.evidence[0].source is EvidenceSource.AMI_DESCRIPTION
    assert "RedHat PV" in finding.evidence[0].detail


@pytest.mark.parametrize("value", ["citrix", "aws", "AWS PV"])
def test_citrix_or_aws_pv_is_fine(value):
    result = run(win2008(tags={"ec2asr:pv-driver": value}))
    assert only(result, "WIN2008_PV_DRIVERS_OK").severity is Severity.INFO
    assert result.verdict is Verdict.READY


def test_tag_beats_ami_text():
    machine = win2008(ami_description="RedHat PV drivers", tags={"ec2asr:pv-driver": "aws"})
    assert "WIN2008_REDHAT_PV_DRIVERS" not in run(machine).codes


def test_unknown_pv_driver_warns_and_says_how_to_check():
    finding = only(run(win2008()), "WIN2008_PV_DRIVERS_UNKNOWN")
    assert finding.severity is Severity.WARNING
    assert "Win32_PnPSignedDriver" in finding.remediation
    assert "ec2asr:pv-driver" in finding.remediation
    assert finding.evidence  # points at the AMI text that said nothing


def test_unrecognised_tag_value_is_reported():
    finding = only(run(win2008(tags={"ec2asr:pv-driver": "xen"})), "WIN2008_PV_DRIVERS_UNKNOWN")
    assert "'xen'" in finding.message


def test_pv_rule_ignores_newer_windows():
    result = run(make_machine(distribution="windows", version="2012 R2", ami_name="RedHat PV"))
    assert not any(c.startswith("WIN2008") for c in result.codes)


def test_pv_driver_evidence_recorded_by_discovery_is_used():
    os_info = make_os(
        "windows",
        "2008 R2 SP1",
        extra_evidence=(
            Evidence(EvidenceSource.SSM_INVENTORY, "driver 'RedHat PV NIC Driver'", "pv_driver"),
        ),
    )
    finding = only(run(win2008(os=os_info)), "WIN2008_REDHAT_PV_DRIVERS")
    assert finding.evidence[0].source is EvidenceSource.SSM_INVENTORY


# -- UEFI / Secure Boot -----------------------------------------------------------------------


def test_bios_boot_has_no_uefi_findings():
    result = run(make_machine(boot_mode="legacy-bios"))
    assert not {"SECURE_BOOT_ENABLED", "SECURE_BOOT_UNKNOWN", "UEFI_GENERATION_2"} & set(
        result.codes
    )


@pytest.mark.parametrize("value", ["on", "true", "Enabled"])
def test_secure_boot_on_blocks(value):
    result = run(make_machine(boot_mode="uefi", tags={"ec2asr:secure-boot": value}))
    finding = only(result, "SECURE_BOOT_ENABLED")
    assert finding.severity is Severity.BLOCKER
    assert {EvidenceSource.EC2_API, EvidenceSource.TAG} <= {e.source for e in finding.evidence}
    assert result.verdict is Verdict.NOT_READY


@pytest.mark.parametrize("value", ["off", "false", "disabled"])
def test_secure_boot_off_is_generation_2(value):
    result = run(make_machine(boot_mode="uefi", tags={"ec2asr:secure-boot": value}))
    assert only(result, "UEFI_GENERATION_2").severity is Severity.INFO
    assert result.verdict is Verdict.READY


@pytest.mark.parametrize("mode", ["uefi", "uefi-preferred"])
def test_secure_boot_unknown_warns_with_commands(mode):
    finding = only(run(make_machine(boot_mode=mode)), "SECURE_BOOT_UNKNOWN")
    assert finding.severity is Severity.WARNING
    assert "mokutil --sb-state" in finding.remediation
    assert "Confirm-SecureBootUEFI" in finding.remediation


def test_secure_boot_from_discovery_field():
    machine = make_machine(boot_mode="uefi", secure_boot=True, ssm=SsmStatus(True, managed=True))
    finding = only(run(machine), "SECURE_BOOT_ENABLED")
    assert any(e.source is EvidenceSource.SSM_INVENTORY for e in finding.evidence)


def test_tag_overrides_discovery_secure_boot():
    machine = make_machine(boot_mode="uefi", secure_boot=True, tags={"ec2asr:secure-boot": "off"})
    assert "SECURE_BOOT_ENABLED" not in run(machine).codes


def test_secure_boot_on_implies_uefi_even_without_boot_mode():
    machine = make_machine(boot_mode=None, tags={"ec2asr:secure-boot": "on"})
    assert "SECURE_BOOT_ENABLED" in run(machine).codes


def test_windows_2008_r2_with_uefi_is_blocked():
    result = run(
        win2008(boot_mode="uefi", tags={"ec2asr:pv-driver": "aws", "ec2asr:secure-boot": "off"})
    )
    assert only(result, "UEFI_UNSUPPORTED_OS").severity is Severity.BLOCKER
