from __future__ import annotations

import pytest

from ec2asr.aws.osdetect import (
    TAG_KERNEL,
    TAG_OS,
    TAG_SECURE_BOOT,
    OsFacts,
    detect_os,
    facts_from_platform,
    facts_from_ssm,
    parse_os_text,
    secure_boot_from_tags,
)
from ec2asr.models import EvidenceSource, ImageInfo, OsFamily, OsInfo, SsmStatus

W, L = OsFamily.WINDOWS, OsFamily.LINUX

# Real AMI names and descriptions (and the odd tag/SSM spelling), with what they must yield.
TEXTS = [
    ("Windows_Server-2008-R2_SP1-English-64Bit-Base-2020.01.15", W, "windows", "2008 R2 SP1"),
    (
        "Windows_Server-2008-R2_SP1-English-64Bit-SQL_2012_SP4_Standard-2021.06.09",
        W,
        "windows",
        "2008 R2 SP1",
    ),
    ("Windows_Server-2008-SP2-English-32Bit-Base-2020.01.15", W, "windows", "2008 SP2"),
    ("Windows_Server-2012-RTM-English-64Bit-Base-2023.06.14", W, "windows", "2012"),
    ("Windows_Server-2012-R2_RTM-English-64Bit-Base-2023.06.14", W, "windows", "2012 R2"),
    ("Windows_Server-2016-English-Full-Base-2023.06.14", W, "windows", "2016"),
    ("Windows_Server-2016-English-Core-Base-2023.06.14", W, "windows", "2016"),
    ("Windows_Server-2019-English-Full-SQL_2017_Standard-2023.06.14", W, "windows", "2019"),
    ("Windows_Server-2022-English-Full-Base-2023.06.14", W, "windows", "2022"),
    ("TPM-Windows_Server-2022-English-Full-Base-2023.06.14", W, "windows", "2022"),
    ("Microsoft Windows Server 2008 R2 with SP1 Datacenter", W, "windows", "2008 R2 SP1"),
    ("Microsoft Windows 2008 R2 SP1 Datacenter edition [English]", W, "windows", "2008 R2 SP1"),
    (
        "Microsoft Windows Server 2008 R2 SP1 Datacenter 64-bit Base AMI with Red Hat PV drivers",
        W,
        "windows",
        "2008 R2 SP1",
    ),
    ("windows 2019", W, "windows", "2019"),
    ("win2016", W, "windows", "2016"),
    ("RHEL-6.7_HVM-20150714-x86_64-1-Hourly2-GP2", L, "rhel", "6.7"),
    ("RHEL-6.4_GA-x86_64-7-Hourly2", L, "rhel", "6.4"),
    ("RHEL-7.9_HVM_GA-20200917-x86_64-0-Hourly2-GP2", L, "rhel", "7.9"),
    ("RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2", L, "rhel", "8.6"),
    ("RHEL-9.2.0_HVM-20230503-x86_64-41-Hourly2-GP2", L, "rhel", "9.2"),
    ("Red Hat Enterprise Linux Server 7.9", L, "rhel", "7.9"),
    ("rhel 8", L, "rhel", "8"),
    ("ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230112", L, "ubuntu", "20.04"),
    ("ubuntu/images/hvm-ssd-gp3/ubuntu-jammy-22.04-arm64-server-20230516", L, "ubuntu", "22.04"),
    ("ubuntu/images/ebs/ubuntu-trusty-14.04-amd64-server-20180627", L, "ubuntu", "14.04"),
    ("ubuntu-xenial-amd64-golden", L, "ubuntu", "16.04"),
    ("Canonical, Ubuntu, 20.04 LTS, amd64 focal image build on 2023-01-12", L, "ubuntu", "20.04"),
    ("amzn2-ami-hvm-2.0.20230612.0-x86_64-gp2", L, "amazon", "2"),
    ("amzn2-ami-kernel-5.10-hvm-2.0.20230612.0-arm64-gp2", L, "amazon", "2"),
    ("al2023-ami-2023.1.20230629.0-kernel-6.1-x86_64", L, "amazon", "2023"),
    ("amzn-ami-hvm-2018.03.0.20230607.0-x86_64-gp2", L, "amazon", "2018.03"),
    ("amzn-ami-pv-2018.03.0.20230607.0-x86_64-ebs", L, "amazon", "2018.03"),
    ("Amazon Linux 2 AMI 2.0.20230612.0 x86_64 HVM gp2", L, "amazon", "2"),
    ("Amazon Linux AMI 2018.03.0.20230607.0 x86_64 HVM gp2", L, "amazon", "2018.03"),
    (
        "CentOS Linux 7 x86_64 HVM EBS ENA 2002_01-b7ee8a69-ee97-4a49-9e68-afaee216db2e",
        L,
        "centos",
        "7",
    ),
    ("CentOS-7-2111-20220825_1.x86_64-d9a3032a-921c-4c6d-b150-bde168105e42", L, "centos", "7"),
    ("CentOS 6.5 (x86_64) - Release Media", L, "centos", "6.5"),
    ("CentOS Stream 9 x86_64 20230123", L, "centos", "9"),
    ("OL8.6-x86_64-HVM-2022-05-24", L, "oracle", "8.6"),
    ("OL7.9-x86_64-HVM-2020-12-07", L, "oracle", "7.9"),
    ("Oracle Linux 8 update 6 for x86_64 HVM", L, "oracle", "8.6"),
    ("suse-sles-15-sp4-v20220915-hvm-ssd-x86_64", L, "sles", "15 SP4"),
    ("suse-sles-12-sp5-v20210303-hvm-ssd-x86_64", L, "sles", "12 SP5"),
    ("suse-sles-11-sp4-v20180104-pv-ssd-x86_64", L, "sles", "11 SP4"),
    ("SUSE Linux Enterprise Server 15 SP4 (HVM, 64-bit, SSD-Backed)", L, "sles", "15 SP4"),
    ("SLES 15.4", L, "sles", "15 SP4"),
    ("debian-11-amd64-20230515-1381", L, "debian", "11"),
    ("debian-10-amd64-20210329-591", L, "debian", "10"),
    ("debian-stretch-hvm-x86_64-gp2-2019-01-22-59357", L, "debian", "9"),
    ("debian-jessie-amd64-hvm-2017-01-15-1221-ebs", L, "debian", "8"),
    ("Debian GNU/Linux 11", L, "debian", "11"),
    ("Rocky-8-EC2-8.6-20220515.0.x86_64", L, "rocky", "8.6"),
    ("Rocky-9-EC2-Base-9.2-20230513.0.x86_64", L, "rocky", "9.2"),
    ("AlmaLinux OS 8.6.20220901 x86_64", L, "alma", "8.6"),
]


