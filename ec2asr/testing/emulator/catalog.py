"""Azure VM sizes the emulator offers as ``targetComputeSizes`` (a representative subset).

Each entry: name, vCPUs, memory (GiB), max data disks, max NICs, premium-storage support,
Hyper-V generations. Sizes a machine does not fit get ASR-style ``errors`` (as the real API
does) instead of being left out.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SIZES", "target_compute_sizes"]

SIZES: tuple[tuple[str, int, float, int, int, bool, tuple[str, ...]], ...] = (
    ("Standard_B2s", 2, 4.0, 4, 3, True, ("V1", "V2")),
    ("Standard_B2ms", 2, 8.0, 4, 3, True, ("V1", "V2")),
    ("Standard_A2_v2", 2, 4.0, 4, 2, False, ("V1",)),
    ("Standard_D2s_v3", 2, 8.0, 4, 2, True, ("V1", "V2")),
    ("Standard_D4s_v3", 4, 16.0, 8, 2, True, ("V1", "V2")),
    ("Standard_D8s_v3", 8, 32.0, 16, 4, True, ("V1", "V2")),
    ("Standard_D16s_v3", 16, 64.0, 32, 8, True, ("V1", "V2")),
    ("Standard_D2s_v5", 2, 8.0, 4, 2, True, ("V1", "V2")),
    ("Standard_D4s_v5", 4, 16.0, 8, 2, True, ("V1", "V2")),
    ("Standard_D8s_v5", 8, 32.0, 16, 4, True, ("V1", "V2")),
    ("Standard_E4s_v3", 4, 32.0, 8, 2, True, ("V1", "V2")),
    ("Standard_E8s_v3", 8, 64.0, 16, 4, True, ("V1", "V2")),
    ("Standard_F2s_v2", 2, 4.0, 4, 2, True, ("V1", "V2")),
    ("Standard_F4s_v2", 4, 8.0, 8, 2, True, ("V1", "V2")),
    ("Standard_F8s_v2", 8, 16.0, 16, 4, True, ("V1", "V2")),
    ("Standard_DS1_v2", 1, 3.5, 4, 2, True, ("V1", "V2")),
)


def target_compute_sizes(
    item_id: str, nic_count: int, data_disks: int, firmware: str
) -> list[dict[str, Any]]:
    """The ``targetComputeSizes`` list for a machine."""
    generation = "V2" if firmware == "UEFI" else "V1"
    values = []
    for name, cpus, memory, max_disks, max_nics, premium, generations in SIZES:
        errors = []
        if data_disks > max_disks:
            errors.append(
                {
                    "message": (
                        f"The size supports {max_disks} data disks; the machine has {data_disks}."
                    ),
                    "severity": "Error",
                }
            )
        if nic_count > max_nics:
            errors.append(
                {
                    "message": (
                        f"The size supports {max_nics} network adapters; "
                        f"the machine has {nic_count}."
                    ),
                    "severity": "Error",
                }
            )
        if generation not in generations:
            errors.append(
                {
                    "message": f"The size does not support Hyper-V generation {generation}.",
                    "severity": "Error",
                }
            )
        values.append(
            {
                "name": name,
                "type": (
                    "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
                    "replicationProtectedItems/targetComputeSizes"
                ),
                "id": f"{item_id}/targetComputeSizes/{name}",
                "properties": {
                    "name": name,
                    "friendlyName": name,
                    "cpuCoresCount": cpus,
                    "vCPUsAvailable": cpus,
                    "memoryInGB": memory,
                    "maxDataDiskCount": max_disks,
                    "maxNicsCount": max_nics,
                    "errors": errors or None,
                    "highIopsSupported": "Supported" if premium else "NotSupported",
                    "hyperVGenerations": list(generations),
                },
            }
        )
    return values
