"""Target sizing: EC2 instance type -> nearest Azure VM size, EBS volume -> Azure managed disk.

Data plus pure functions; no network. The VM table is ``data/azure_vm_sizes.json`` (schema
``ec2asr.azure-vm-sizes/1``): current Azure series per family (Dsv5/Dasv5/Ddsv5 general
purpose, Fsv2 compute, Esv5/M/Mv2 memory, Bsv2/Bs burstable, Lsv3 storage) with vCPU, memory and
the data-disk limit of each size, and the EC2-family -> Azure-family map.

Sizing rule (:func:`azure_vm_size_for`): the EC2 family letters pick the Azure family
(``m``/``a`` general, ``t`` burstable, ``c`` compute, ``r``/``x``/``z``/``u`` memory,
``i``/``d``/``h`` storage; accelerated and HPC families are sized as general purpose, since the
table has no GPU sizes); then the smallest size of that family with at least the instance's vCPUs
and memory (and data disks) wins, ties broken by series preference (AMD EC2 types prefer Dasv5,
types with instance storage prefer Ddsv5). If nothing in the family is large enough, the smallest
fitting size of any family is used. Graviton (arm64) types map by size like any other; note that
ASR itself cannot replicate them (readiness says so).
"""

from __future__ import annotations

import enum
import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ec2asr.assessment.disks import (
    EBS_TO_AZURE_DISK_TYPE,
    AzureDisk,
    AzureDiskType,
    azure_disk_for,
)
from ec2asr.errors import InvalidInputError
from ec2asr.models import InstanceTypeInfo

__all__ = [
    "EBS_TO_AZURE_DISK_TYPE",
    "AzureDisk",
    "AzureDiskType",
    "AzureVmSize",
    "Ec2TypeName",
    "SizeFamily",
    "VmSizeCatalog",
    "azure_disk_for",
    "azure_vm_size_for",
    "ec2_instance_shape",
    "load_vm_size_catalog",
    "parse_ec2_instance_type",
]


class SizeFamily(str, enum.Enum):
    """Workload family shared by EC2 instance families and Azure VM series."""

    GENERAL = "general"
    COMPUTE = "compute"
    MEMORY = "memory"
    BURSTABLE = "burstable"
    STORAGE = "storage"


@attrs.frozen
class AzureVmSize:
    """One Azure VM size.

    Attributes:
        name: ARM size name (``"Standard_D2s_v5"``).
        series: ``"Dsv5"``, ``"Fsv2"`` ...
        family: General, compute, memory, burstable or storage.
        vcpus: vCPU count.
        memory_gib: Memory in GiB.
        max_data_disks: How many data disks the size can attach.
        cpu: ``"intel"`` or ``"amd"``.
    """

    name: str
    series: str
    family: SizeFamily
    vcpus: int
    memory_gib: float
    max_data_disks: int
    cpu: str = "intel"

    def __str__(self) -> str:
        return f"{self.name} ({self.vcpus} vCPU, {self.memory_gib:g} GiB)"


