"""The kinds of machines a sandbox fleet is made of, and the verdict each should get.

Every :class:`FleetProfile` pairs an AMI of the sandbox catalogue (``data/amis.json``) with an
instance type, disks, tags and a security-group tier, and states the readiness verdict the
fleet intends it to get (``READY``, ``READY_WITH_WARNINGS`` or ``NOT_READY``) and why.
"""

from __future__ import annotations

import attrs

__all__ = [
    "DEFAULT_PROFILE_KEYS",
    "NOT_READY",
    "PROFILES",
    "READY",
    "READY_WITH_WARNINGS",
    "Disk",
    "FleetProfile",
    "profile",
]

READY = "READY"
"""A profile's intended verdict: ASR can move it as it is."""
READY_WITH_WARNINGS = "READY_WITH_WARNINGS"
"""A profile's intended verdict: it can move, with something to check."""
NOT_READY = "NOT_READY"
"""A profile's intended verdict: it is blocked."""


@attrs.frozen
class Disk:
    """One EBS volume of a profile. ``device=None`` is the root volume (the AMI's root device).

    ``io1``/``io2`` volumes carry ``iops``.
    """

    size_gib: int
    volume_type: str = "gp3"
    device: str | None = None
    iops: int | None = None
    encrypted: bool = False


@attrs.frozen
class FleetProfile:
    """One kind of source machine in a seeded fleet.

    Attributes:
        key: Stable identifier (``"win2019-sql"``).
        name_prefix: Instances are named ``{prefix}-01``, ``{prefix}-02`` ...
        ami_name: Name of an AMI in the sandbox catalogue.
        instance_type: EC2 instance type.
        verdict: The readiness verdict the fleet intends.
        why: One line: what makes it that verdict.
        disks: Root volume first, then data volumes.
        tier: Security-group tier: ``web``, ``app``, ``db``, ``linux`` or ``restricted``
            (``restricted`` allows egress on 443 only, so 9443 to the appliance is closed).
        application: The ``Application`` tag.
        state: ``running`` or ``stopped``.
        tags: Extra tags (``ec2asr:*`` hints among them).
        weight: Share in a mixed fleet (``seed_fleet(n=...)``).
        default: Part of the default fleet (one instance each).
        deregister_ami: Deregister the AMI after launch (discovery then sees it missing).
    """

    key: str
    name_prefix: str
    ami_name: str
    instance_type: str
    verdict: str
    why: str
    disks: tuple[Disk, ...]
    tier: str = "app"
    application: str = "shared"
    state: str = "running"
    tags: tuple[tuple[str, str], ...] = ()
    weight: int = 1
    default: bool = True
    deregister_ami: bool = False