@pytest.mark.parametrize(("text", "family", "distribution", "version"), TEXTS)
def test_parse_os_text_reads_real_ami_names(
    text: str, family: OsFamily, distribution: str, version: str
) -> None:
    facts = parse_os_text(text)
    assert (facts.family, facts.distribution, facts.version) == (family, distribution, version)
    assert facts.name is not None
    assert version in facts.name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Windows_Server-2012-R2_RTM-English-64Bit-Base-2023.06.14", "Windows Server 2012 R2"),
        ("ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230112", "Ubuntu 20.04 LTS"),
        ("RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2", "Red Hat Enterprise Linux 8.6"),
        ("amzn2-ami-hvm-2.0.20230612.0-x86_64-gp2", "Amazon Linux 2"),
        ("suse-sles-15-sp4-v20220915-hvm-ssd-x86_64", "SUSE Linux Enterprise Server 15 SP4"),
    ],
)
def test_parse_os_text_names(text: str, name: str) -> None:
    assert parse_os_text(text).name == name


@pytest.mark.parametrize(
    "text", ["", None, "my-golden-image-2021", "Provided by Red Hat, Inc.", "ami-0abc"]
)
def test_parse_os_text_says_nothing_when_nothing_is_named(text: str | None) -> None:
    assert parse_os_text(text).empty


def test_generic_linux_text_gives_family_only() -> None:
    assert parse_os_text("Linux/UNIX") == OsFacts(family=L)


@pytest.mark.parametrize(
    ("platform", "details", "expected"),
    [
        ("windows", None, OsFacts(W, "windows")),
        (None, "Windows with SQL Server Standard", OsFacts(W, "windows")),
        (None, "Red Hat Enterprise Linux", OsFacts(L, "rhel")),
        (None, "SUSE Linux", OsFacts(L, "sles")),
        (None, "Ubuntu Pro", OsFacts(L, "ubuntu")),
        (None, "Linux/UNIX", OsFacts(L)),
        (None, None, OsFacts()),
        (None, "", OsFacts()),
    ],
)
def test_facts_from_platform(platform: str | None, details: str | None, expected: OsFacts) -> None:
    assert facts_from_platform(platform, details) == expected


