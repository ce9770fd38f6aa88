"""Operating-system support: Amazon Linux, the packaged matrix, ASR's live list."""

from __future__ import annotations

import pytest

from ec2asr.assessment import Severity, SupportedOs, Verdict, assess
from ec2asr.errors import InvalidInputError
from ec2asr.models import EvidenceSource, OsFamily
from tests.assessment.helpers import only, run
from tests.factories import make_machine

OS_CODES = {
    "OS_UNKNOWN",
    "OS_VERSION_UNCONFIRMED",
    "OS_VERSION_UNSUPPORTED",
    "OS_NOT_IN_LIVE_LIST",
    "OS_ONLY_IN_LIVE_LIST",
}

# -- Amazon Linux ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "2023", None])
def test_amazon_linux_is_blocked_with_rebuild_advice(version):
    result = run(make_machine(distribution="amazon", version=version))
    finding = only(result, "AMAZON_LINUX_UNSUPPORTED")
    assert finding.severity is Severity.BLOCKER
    assert "Rebuild" in finding.remediation
    assert result.verdict is Verdict.NOT_READY
    # the generic OS rule stays silent: one clear reason, not three
    assert not OS_CODES & set(result.codes)
    assert finding.evidence[0].source is EvidenceSource.AMI_NAME


def test_amazon_linux_kernel_is_not_flagged_separately():
    result = run(make_machine(distribution="amazon", version="2", kernel="4.14.311-233.amzn2"))
    assert "NON_STOCK_KERNEL" not in result.codes


# -- packaged matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "version"),
    [
        ("windows", "2008 R2 SP1"),
        ("windows", "2012"),
        ("windows", "2012 R2"),
        ("windows", "2016"),
        ("windows", "2019"),
        ("windows", "2022"),
        ("rhel", "6.7"),
        ("rhel", "7.9"),
        ("rhel", "8.6"),
        ("rhel", "9.2"),
        ("oracle", "8.6"),
        ("ubuntu", "14.04"),
        ("ubuntu", "22.04"),
        ("ubuntu", "20.04.6"),
        ("debian", "7"),
        ("debian", "11"),
        ("debian", "11.7"),
        ("sles", "11 SP3"),
        ("sles", "11 SP4"),
        ("sles", "12 SP5"),
        ("sles", "15"),
        ("sles", "15 SP4"),
        ("sles", "15-sp4"),
    ],
)
def test_supported_versions_pass(distribution, version):
    kernel = "5.15.0-76-generic" if distribution == "ubuntu" else "stock"
    result = run(make_machine(distribution=distribution, version=version, kernel=kernel))
    assert not OS_CODES & set(result.codes), result.codes


@pytest.mark.parametrize(
    ("distribution", "version"),
    [
        ("windows", "2003 R2"),
        ("rhel", "5.1"),
        ("rhel", "9.6"),
        ("ubuntu", "12.04"),
        ("ubuntu", "23.10"),
        ("debian", "6"),
        ("debian", "9.0"),
        ("sles", "11 SP2"),
        ("oracle", "6.3"),
    ],
)
def test_unsupported_versions_are_blocked(distribution, version):
    result = run(make_machine(distribution=distribution, version=version, kernel="stock"))
    finding = only(result, "OS_VERSION_UNSUPPORTED")
    assert finding.severity is Severity.BLOCKER
    assert result.verdict is Verdict.NOT_READY
    assert f"supported {distribution} versions" in finding.message
    assert any(e.field == "version" for e in finding.evidence)


def test_unsupported_message_summarises_the_supported_range():
    finding = only(run(make_machine(distribution="rhel", version="5.1")), "OS_VERSION_UNSUPPORTED")
    assert "6.1-6.10" in finding.message
    assert "8.0-8.10" in finding.message


@pytest.mark.parametrize(
    ("distribution", "version"),
    [("windows", "2008 R2"), ("rhel", "8"), ("sles", "12"), ("debian", "9"), ("rhel", None)],
)
def test_imprecise_versions_are_warnings(distribution, version):
    result = run(make_machine(distribution=distribution, version=version, kernel="stock"))
    finding = only(result, "OS_VERSION_UNCONFIRMED")
    assert finding.severity is Severity.WARNING
    assert "/etc/os-release" in finding.remediation
    assert "OS_VERSION_UNSUPPORTED" not in result.codes


def test_windows_2008_r2_without_sp1_names_sp1():
    finding = only(
        run(make_machine(distribution="windows", version="2008 R2")), "OS_VERSION_UNCONFIRMED"
    )
    assert "2008 R2 SP1" in finding.message


@pytest.mark.parametrize("family", [OsFamily.UNKNOWN, OsFamily.LINUX])
def test_unknown_os_asks_for_the_tag(family):
    result = run(make_machine(distribution=None, version=None, family=family))
    finding = only(result, "OS_UNKNOWN")
    assert finding.severity is Severity.WARNING
    assert "ec2asr:os" in finding.remediation
    assert result.verdict is Verdict.READY_WITH_WARNINGS


