"""The Azure VMs that failovers create, as ``Microsoft.Compute/virtualMachines`` (a small part).

A test failover creates ``{targetVmName}-test`` (its cleanup deletes it); an unplanned failover
creates ``{targetVmName}`` in the target resource group, running. Neither commit, nor complete
migration, nor disabling protection deletes it (Microsoft Learn, "Disable protection": the
Azure VM of a failed-over machine stays). Served: GET (``$expand=instanceView``), GET
``instanceView``, POST ``deallocate`` and DELETE, with Compute's LRO shape (202 +
``Azure-AsyncOperation`` on ``.../locations/{location}/operations/{id}`` + ``Location``), on
api-version 2024-07-01 of the Compute spec (``virtualMachine.json``). Deallocating and deleting
take ``timings.vm_operation`` simulated seconds; state changes are read off the clock.

Also served: the VM sizes a region offers (``GET .../locations/{location}/vmSizes``,
``VirtualMachineSizes_List`` in ``computeRPCommon.json``, the shape of its example
``VirtualMachineSizes_List_MaximumSet_Gen.json``). Which sizes a region offers is the sandbox's
assumption (``docs/sandbox.md``): every size of ec2asr's packaged table in every region, unless a
test narrows a region with :meth:`AsrEmulator.offer_vm_sizes`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ec2asr.testing.emulator.arm import ArmError, format_time, stable_guid
from ec2asr.testing.emulator.router import Context, Response, Route

if TYPE_CHECKING:
    from ec2asr.testing.emulator.emulator import AsrEmulator
    from ec2asr.testing.emulator.protected_items import ProtectedItem

__all__ = [
    "COMPUTE_API_VERSION",
    "ROUTES",
    "VirtualMachine",
    "create_vm",
    "failover_vm",
    "remove_test_vm",
    "test_vm",
]

COMPUTE_API_VERSION = "2024-07-01"

_VM = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Compute/virtualMachines/{vmName}"
)
_VM_SIZES = (
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/vmSizes"
)
_OPERATION = (
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}"
    "/operations/{operationId}"
)


@dataclass
class VirtualMachine:
    """An Azure VM created by a failover."""

    id: str
    name: str
    location: str
    size: str | None
    created: datetime
    item: str
    test: bool = False
    deallocate_at: datetime | None = None
    delete_at: datetime | None = None

    def power_state(self, now: datetime) -> str:
        """``running``, ``deallocating`` or ``deallocated`` at ``now``."""
        if self.deallocate_at is None:
            return "running"
        return "deallocated" if now >= self.deallocate_at else "deallocating"

    def exists(self, now: datetime) -> bool:
        """False once a delete finished."""
        return self.delete_at is None or now < self.delete_at


@dataclass
class _Operation:
    id: str
    location: str
    started: datetime
    done: datetime


def create_vm(
    emulator: AsrEmulator,
    *,
    resource_group_id: str,
    name: str,
    size: str | None,
    when: datetime,
    item: str,
    test: bool = False,
) -> VirtualMachine:
    """Create (or replace a deleted) VM ``name`` in ``resource_group_id``, running."""
    vm_id = f"{resource_group_id.rstrip('/')}/providers/Microsoft.Compute/virtualMachines/{name}"
    vm = VirtualMachine(vm_id, name, emulator.location, size, when, item, test)
    emulator.virtual_machines[vm_id.lower()] = vm
    return vm


def delete_vm_now(emulator: AsrEmulator, resource_group_id: str, name: str) -> None:
    """Remove a VM at once (a test failover's cleanup deletes its test VM)."""
    vm_id = f"{resource_group_id.rstrip('/')}/providers/Microsoft.Compute/virtualMachines/{name}"
    emulator.virtual_machines.pop(vm_id.lower(), None)


def failover_vm_id(item: ProtectedItem) -> str:
    """The ARM id of the VM a failover of ``item`` creates."""
    group = str(item.settings["targetResourceGroupId"]).rstrip("/")
    return f"{group}/providers/Microsoft.Compute/virtualMachines/{item.target_vm_name}"


def failover_vm(emulator: AsrEmulator, item: ProtectedItem, when: datetime) -> VirtualMachine:
    """The VM an unplanned failover of ``item`` created."""
    return create_vm(
        emulator,
        resource_group_id=str(item.settings["targetResourceGroupId"]),
        name=item.target_vm_name,
        size=item.settings.get("targetVmSize"),
        when=when,
        item=item.name,
    )


def test_vm(emulator: AsrEmulator, item: ProtectedItem, when: datetime) -> VirtualMachine:
    """The VM a test failover of ``item`` created (``{targetVmName}-test``)."""
    return create_vm(
        emulator,
        resource_group_id=str(item.settings["targetResourceGroupId"]),
        name=f"{item.target_vm_name}-test",
        size=item.settings.get("targetVmSize"),
        when=when,
        item=item.name,
        test=True,
    )


def remove_test_vm(emulator: AsrEmulator, item: ProtectedItem) -> None:
    """A test failover's cleanup deletes its test VM."""
    delete_vm_now(
        emulator, str(item.settings["targetResourceGroupId"]), f"{item.target_vm_name}-test"
    )


def _vm_of(ctx: Context) -> VirtualMachine:
    p = ctx.params
    vm_id = (
        f"/subscriptions/{p['subscriptionId']}/resourceGroups/{p['resourceGroupName']}"
        f"/providers/Microsoft.Compute/virtualMachines/{p['vmName']}"
    )
    vm = ctx.emulator.virtual_machines.get(vm_id.lower())
    if vm is None or not vm.exists(ctx.now):
        if vm is not None:
            ctx.emulator.virtual_machines.pop(vm_id.lower(), None)
        raise ArmError(
            404,
            "ResourceNotFound",
            (
                f"The Resource 'Microsoft.Compute/virtualMachines/{p['vmName']}' under resource "
                f"group '{p['resourceGroupName']}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    return vm


def _statuses(vm: VirtualMachine, now: datetime) -> list[dict[str, Any]]:
    power = vm.power_state(now)
    display = {
        "running": "VM running",
        "deallocating": "VM deallocating",
        "deallocated": "VM deallocated",
    }[power]
    return [
        {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": format_time(vm.created),
        },
        {"code": f"PowerState/{power}", "level": "Info", "displayStatus": display},
    ]


def _vm_json(vm: VirtualMachine, now: datetime, expand: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "vmId": stable_guid("vm", vm.id),
        "provisioningState": "Succeeded",
        "hardwareProfile": {"vmSize": vm.size or "Standard_D2s_v5"},
        "timeCreated": format_time(vm.created),
    }
    if expand:
        properties["instanceView"] = {"statuses": _statuses(vm, now)}
    return {
        "id": vm.id,
        "name": vm.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": vm.location,
        "tags": {},
        "properties": properties,
    }


def get_vm(ctx: Context) -> Response:
    """GET a VM (``$expand=instanceView`` adds its power state)."""
    vm = _vm_of(ctx)
    expand = ctx.request.query.get("$expand", "").lower() == "instanceview"
    return Response(200, _vm_json(vm, ctx.now, expand))


def get_instance_view(ctx: Context) -> Response:
    """GET a VM's ``instanceView``."""
    vm = _vm_of(ctx)
    return Response(200, {"statuses": _statuses(vm, ctx.now)})


def _accept(ctx: Context, seconds: float) -> tuple[Response, datetime]:
    op = _Operation(
        id=str(uuid.uuid4()),
        location=ctx.emulator.location,
        started=ctx.now,
        done=ctx.now + timedelta(seconds=seconds),
    )
    ctx.emulator.compute_operations[op.id] = op
    url = (
        f"{ctx.base_url}/subscriptions/{ctx.params['subscriptionId']}/providers/Microsoft.Compute"
        f"/locations/{op.location}/operations/{op.id}?api-version={COMPUTE_API_VERSION}"
    )
    headers = {
        "Azure-AsyncOperation": url,
        "Location": url + "&monitor=true",
        "Retry-After": str(ctx.emulator.retry_after),
    }
    return Response(202, None, headers), op.done


def deallocate_vm(ctx: Context) -> Response:
    """POST ``deallocate``: the VM stops and its compute is released."""
    vm = _vm_of(ctx)
    if vm.deallocate_at is not None:
        response, _ = _accept(ctx, 0.0)
        return response
    response, done = _accept(ctx, ctx.emulator.timings.vm_operation)
    vm.deallocate_at = done
    return response


def delete_vm(ctx: Context) -> Response:
    """DELETE a VM (its disks and NICs are not modelled)."""
    vm = _vm_of(ctx)
    response, done = _accept(ctx, ctx.emulator.timings.vm_operation)
    vm.delete_at = done
    return response


def operation_status(ctx: Context) -> Response:
    """GET a Compute operation's status (``InProgress`` until done, then ``Succeeded``)."""
    op = ctx.emulator.compute_operations.get(ctx.params["operationId"])
    if op is None:
        raise ArmError(404, "NotFound", "The operation was not found.")
    done = ctx.now >= op.done
    body: dict[str, Any] = {
        "name": op.id,
        "status": "Succeeded" if done else "InProgress",
        "startTime": format_time(op.started),
    }
    if done:
        body["endTime"] = format_time(op.done)
    if ctx.request.query.get("monitor") == "true":
        return Response(200 if done else 202, None if done else body)
    return Response(200, body)


def _size_json(name: str) -> dict[str, Any]:
    from ec2asr.assessment.sizing import load_vm_size_catalog

    known = {s.name.lower(): s for s in load_vm_size_catalog().sizes}
    size = known.get(name.lower())
    body: dict[str, Any] = {"name": name}
    if size is not None:
        body.update(
            {
                "numberOfCores": size.vcpus,
                "osDiskSizeInMB": 1047552,  # as in the spec's example
                "memoryInMB": int(size.memory_gib * 1024),
                "maxDataDiskCount": size.max_data_disks,
            }
        )
    return body


def list_vm_sizes(ctx: Context) -> Response:
    """GET the VM sizes a region offers (one page: the operation has no ``nextLink``)."""
    names = ctx.emulator.vm_sizes_offered(ctx.params["location"])
    return Response(200, {"value": [_size_json(name) for name in names]})


ROUTES = [
    Route("GET", _VM_SIZES, "VirtualMachineSizes_List", list_vm_sizes, family="compute"),
    Route("GET", _VM, "VirtualMachines_Get", get_vm, family="compute"),
    Route(
        "GET",
        _VM + "/instanceView",
        "VirtualMachines_InstanceView",
        get_instance_view,
        family="compute",
    ),
    Route(
        "POST",
        _VM + "/deallocate",
        "VirtualMachines_Deallocate",
        deallocate_vm,
        family="compute",
        write=True,
    ),
    Route("DELETE", _VM, "VirtualMachines_Delete", delete_vm, family="compute", write=True),
    Route("GET", _OPERATION, "Compute_OperationStatus", operation_status, family="compute"),
]
