"""The Microsoft.Compute definitions ec2asr (and the emulator) use: the VMs failovers create.

Source: Azure/azure-rest-api-specs,
``specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/``
``virtualMachine.json`` and ``computeRPCommon.json`` (the operations ``VirtualMachines_Get``
with ``$expand=instanceView``, ``VirtualMachines_InstanceView``, ``VirtualMachines_Deallocate``
(200, or 202 with ``Location``: example ``VirtualMachine_Deallocate_MaximumSet_Gen.json``) and
``VirtualMachines_Delete`` (200, 202, 204); the definitions ``VirtualMachine``,
``VirtualMachineProperties``, ``HardwareProfile``, ``VirtualMachineInstanceView`` and
``InstanceViewStatus``, checked against example ``VirtualMachine_Get_InstanceView.json``), and
ARM's asynchronous-operation status (``Microsoft.Compute/locations/{location}/operations/{id}``,
the URL Compute hands out in ``Azure-AsyncOperation``; ``monitor=true`` is its ``Location``
form), and ``VirtualMachineSizes_List`` (``GET .../locations/{location}/vmSizes`` in
``computeRPCommon.json``: a ``VirtualMachineSizeListResult`` of ``VirtualMachineSize``, no
``nextLink``; example ``VirtualMachineSizes_List_MaximumSet_Gen.json``). Only the properties the
emulator sends are encoded; the rest of ``VirtualMachineProperties`` (storage, OS and network
profiles ...) is free-form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema import Any_, Arr, Enum_, Map, Obj, ObjectSchema, Prim, Prop

__all__ = ["API_VERSION", "ComputeOperation", "find_compute"]

API_VERSION = "2024-07-01"

STR, TIME = Prim("string"), Prim("date-time")


@dataclass(frozen=True)
class _Def:
    name: str
    properties: dict[str, Prop] = field(hash=False)
    open: bool = False

    def props(self) -> Mapping[str, Prop]:
        return self.properties

    def resolve(self, raw: Mapping[str, Any]) -> tuple[ObjectSchema, str | None]:
        if not self.open:
            return self, None
        known = dict(self.properties)
        for key in raw:
            known.setdefault(key, Prop(Any_()))
        return _Def(self.name, known), None


_DEFS: dict[str, _Def] = {}


def _ref(name: str) -> Obj:
    return Obj(lambda: _DEFS[name], name)


def _define(name: str, props: dict[str, Prop], *, open_: bool = False) -> None:
    _DEFS[name] = _Def(name, props, open_)


_LEVEL = Enum_("StatusLevelTypes", frozenset({"Info", "Warning", "Error"}))
_define(
    "InstanceViewStatus",
    {
        "code": Prop(STR),
        "level": Prop(_LEVEL),
        "displayStatus": Prop(STR),
        "message": Prop(STR),
        "time": Prop(TIME),
    },
)
# VirtualMachineInstanceView has many more members (vmAgent, disks, bootDiagnostics...): open.
_define(
    "VirtualMachineInstanceView", {"statuses": Prop(Arr(_ref("InstanceViewStatus")))}, open_=True
)
_define("HardwareProfile", {"vmSize": Prop(STR)}, open_=True)
_define(
    "VirtualMachineProperties",
    {
        "vmId": Prop(STR, readonly=True),
        "provisioningState": Prop(STR, readonly=True),
        "hardwareProfile": Prop(_ref("HardwareProfile")),
        "timeCreated": Prop(TIME, readonly=True),
        "instanceView": Prop(_ref("VirtualMachineInstanceView"), readonly=True),
    },
    open_=True,
)
_define(
    "VirtualMachine",
    {
        "id": Prop(STR, readonly=True),
        "name": Prop(STR, readonly=True),
        "type": Prop(STR, readonly=True),
        "location": Prop(STR, required=True),
        "tags": Prop(Map(STR)),
        "properties": Prop(_ref("VirtualMachineProperties")),
    },
    open_=True,
)
INT = Prim("integer")
_define(
    "VirtualMachineSize",
    {
        "name": Prop(STR),
        "numberOfCores": Prop(INT),
        "osDiskSizeInMB": Prop(INT),
        "resourceDiskSizeInMB": Prop(INT),
        "memoryInMB": Prop(INT),
        "maxDataDiskCount": Prop(INT),
    },
)
_define("VirtualMachineSizeListResult", {"value": Prop(Arr(_ref("VirtualMachineSize")))})
_define(
    "OperationStatus",
    {
        "name": Prop(STR, readonly=True),
        "status": Prop(
            Enum_("Status", frozenset({"InProgress", "Succeeded", "Failed", "Canceled"}))
        ),
        "startTime": Prop(TIME),
        "endTime": Prop(TIME),
        "error": Prop(Any_()),
    },
)


@dataclass(frozen=True)
class ComputeOperation:
    """One Compute operation: what it accepts and answers."""

    name: str
    method: str
    template: str
    query: frozenset[str]
    statuses: tuple[int, ...]
    response: Obj | None

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$", re.IGNORECASE)


_VM = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Compute/virtualMachines/{vmName}"
)
_OPS = (
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}"
    "/operations/{operationId}"
)
_SIZES = "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/vmSizes"
_Q = frozenset({"api-version"})
OPERATIONS = (
    ComputeOperation(
        "VirtualMachineSizes_List",
        "GET",
        _SIZES,
        _Q,
        (200,),
        _ref("VirtualMachineSizeListResult"),
    ),
    ComputeOperation(
        "VirtualMachines_Get", "GET", _VM, _Q | {"$expand"}, (200,), _ref("VirtualMachine")
    ),
    ComputeOperation(
        "VirtualMachines_InstanceView",
        "GET",
        _VM + "/instanceView",
        _Q,
        (200,),
        _ref("VirtualMachineInstanceView"),
    ),
    ComputeOperation(
        "VirtualMachines_Deallocate",
        "POST",
        _VM + "/deallocate",
        _Q | {"hibernate"},
        (200, 202),
        None,
    ),
    ComputeOperation(
        "VirtualMachines_Delete", "DELETE", _VM, _Q | {"forceDeletion"}, (200, 202, 204), None
    ),
    ComputeOperation("Compute_OperationStatus", "GET", _OPS, _Q, (200,), _ref("OperationStatus")),
    ComputeOperation("Compute_OperationResult", "GET", _OPS, _Q | {"monitor"}, (200, 202), None),
)


def find_compute(method: str, path: str, query: Mapping[str, str]) -> ComputeOperation | None:
    """The Compute operation a request addresses (``monitor=true`` picks the Location form)."""
    for op in OPERATIONS:
        if op.method != method or not op.pattern.match(path):
            continue
        if op.name == "Compute_OperationStatus" and query.get("monitor") == "true":
            continue
        return op
    return None