PROFILES: tuple[FleetProfile, ...] = (
    FleetProfile(
        key="win2012r2",
        name_prefix="app",
        ami_name="Windows_Server-2012-R2_RTM-English-64Bit-Base-2023.06.14",
        instance_type="m5.large",
        verdict=READY,
        why="Windows Server 2012 R2, x86_64, HVM, BIOS",
        disks=(Disk(60, "gp2"), Disk(200, "gp2", "/dev/xvdf")),
        application="line-of-business",
        weight=8,
    ),
    FleetProfile(
        key="win2016",
        name_prefix="web",
        ami_name="Windows_Server-2016-English-Full-Base-2023.06.14",
        instance_type="m5.xlarge",
        verdict=READY,
        why="Windows Server 2016 IIS front end",
        disks=(Disk(80), Disk(100, "gp3", "/dev/xvdf")),
        tier="web",
        application="storefront",
        weight=10,
    ),
    FleetProfile(
        key="win2019-sql",
        name_prefix="sql",
        ami_name="Windows_Server-2019-English-Full-SQL_2019_Standard-2023.06.14",
        instance_type="r5.2xlarge",
        verdict=READY,
        why="Windows Server 2019 with SQL Server; provisioned-IOPS data and log disks",
        disks=(
            Disk(120),
            Disk(500, "io1", "/dev/xvdf", iops=5000, encrypted=True),
            Disk(200, "io1", "/dev/xvdg", iops=3000, encrypted=True),
        ),
        tier="db",
        application="storefront",
        weight=6,
    ),
    FleetProfile(
        key="win2022",
        name_prefix="dc",
        ami_name="Windows_Server-2022-English-Full-Base-2023.06.14",
        instance_type="t3.large",
        verdict=READY,
        why="Windows Server 2022 domain controller",
        disks=(Disk(60),),
        application="identity",
        weight=4,
    ),
    FleetProfile(
        key="win2008r2-redhat-pv",
        name_prefix="erp",
        ami_name="Windows_Server-2008-R2_SP1-English-64Bit-Base-2012.03.13",
        instance_type="m4.large",
        verdict=NOT_READY,
        why="Windows Server 2008 R2 with Red Hat PV drivers (AMI description says so)",
        disks=(Disk(80, "gp2"), Disk(300, "gp2", "/dev/xvdf")),
        application="erp",
        weight=2,
    ),
    FleetProfile(
        key="win2008r2-citrix-pv",
        name_prefix="files",
        ami_name="Windows_Server-2008-R2_SP1-English-64Bit-Base-2013.11.13",
        instance_type="m4.xlarge",
        verdict=READY,
        why="Windows Server 2008 R2 SP1 with Citrix PV drivers (allowed)",
        disks=(Disk(80, "gp2"), Disk(1024, "st1", "/dev/xvdf")),
        application="file-shares",
        weight=2,
    ),
    FleetProfile(
        key="win2008r2-unknown-pv",
        name_prefix="print",
        ami_name="Windows_Server-2008-R2_SP1-English-64Bit-Base-2019.11.13",
        instance_type="m4.large",
        verdict=READY_WITH_WARNINGS,
        why="Windows Server 2008 R2 SP1; nothing says which PV drivers it runs",
        disks=(Disk(60, "gp2"),),
        application="print",
        weight=1,
    ),
    FleetProfile(
        key="rhel67",
        name_prefix="oradb",
        ami_name="RHEL-6.7_HVM-20150714-x86_64-1-Hourly2-GP2",
        instance_type="m4.2xlarge",
        verdict=READY,
        why="RHEL 6.7 HVM",
        disks=(Disk(50, "gp2"), Disk(1000, "io1", "/dev/xvdf", iops=10000)),
        tier="db",
        application="erp",
        weight=2,
    ),
    FleetProfile(
        key="rhel8",
        name_prefix="api",
        ami_name="RHEL-8.6.0_HVM-20220503-x86_64-2-Hourly2-GP2",
        instance_type="m5.large",
        verdict=READY,
        why="RHEL 8.6; its security group allows egress on 443 only (9443 to the appliance closed)",
        disks=(Disk(30), Disk(100, "gp3", "/dev/xvdf")),
        tier="restricted",
        application="payments-api",
        weight=10,
    ),
    FleetProfile(
        key="ubuntu2004",
        name_prefix="www",
        ami_name="ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230112",
        instance_type="t3.medium",
        verdict=READY_WITH_WARNINGS,
        why="Ubuntu 20.04 from Canonical's AMI: runs the non-stock linux-aws kernel",
        disks=(Disk(30, "gp2"),),
        tier="web",
        application="marketing-site",
        weight=12,
    ),
    FleetProfile(
        key="amzn2",
        name_prefix="batch",
        ami_name="amzn2-ami-hvm-2.0.20230612.0-x86_64-gp2",
        instance_type="t3.large",
        verdict=NOT_READY,
        why="Amazon Linux 2 is not supported by ASR",
        disks=(Disk(20, "gp2"), Disk(500, "sc1", "/dev/xvdf")),
        tier="linux",
        application="reporting",
        weight=8,
    ),
    FleetProfile(
        key="graviton",
        name_prefix="cache",
        ami_name="ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20230516",
        instance_type="m6g.large",
        verdict=NOT_READY,
        why="arm64 (Graviton): ASR replicates x86_64 only",
        disks=(Disk(30),),
        application="session-cache",
        weight=4,
    ),
    FleetProfile(
        key="pv-linux",
        name_prefix="legacy-mon",
        ami_name="suse-sles-11-sp4-v20180104-pv-ssd-x86_64",
        instance_type="m3.medium",
        verdict=NOT_READY,
        why="SLES 11 SP4 on paravirtual (PV) virtualization",
        disks=(Disk(20, "standard"),),
        tier="linux",
        application="monitoring",
        weight=1,
    ),
    FleetProfile(
        key="instance-store",
        name_prefix="etl",
        ami_name="CentOS Linux 7 x86_64 HVM EBS ENA 2002_01-b7ee8a69-ee97-4a49-9e68-afaee216db2e",
        instance_type="m5d.xlarge",
        verdict=NOT_READY,
        why="CentOS 7 on m5d: its NVMe instance-store disk is not replicated",
        disks=(Disk(50, "gp2"),),
        tier="linux",
        application="data-pipeline",
        weight=3,
    ),
    FleetProfile(
        key="stopped",
        name_prefix="report",
        ami_name="OL8.6-x86_64-HVM-2022-05-24",
        instance_type="m5.large",
        verdict=READY_WITH_WARNINGS,
        why="Oracle Linux 8.6, stopped (it cannot replicate until started)",
        disks=(Disk(40), Disk(250, "gp3", "/dev/xvdf")),
        state="stopped",
        application="reporting",
        weight=3,
    ),
    FleetProfile(
        key="uefi",
        name_prefix="rdgw",
        ami_name="TPM-Windows_Server-2022-English-Full-Base-2023.06.14",
        instance_type="m5.large",
        verdict=READY,
        why="Windows Server 2022, UEFI with Secure Boot off (tag ec2asr:secure-boot=off)",
        disks=(Disk(60),),
        tier="web",
        application="remote-desktop",
        tags=(("ec2asr:secure-boot", "off"),),
        weight=2,
    ),
    FleetProfile(
        key="debian11-uefi",
        name_prefix="mq",
        ami_name="debian-11-amd64-20230515-1381",
        instance_type="t3.large",
        verdict=READY_WITH_WARNINGS,
        why="Debian 11, UEFI; nothing says whether Secure Boot is off",
        disks=(Disk(20), Disk(100, "gp3", "/dev/xvdf")),
        tier="linux",
        application="messaging",
        weight=2,
    ),
    FleetProfile(
        key="golden-image",
        name_prefix="iis",
        ami_name="contoso-golden-iis-2021.04",
        instance_type="m5.large",
        verdict=READY,
        why="Windows from a golden AMI since deregistered; tag ec2asr:os names the OS",
        disks=(Disk(80),),
        tier="web",
        application="intranet",
        tags=(("ec2asr:os", "Windows Server 2016 Datacenter"),),
        weight=2,
        deregister_ami=True,
    ),
    # Mixed fleets only (seed_fleet(n=...)): more of what real estates hold.
    FleetProfile(
        key="win2016-core",
        name_prefix="svc",
        ami_name="Windows_Server-2016-English-Core-Base-2023.06.14",
        instance_type="m5.large",
        verdict=READY,
        why="Windows Server 2016 Core",
        disks=(Disk(50),),
        weight=6,
        default=False,
    ),
    FleetProfile(
        key="win2019",
        name_prefix="rds",
        ami_name="Windows_Server-2019-English-Full-Base-2023.06.14",
        instance_type="m5.xlarge",
        verdict=READY,
        why="Windows Server 2019",
        disks=(Disk(80), Disk(200, "gp3", "/dev/xvdf")),
        weight=5,
        default=False,
    ),
    FleetProfile(
        key="rhel79",
        name_prefix="jboss",
        ami_name="RHEL-7.9_HVM_GA-20200917-x86_64-0-Hourly2-GP2",
        instance_type="m5.large",
        verdict=READY,
        why="RHEL 7.9",
        disks=(Disk(40, "gp2"), Disk(100, "gp2", "/dev/xvdf")),
        tier="linux",
        weight=8,
        default=False,
    ),
    FleetProfile(
        key="ubuntu1804",
        name_prefix="node",
        ami_name="ubuntu/images/hvm-ssd/ubuntu-bionic-18.04-amd64-server-20230531",
        instance_type="t3.medium",
        verdict=READY_WITH_WARNINGS,
        why="Ubuntu 18.04 from Canonical's AMI: linux-aws kernel",
        disks=(Disk(30, "gp2"),),
        tier="linux",
        weight=6,
        default=False,
    ),
    FleetProfile(
        key="al2023",
        name_prefix="worker",
        ami_name="al2023-ami-2023.1.20230629.0-kernel-6.1-x86_64",
        instance_type="t3.medium",
        verdict=NOT_READY,
        why="Amazon Linux 2023 is not supported by ASR",
        disks=(Disk(20),),
        tier="linux",
        weight=4,
        default=False,
    ),
    FleetProfile(
        key="sles15",
        name_prefix="sap",
        ami_name="suse-sles-15-sp4-v20220915-hvm-ssd-x86_64",
        instance_type="r5.xlarge",
        verdict=READY,
        why="SLES 15 SP4",
        disks=(Disk(50), Disk(512, "gp3", "/dev/xvdf")),
        tier="linux",
        weight=3,
        default=False,
    ),
)
"""Every fleet profile: an AMI, an instance type, disks, and the verdict it should get."""

DEFAULT_PROFILE_KEYS: tuple[str, ...] = tuple(p.key for p in PROFILES if p.default)
"""The profiles of the default fleet (``seed_fleet()`` with no ``n``)."""

_BY_KEY = {p.key: p for p in PROFILES}


def profile(key: str) -> FleetProfile:
    """The profile with this key.

    Raises:
        KeyError: No such profile.
    """
    return _BY_KEY[key]