@attrs.frozen
class VmSizeCatalog:
    """The Azure size table and the EC2-family map (see :func:`load_vm_size_catalog`).

    Attributes:
        version: Data version.
        sizes: Every size, in data-file order.
        preference: Family -> series in preference order.
        ec2_families: EC2 family letters (``"m"``, ``"im"``, ``"hpc"``) -> family.
    """

    version: str
    sizes: tuple[AzureVmSize, ...]
    preference: Mapping[SizeFamily, tuple[str, ...]] = attrs.field(hash=False)
    ec2_families: Mapping[str, SizeFamily] = attrs.field(hash=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VmSizeCatalog:
        """Build from parsed ``azure_vm_sizes.json``.

        Raises:
            InvalidInputError: Wrong schema or malformed data.
        """
        if data.get("schema") != "ec2asr.azure-vm-sizes/1":
            raise InvalidInputError(f"unsupported VM-size schema {data.get('schema')!r}")
        try:
            sizes = tuple(
                AzureVmSize(
                    name=str(size["name"]),
                    series=str(series["series"]),
                    family=SizeFamily(series["family"]),
                    vcpus=int(size["vcpus"]),
                    memory_gib=float(size["memory_gib"]),
                    max_data_disks=int(size["max_data_disks"]),
                    cpu=str(series.get("cpu", "intel")),
                )
                for series in data["series"]
                for size in series["sizes"]
            )
            return cls(
                version=str(data["version"]),
                sizes=sizes,
                preference={
                    SizeFamily(k): tuple(v) for k, v in dict(data["family_preference"]).items()
                },
                ec2_families={str(k): SizeFamily(v) for k, v in dict(data["ec2_families"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed VM-size data: {exc!r}") from exc

    def get(self, name: str) -> AzureVmSize:
        """The size called ``name``.

        Raises:
            InvalidInputError: No such size in the table.
        """
        for size in self.sizes:
            if size.name.lower() == name.lower():
                return size
        raise InvalidInputError(f"{name!r} is not in ec2asr's Azure VM size table")

    def list(self, family: SizeFamily | None = None) -> tuple[AzureVmSize, ...]:
        """Every size, or those of one family."""
        return tuple(s for s in self.sizes if family is None or s.family is family)

    def family_for(self, ec2_family: str) -> SizeFamily:
        """The Azure family for EC2 family letters (``"m"`` -> general).

        Raises:
            InvalidInputError: The letters are not a known EC2 family.
        """
        key = ec2_family.rstrip("-")
        if key in self.ec2_families:
            return self.ec2_families[key]
        raise InvalidInputError(
            f"unknown EC2 instance family {ec2_family!r}; pass family= to azure_vm_size_for"
        )


@functools.lru_cache(maxsize=1)
def load_vm_size_catalog() -> VmSizeCatalog:
    """The VM-size table packaged with ec2asr (read once, then cached; immutable)."""
    text = (
        importlib.resources.files("ec2asr.assessment")
        .joinpath("data/azure_vm_sizes.json")
        .read_text(encoding="utf-8")
    )
    return VmSizeCatalog.from_dict(json.loads(text))


@attrs.frozen
class Ec2TypeName:
    """An EC2 instance type name taken apart: ``m6gd.2xlarge`` = ``m`` + ``6`` + ``gd`` + size.

    Attributes:
        family: Family letters (``"m"``, ``"im"``, ``"mac"``, ``"u"``).
        generation: Generation number.
        attributes: Letters after the generation (``"gd"``: Graviton, local NVMe).
        size: ``"2xlarge"``, ``"metal"`` ...
    """

    family: str
    generation: int
    attributes: str
    size: str


_TYPE_NAME = re.compile(
    r"^(?P<family>u-|[a-z]+?)(?P<gen>\d+)(?P<attrs>[a-z0-9-]*)\.(?P<size>[a-z0-9-]+)$"
)


def parse_ec2_instance_type(name: str) -> Ec2TypeName:
    """Take an instance type name apart.

    Raises:
        InvalidInputError: ``name`` is not an EC2 instance type name.
    """
    m = _TYPE_NAME.match(name.strip().lower()) if isinstance(name, str) else None
    if m is None:
        raise InvalidInputError(f"{name!r} is not an EC2 instance type name (like 'm5.large')")
    return Ec2TypeName(
        family=m["family"].rstrip("-"),
        generation=int(m["gen"]),
        attributes=m["attrs"],
        size=m["size"],
    )


_T2 = {
    "nano": (1, 0.5),
    "micro": (1, 1.0),
    "small": (1, 2.0),
    "medium": (2, 4.0),
    "large": (2, 8.0),
    "xlarge": (4, 16.0),
    "2xlarge": (8, 32.0),
}
_T3 = {**_T2, "nano": (2, 0.5), "micro": (2, 1.0), "small": (2, 2.0)}
_GIB_PER_VCPU = {"m": 4.0, "c": 2.0, "r": 8.0}


def _vcpus_for_size(size: str) -> int | None:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    m = re.fullmatch(r"(\d*)xlarge", size)
    if m is None:
        return None
    return 4 * int(m.group(1) or 1)


def ec2_instance_shape(instance_type: str) -> tuple[int, float] | None:
    """vCPUs and GiB of memory for common instance types, derived from the name.

    Covers t2/t3/t3a/t4g and the fixed-ratio families of generation 5 and later: ``m*`` 4 GiB,
    ``c*`` 2 GiB and ``r*`` 8 GiB per vCPU, sizes medium (1 vCPU), large (2) and ``Nxlarge``
    (4N). Returns None for everything else (``metal`` sizes, ``c5n``, older generations, other
    families): pass the real figures (``InstanceTypeInfo`` from discovery has them).

    Raises:
        InvalidInputError: ``instance_type`` is not an instance type name.
    """
    parsed = parse_ec2_instance_type(instance_type)
    if parsed.family == "t":
        table = _T2 if parsed.generation == 2 else _T3 if parsed.generation in (3, 4) else {}
        return table.get(parsed.size)
    ratio = _GIB_PER_VCPU.get(parsed.family)
    if ratio is None or parsed.generation < 5:
        return None
    if parsed.family == "c" and parsed.generation == 5 and "n" in parsed.attributes:
        return None  # c5n carries extra memory (5.25 GiB per 2 vCPU)
    vcpus = _vcpus_for_size(parsed.size)
    return None if vcpus is None else (vcpus, vcpus * ratio)


def _series_order(
    catalog: VmSizeCatalog, family: SizeFamily, parsed: Ec2TypeName, local_disk: bool
) -> tuple[str, ...]:
    order = list(catalog.preference.get(family, ()))
    favoured: list[str] = []
    if local_disk:
        favoured += [s for s in order if s[1:].lower().startswith("d")]  # Ddsv5: local disk
    if "a" in parsed.attributes:
        favoured += [s for s in order if s.lower().endswith("asv5")]
    return tuple(dict.fromkeys([*favoured, *order]))


def _positive(value: float | None, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise InvalidInputError(f"{name} must be a positive number, got {value!r}")


def azure_vm_size_for(
    instance_type: InstanceTypeInfo | str,
    *,
    vcpus: int | None = None,
    memory_gib: float | None = None,
    data_disks: int = 0,
    family: SizeFamily | None = None,
    catalog: VmSizeCatalog | None = None,
) -> AzureVmSize:
    """The smallest Azure size of the matching family with at least the same vCPU and memory.

    Args:
        instance_type: The EC2 type, as discovery's :class:`~ec2asr.InstanceTypeInfo` (which
            carries vCPU and memory) or as a name (``"m5.large"``).
        vcpus: vCPUs to match; defaults to the type's.
        memory_gib: GiB of memory to match; defaults to the type's.
        data_disks: Data disks the VM must be able to attach.
        family: Force an Azure family instead of mapping the EC2 family.
        catalog: The size table; the packaged one when None.

    Returns:
        The chosen size. Ties (same vCPU and memory) go to the preferred series. When no size of
        the mapped family is large enough (and ``family`` was not forced), the smallest fitting
        size of any family is returned.

    Raises:
        InvalidInputError: The name is not an instance type, its family is unknown (and no
            ``family`` was given), its vCPU/memory are unknown (a name
            :func:`ec2_instance_shape` cannot derive, with no ``vcpus``/``memory_gib``), a figure
            is not positive, or no size in the table is large enough.
    """
    catalog = catalog or load_vm_size_catalog()
    if isinstance(instance_type, InstanceTypeInfo):
        name = instance_type.name
        if instance_type.known and instance_type.vcpus and instance_type.memory_mib:
            vcpus = vcpus if vcpus is not None else instance_type.vcpus
            memory_gib = memory_gib if memory_gib is not None else instance_type.memory_gib
        local_disk = instance_type.instance_storage_gb > 0
    elif isinstance(instance_type, str):
        name = instance_type
        local_disk = False
    else:
        raise InvalidInputError(
            f"instance_type takes an InstanceTypeInfo or a name, got {type(instance_type).__name__}"
        )
    parsed = parse_ec2_instance_type(name)
    local_disk = local_disk or "d" in parsed.attributes
    if vcpus is None or memory_gib is None:
        shape = ec2_instance_shape(name)
        if shape is None:
            raise InvalidInputError(
                f"vCPU and memory of {name!r} are unknown: pass vcpus= and memory_gib= (or the "
                "InstanceTypeInfo from discovery)"
            )
        vcpus = vcpus if vcpus is not None else shape[0]
        memory_gib = memory_gib if memory_gib is not None else shape[1]
    _positive(vcpus, "vcpus")
    _positive(memory_gib, "memory_gib")
    if isinstance(data_disks, bool) or not isinstance(data_disks, int) or data_disks < 0:
        raise InvalidInputError(f"data_disks must be a non-negative integer, got {data_disks!r}")
    target = family if family is not None else catalog.family_for(parsed.family)
    order = _series_order(catalog, target, parsed, local_disk)

    def fits(s: AzureVmSize) -> bool:
        """True when ``s`` has enough vCPU, memory and data-disk slots."""
        return s.vcpus >= vcpus and s.memory_gib >= memory_gib and s.max_data_disks >= data_disks

    candidates = [s for s in catalog.list(target) if fits(s)]
    if not candidates and family is None:
        # Nothing in the mapped family is large enough (c7i.48xlarge has 192 vCPU): widen.
        candidates = [s for s in catalog.sizes if fits(s)]
    if not candidates:
        raise InvalidInputError(
            f"no {target.value} Azure size in ec2asr's table has >= {vcpus} vCPU, "
            f">= {memory_gib:g} GiB and >= {data_disks} data disks (for {name})"
        )
    rank = {series: i for i, series in enumerate(order)}
    return min(candidates, key=lambda s: (s.vcpus, s.memory_gib, rank.get(s.series, len(rank))))