@pytest.mark.parametrize(
    ("name", "version", "expected_version"),
    [
        ("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "2019"),
        ("Microsoft Windows Server 2008 R2 Datacenter", "6.1.7601", "2008 R2 SP1"),
        ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600", "2012 R2"),
        ("", "10.0.20348", "2022"),
    ],
)
def test_facts_from_ssm_windows_uses_name_and_build(
    name: str, version: str, expected_version: str
) -> None:
    ssm = SsmStatus(
        available=True,
        managed=True,
        platform_type="Windows",
        platform_name=name,
        platform_version=version,
    )
    facts = facts_from_ssm(ssm)
    assert (facts.family, facts.version) == (W, expected_version)


@pytest.mark.parametrize(
    ("name", "version", "distribution", "expected_version"),
    [
        ("Red Hat Enterprise Linux", "8.6", "rhel", "8.6"),
        ("Ubuntu", "20.04", "ubuntu", "20.04"),
        ("Amazon Linux", "2", "amazon", "2"),
        ("SLES", "15.4", "sles", "15 SP4"),
        ("Oracle Linux Server", "7.9", "oracle", "7.9"),
        ("CentOS Linux", "7.9.2009", "centos", "7.9"),
    ],
)
def test_facts_from_ssm_linux(
    name: str, version: str, distribution: str, expected_version: str
) -> None:
    ssm = SsmStatus(
        available=True,
        managed=True,
        platform_type="Linux",
        platform_name=name,
        platform_version=version,
    )
    facts = facts_from_ssm(ssm)
    assert (facts.family, facts.distribution, facts.version) == (L, distribution, expected_version)


def test_facts_from_ssm_unmanaged_says_nothing() -> None:
    assert facts_from_ssm(SsmStatus(available=True, managed=False)).empty


RHEL_IMAGE = ImageInfo(
    image_id="ami-0c4d2f6e8a1b30003",
    name="RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2",
    description="Provided by Red Hat, Inc.",
    owner_id="309956199498",
)
WINDOWS_IMAGE = ImageInfo(
    image_id="ami-0b7e5a1c2d3e40007",
    name="Windows_Server-2019-English-Full-Base-2023.06.14",
    description="Microsoft Windows Server 2019 with Desktop Experience Locale English AMI",
    owner_id="801119661308",
    platform="windows",
)
UBUNTU_IMAGE = ImageInfo(
    image_id="ami-0d9a8b7c6e5f20002",
    name="ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230112",
    description="Canonical, Ubuntu, 20.04 LTS, amd64 focal image build on 2023-01-12",
    owner_id="099720109477",
)


def only(info: OsInfo, field: str) -> EvidenceSource:
    evidence = info.evidence_for(field)
    assert len(evidence) == 1, evidence
    return evidence[0].source


def test_ami_name_alone_gives_every_fact_with_ami_name_evidence() -> None:
    info = detect_os(image=RHEL_IMAGE)
    assert (info.family, info.distribution, info.name, info.version) == (
        L,
        "rhel",
        "Red Hat Enterprise Linux 8.6",
        "8.6",
    )
    for field in ("family", "distribution", "name", "version"):
        assert only(info, field) is EvidenceSource.AMI_NAME
    assert "RHEL-8.6.0_HVM" in info.evidence_for("version")[0].detail


def test_platform_beats_ami_name_for_the_family_and_ami_name_fills_the_version() -> None:
    info = detect_os(image=WINDOWS_IMAGE, platform="windows")
    assert only(info, "family") is EvidenceSource.PLATFORM
    assert only(info, "version") is EvidenceSource.AMI_NAME
    assert info.version == "2019"


def test_description_is_used_when_the_name_says_nothing() -> None:
    image = ImageInfo(
        image_id="ami-1",
        name="golden-2021",
        description="Microsoft Windows Server 2012 R2 RTM 64-bit Locale English AMI",
    )
    info = detect_os(image=image)
    assert info.version == "2012 R2"
    assert only(info, "version") is EvidenceSource.AMI_DESCRIPTION


def test_precedence_override_then_tag_then_ssm_then_platform() -> None:
    ssm = SsmStatus(
        available=True,
        managed=True,
        platform_type="Linux",
        platform_name="Red Hat Enterprise Linux",
        platform_version="8.8",
    )
    tags = {TAG_OS: "rhel 8.7"}
    assert detect_os(image=RHEL_IMAGE, ssm=ssm).version == "8.8"
    assert only(detect_os(image=RHEL_IMAGE, ssm=ssm), "version") is EvidenceSource.SSM_INVENTORY
    tagged = detect_os(image=RHEL_IMAGE, ssm=ssm, tags=tags)
    assert (tagged.version, only(tagged, "version")) == ("8.7", EvidenceSource.TAG)
    overridden = detect_os(image=RHEL_IMAGE, ssm=ssm, tags=tags, override="rhel 8.9")
    assert (overridden.version, only(overridden, "version")) == ("8.9", EvidenceSource.OVERRIDE)
    assert "override" in overridden.evidence_for("version")[0].detail


def test_conflicting_lower_sources_do_not_mix_in() -> None:
    # Tagged as Ubuntu, launched from a Windows AMI: nothing of Windows may leak in.
    info = detect_os(image=WINDOWS_IMAGE, tags={TAG_OS: "ubuntu"}, platform="windows")
    assert (info.family, info.distribution) == (L, "ubuntu")
    assert info.version is None
    assert info.name == "Ubuntu"
    assert all(e.source is EvidenceSource.TAG for e in info.evidence if e.field != "kernel")


def test_family_only_tag_is_completed_by_an_agreeing_ami() -> None:
    info = detect_os(image=RHEL_IMAGE, tags={TAG_OS: "Linux"})
    assert only(info, "family") is EvidenceSource.TAG
    assert only(info, "version") is EvidenceSource.AMI_NAME
    assert info.version == "8.6"


def test_osinfo_override_is_taken_as_given() -> None:
    override = OsInfo(family=W, distribution="windows", name="Windows Server 2016", version="2016")
    info = detect_os(image=RHEL_IMAGE, override=override)
    assert (info.family, info.version) == (W, "2016")
    assert only(info, "family") is EvidenceSource.OVERRIDE


def test_unknown_os_is_said_with_evidence() -> None:
    info = detect_os(image=ImageInfo.missing("ami-gone"))
    assert info.family is OsFamily.UNKNOWN
    (evidence,) = info.evidence_for("family")
    assert evidence.source is EvidenceSource.UNKNOWN
    assert "no longer described" in evidence.detail


def test_ssm_unavailability_is_recorded_in_the_os_evidence() -> None:
    ssm = SsmStatus(available=False, reason="not authorised: ssm:DescribeInstanceInformation")
    info = detect_os(image=RHEL_IMAGE, ssm=ssm)
    (evidence,) = info.evidence_for("ssm")
    assert evidence.source is EvidenceSource.SSM_INVENTORY
    assert "not authorised" in evidence.detail


def test_canonical_ubuntu_ami_gives_linux_aws_kernel_hint() -> None:
    info = detect_os(image=UBUNTU_IMAGE)
    assert info.kernel == "linux-aws"
    (evidence,) = info.evidence_for("kernel")
    assert evidence.source is EvidenceSource.AMI_NAME
    assert "Canonical" in evidence.detail


def test_kernel_tag_beats_the_ami_hint_and_other_distributions_get_none() -> None:
    tagged = detect_os(image=UBUNTU_IMAGE, tags={TAG_KERNEL: "5.4.0-1103-generic"})
    assert tagged.kernel == "5.4.0-1103-generic"
    assert only(tagged, "kernel") is EvidenceSource.TAG
    assert detect_os(image=RHEL_IMAGE).kernel is None
    # Canonical AMI, but the caller says it now runs RHEL: no Ubuntu kernel hint.
    assert detect_os(image=UBUNTU_IMAGE, override="rhel 8.6").kernel is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("off", False), ("OFF", False), ("disabled", False), ("on", True), ("true", True)],
)
def test_secure_boot_tag(value: str, expected: bool) -> None:
    secure_boot, evidence = secure_boot_from_tags({TAG_SECURE_BOOT: value})
    assert secure_boot is expected
    assert evidence is not None
    assert evidence.field == "secure_boot"
    assert evidence.source is EvidenceSource.TAG


def test_secure_boot_tag_absent_or_garbled() -> None:
    assert secure_boot_from_tags({}) == (None, None)
    secure_boot, evidence = secure_boot_from_tags({TAG_SECURE_BOOT: "maybe"})
    assert secure_boot is None
    assert evidence is not None
    assert "not understood" in evidence.detail
