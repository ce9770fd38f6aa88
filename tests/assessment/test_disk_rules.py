"""Disk rules, with the boundary values of each limit."""

from __future__ import annotations

import attrs
import pytest

from ec2asr.assessment import Severity, Verdict, load_support_matrix
from tests.assessment.helpers import only, run
from tests.factories import make_machine, make_volume, with_instance_store

TWO_TB = 2048
DISK_CODES = {
    "OS_DISK_MISSING",
    "OS_DISK_TOO_LARGE",
    "OS_DISK_BOOT_MODE_UNCERTAIN",
    "TOO_MANY_DATA_DISKS",
    "DISK_TOO_SMALL",
    "DISK_AT_MINIMUM_SIZE",
    "DISK_TOO_LARGE",
}


def disk_codes(machine, **kw):
    return DISK_CODES & set(run(machine, **kw).codes)


# -- OS disk ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy-bios", "uefi", None, "uefi-preferred"])
def test_os_disk_of_exactly_2_tb_is_fine_in_any_boot_mode(mode):
    assert not disk_codes(make_machine(root_gib=TWO_TB, boot_mode=mode))


def test_os_disk_2_tb_plus_1_gib_is_blocked_on_bios():
    result = run(make_machine(root_gib=TWO_TB + 1, boot_mode="legacy-bios"))
    finding = only(result, "OS_DISK_TOO_LARGE")
    assert finding.severity is Severity.BLOCKER
    assert "2049 GiB" in finding.message
    assert "2048 GiB" in finding.message
    assert any("root volume" in e.detail for e in finding.evidence)
    assert result.verdict is Verdict.NOT_READY


def test_os_disk_2_tb_plus_1_gib_is_fine_on_uefi():
    machine = make_machine(
        root_gib=TWO_TB + 1, boot_mode="uefi", tags={"ec2asr:secure-boot": "off"}
    )
    assert not disk_codes(machine)


@pytest.mark.parametrize("mode", [None, "uefi-preferred"])
def test_os_disk_between_limits_with_uncertain_boot_mode_warns(mode):
    finding = only(run(make_machine(root_gib=3000, boot_mode=mode)), "OS_DISK_BOOT_MODE_UNCERTAIN")
    assert finding.severity is Severity.WARNING
    assert "CurrentInstanceBootMode" in finding.remediation


@pytest.mark.parametrize(("size", "blocked"), [(4095, False), (4096, True)])
def test_uefi_os_disk_limit_is_4095_gib(size, blocked):
    machine = make_machine(root_gib=size, boot_mode="uefi", tags={"ec2asr:secure-boot": "off"})
    assert ("OS_DISK_TOO_LARGE" in run(machine).codes) is blocked


def test_machine_without_ebs_root_is_blocked():
    machine = make_machine(volumes=(make_volume(100),))
    finding = only(run(machine), "OS_DISK_MISSING")
    assert finding.severity is Severity.BLOCKER
    assert "no EBS root volume was found" in finding.message


def test_instance_store_root_is_named():
    machine = make_machine(volumes=(), instance_store=with_instance_store(400))
    finding = only(run(machine), "OS_DISK_MISSING")
    assert "instance-store" in finding.message


# -- data disk count --------------------------------------------------------------------------


def test_64_data_disks_are_fine():
    assert "TOO_MANY_DATA_DISKS" not in run(make_machine(data_gib=[10] * 64)).codes


def test_65_data_disks_are_blocked():
    finding = only(run(make_machine(data_gib=[10] * 65)), "TOO_MANY_DATA_DISKS")
    assert finding.severity is Severity.BLOCKER
    assert "65 data disks" in finding.message
    assert "65 EBS data volumes" in finding.evidence[0].detail


def test_root_volume_does_not_count_as_a_data_disk():
    machine = make_machine(data_gib=[10] * 64)
    assert len(machine.volumes) == 65
    assert "TOO_MANY_DATA_DISKS" not in run(machine).codes


# -- per-disk size ---------------------------------------------------------------------------


def test_1_gib_disk_is_a_warning_citing_both_statements():
    result = run(make_machine(data_gib=[1]))
    finding = only(result, "DISK_AT_MINIMUM_SIZE")
    assert finding.severity is Severity.WARNING
    assert "1,024 MB" in finding.message
    assert "modify-volume" in finding.remediation
    assert result.verdict is Verdict.READY_WITH_WARNINGS


def test_2_gib_disk_is_fine():
    assert not disk_codes(make_machine(data_gib=[2]))


def test_disk_below_minimum_is_blocked():
    assert only(run(make_machine(data_gib=[0])), "DISK_TOO_SMALL").severity is Severity.BLOCKER


@pytest.mark.parametrize(("size", "blocked"), [(32767, False), (32768, True)])
def test_data_disk_upper_limit(size, blocked):
    assert ("DISK_TOO_LARGE" in run(make_machine(data_gib=[size])).codes) is blocked


def test_every_oversized_disk_is_reported():
    result = run(make_machine(data_gib=[40000, 100, 50000]))
    assert result.codes.count("DISK_TOO_LARGE") == 2


def test_limits_come_from_the_matrix():
    matrix = load_support_matrix()
    strict = attrs.evolve(matrix, limits=attrs.evolve(matrix.limits, data_disk_max_count=2))
    assert "TOO_MANY_DATA_DISKS" in run(make_machine(data_gib=[5, 5, 5]), matrix=strict).codes
    assert "TOO_MANY_DATA_DISKS" not in run(make_machine(data_gib=[5, 5, 5])).codes
