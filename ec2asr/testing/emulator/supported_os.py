"""``replicationSupportedOperatingSystems?instanceType=InMageRcm``: the operating systems the
modernized stack replicates, after Microsoft's support matrix for VMware VMs and physical
servers (modernized). The list is a representative snapshot, not every kernel."""

from __future__ import annotations

from typing import Any

from ec2asr.testing.emulator.arm import invalid
from ec2asr.testing.emulator.router import Context, Response, Route

__all__ = ["INMAGE_RCM_OS", "ROUTES"]

_WINDOWS: tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...] = (
    ("Windows Server 2025", (("10.0.26100", None),)),
    ("Windows Server 2022", (("10.0.20348", None),)),
    ("Windows Server 2019", (("10.0.17763", None),)),
    ("Windows Server 2016", (("10.0.14393", None),)),
    ("Windows Server 2012 R2", (("6.3.9600", None),)),
    ("Windows Server 2012", (("6.2.9200", None),)),
    ("Windows Server 2008 R2", (("6.1.7601", "1"),)),
    ("Windows 10", (("10.0", None),)),
    ("Windows 11", (("10.0.22000", None),)),
)


def _minor(major: int, last: int, first: int = 0) -> tuple[str, ...]:
    return tuple(f"{major}.{n}" for n in range(first, last + 1))


# The Linux releases the modernized support matrix lists (VMware VMs and physical servers),
# per minor release as ASR's answer spells them.
_LINUX: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Red Hat Enterprise Linux",
        _minor(6, 10, 1) + _minor(7, 9) + _minor(8, 10) + _minor(9, 4),
    ),
    ("CentOS", _minor(6, 10, 1) + _minor(7, 9) + _minor(8, 5)),
    ("Oracle Linux", _minor(6, 10, 4) + _minor(7, 9) + _minor(8, 10) + _minor(9, 4)),
    ("Ubuntu", ("14.04", "16.04", "18.04", "20.04", "22.04", "24.04")),
    ("Debian", ("7", "8", "9", "10", "11", "12")),
    (
        "SUSE Linux Enterprise Server",
        (
            *("11 SP3", "11 SP4", "12 SP1", "12 SP2", "12 SP3", "12 SP4", "12 SP5"),
            *("15", "15 SP1", "15 SP2", "15 SP3", "15 SP4", "15 SP5"),
        ),
    ),
    ("Rocky Linux", _minor(8, 10) + _minor(9, 4)),
    ("AlmaLinux", _minor(8, 10) + _minor(9, 4)),
)


def _os_list() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name, versions in _WINDOWS:
        entries.append(
            {
                "osName": name,
                "osType": "windows",
                "osVersions": [
                    {"version": v, **({"servicePack": sp} if sp else {})} for v, sp in versions
                ],
            }
        )
    for name, linux_versions in _LINUX:
        entries.append(
            {
                "osName": name,
                "osType": "linux",
                "osVersions": [{"version": v} for v in linux_versions],
            }
        )
    return entries


INMAGE_RCM_OS = _os_list()


def get_supported_os(ctx: Context) -> Response:
    """GET the supported operating systems (only ``InMageRcm`` is served)."""
    vault = ctx.vault()
    wanted = ctx.request.query.get("instanceType")
    if wanted is not None and wanted.lower() != "inmagercm":
        raise invalid(
            f"The emulator serves supported operating systems for InMageRcm only, not '{wanted}'."
        )
    return Response(
        200,
        {
            "name": "Default",
            "type": "Microsoft.RecoveryServices/vaults/replicationSupportedOperatingSystems",
            "id": f"{vault.asr_id}/replicationSupportedOperatingSystems/Default",
            "properties": {
                "supportedOsList": [{"instanceType": "InMageRcm", "supportedOs": INMAGE_RCM_OS}]
            },
        },
    )


ROUTES = [
    Route(
        "GET",
        "VAULT/replicationSupportedOperatingSystems",
        "SupportedOperatingSystems_Get",
        get_supported_os,
    )
]