def test_centos_is_supported_with_an_end_of_life_warning():
    result = run(make_machine(distribution="centos", version="7.9", kernel="stock"))
    note = only(result, "OS_SUPPORT_NOTE")
    assert note.severity is Severity.WARNING
    assert "end-of-life" in note.message
    assert "OS_VERSION_UNSUPPORTED" not in result.codes


def test_windows_2008_r2_gets_the_sha2_note_as_info():
    result = run(
        make_machine(
            distribution="windows",
            version="2008 R2 SP1",
            tags={"ec2asr:pv-driver": "aws"},
        )
    )
    note = only(result, "OS_SUPPORT_NOTE")
    assert note.severity is Severity.INFO
    assert "SHA-2" in note.message
    assert result.verdict is Verdict.READY


# -- ASR's live list ----------------------------------------------------------------------------

LIVE = (
    SupportedOs("windows", "Windows Server 2008 R2 Datacenter", ("6.1 SP1",)),
    SupportedOs("windows", "Windows Server 2019 Datacenter", ("10.0",)),
    SupportedOs("linux", "RHEL", ("8.6", "8.8")),
    SupportedOs("linux", "Ubuntu", ("20.04",)),
    SupportedOs("linux", "centos", ("6.0",)),
    SupportedOs("linux", "Debian", ("12",)),
)


def test_os_in_matrix_and_live_list_passes():
    result = run(make_machine(distribution="rhel", version="8.6"), supported_os=LIVE)
    assert not OS_CODES & set(result.codes)


def test_os_in_matrix_but_missing_from_live_list_is_blocked():
    result = run(make_machine(distribution="rhel", version="8.4"), supported_os=LIVE)
    finding = only(result, "OS_NOT_IN_LIVE_LIST")
    assert finding.severity is Severity.BLOCKER
    assert any("replicationSupportedOperatingSystems" in e.detail for e in finding.evidence)
    assert result.verdict is Verdict.NOT_READY


def test_live_list_is_not_consulted_without_it():
    result = run(make_machine(distribution="rhel", version="8.4"))
    assert "OS_NOT_IN_LIVE_LIST" not in result.codes


def test_live_major_dot_zero_entry_covers_the_major_line():
    result = run(make_machine(distribution="centos", version="6.7"), supported_os=LIVE)
    assert "OS_NOT_IN_LIVE_LIST" not in result.codes


@pytest.mark.parametrize(("version", "listed"), [("2008 R2 SP1", True), ("2012 R2", False)])
def test_windows_live_entries_match_by_release(version, listed):
    result = run(
        make_machine(distribution="windows", version=version, tags={"ec2asr:pv-driver": "aws"}),
        supported_os=LIVE,
    )
    assert ("OS_NOT_IN_LIVE_LIST" not in result.codes) is listed


def test_live_list_can_vouch_for_a_version_the_data_file_lacks():
    # Debian 13 is not in the packaged matrix; if ASR lists it live, the data file is stale.
    live = (*LIVE, SupportedOs("linux", "Debian", ("13",)))
    result = run(make_machine(distribution="debian", version="13.1"), supported_os=live)
    finding = only(result, "OS_ONLY_IN_LIVE_LIST")
    assert finding.severity is Severity.WARNING
    assert "OS_VERSION_UNSUPPORTED" not in result.codes


def test_unsupported_everywhere_says_so():
    result = run(make_machine(distribution="ubuntu", version="12.04"), supported_os=LIVE)
    finding = only(result, "OS_VERSION_UNSUPPORTED")
    assert "live supported list" in finding.message


def test_imprecise_version_with_distribution_absent_from_live_list():
    result = run(make_machine(distribution="sles", version="12"), supported_os=LIVE)
    assert {"OS_VERSION_UNCONFIRMED", "OS_NOT_IN_LIVE_LIST"} <= set(result.codes)


def test_imprecise_version_with_distribution_in_live_list_is_only_a_warning():
    result = run(make_machine(distribution="rhel", version="8"), supported_os=LIVE)
    assert "OS_VERSION_UNCONFIRMED" in result.codes
    assert "OS_NOT_IN_LIVE_LIST" not in result.codes


def test_empty_live_list_is_refused():
    with pytest.raises(InvalidInputError, match="pass None"):
        assess([make_machine()], supported_os=[])


def test_live_list_items_must_be_supported_os():
    with pytest.raises(InvalidInputError, match="SupportedOs"):
        assess([make_machine()], supported_os=[{"osName": "RHEL"}])


def test_unknown_os_names_a_tag_it_could_not_read():
    machine = make_machine(distribution=None, version=None, tags={"ec2asr:os": "BeOS 5"})
    finding = only(run(machine), "OS_UNKNOWN")
    assert "'BeOS 5' was not understood" in finding.message
    assert any(e.source is EvidenceSource.TAG for e in finding.evidence)
