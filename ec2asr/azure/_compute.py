"""The Azure VMs failovers create: their power state, and deallocating one (a rollback); and
the VM sizes a region offers (checked by ``plan()``).

There is no ``azure-mgmt-compute`` dependency for three calls: they go through the ASR client's
own pipeline (``send_request``, same credential, rate limiter and retries), on the Compute
REST API (api-version 2024-07-01: ``Microsoft.Compute/virtualMachines`` ``GET`` with
``$expand=instanceView`` and ``POST .../deallocate``, an LRO answered 202 with
``Azure-AsyncOperation``; ``Microsoft.Compute/locations/{location}/vmSizes``,
``VirtualMachineSizes_List`` in ``computeRPCommon.json``). The caller needs
``Microsoft.Compute/virtualMachines/read`` and ``.../deallocate/action`` on the target resource
group, and ``Microsoft.Compute/locations/vmSizes/read`` on the subscription for the sizes.
"""

from __future__ import annotations

import re

from azure.core.exceptions import AzureError as SdkAzureError
from azure.core.rest import HttpRequest

from ec2asr import _validate as v
from ec2asr.azure._base import ClientBase
from ec2asr.azure._errors import translate, translating
from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import AzureResourceNotFoundError, InvalidInputError

__all__ = ["COMPUTE_API_VERSION", "ComputeOperations"]

COMPUTE_API_VERSION = "2024-07-01"

_LOCATION = re.compile(r"^[-\w._]+$")  # the spec's pattern for {location}

_VM_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute"
    r"/virtualMachines/[^/]+$",
    re.IGNORECASE,
)


def _check(vm_id: str) -> str:
    if not isinstance(vm_id, str) or not _VM_ID.match(vm_id):
        raise InvalidInputError(
            f"vm_id must be a virtual machine's ARM id "
            f"(/subscriptions/.../providers/Microsoft.Compute/virtualMachines/NAME), not {vm_id!r}"
        )
    return vm_id


class ComputeOperations(ClientBase):
    """The Compute calls a rollback needs, and the VM sizes of a region."""

    def list_virtual_machine_sizes(
        self, location: str, *, subscription_id: str | None = None
    ) -> tuple[str, ...]:
        """The names of the VM sizes ``location`` offers the subscription, as Azure spells them.

        Args:
            location: The region's name (``westeurope``; a display name such as
                ``West Europe`` is normalized).
            subscription_id: Whose offer (default: the client's subscription).

        Raises:
            InvalidInputError: ``location`` or ``subscription_id`` is not valid.
            AzurePermissionError: The caller may not read the sizes.
            AzureError: Azure refused or failed the request.
        """
        if not isinstance(location, str) or not location.strip():
            raise InvalidInputError(f"location must be a region's name, not {location!r}")
        region = location.replace(" ", "").lower()
        if not _LOCATION.match(region):
            raise InvalidInputError(f"location must be a region's name, not {location!r}")
        subscription = subscription_id or self.subscription_id
        v.check_subscription_id("subscription_id", subscription)
        url = (
            f"/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{region}"
            f"/vmSizes?api-version={COMPUTE_API_VERSION}"
        )
        sizes = self._list_json(url, what=f"list the VM sizes of {region}")
        return tuple(str(size["name"]) for size in sizes if size.get("name"))

    def get_virtual_machine_power_state(self, vm_id: str) -> str | None:
        """The VM's power state (``running``, ``deallocating``, ``deallocated``, ``stopped``...),
        or None when it does not exist.

        Raises:
            InvalidInputError: ``vm_id`` is not a VM's ARM id.
            AzureError: Azure refused or failed the request.
        """
        url = f"{_check(vm_id)}?$expand=instanceView&api-version={COMPUTE_API_VERSION}"
        try:
            body = self._get_json(url, what=f"read virtual machine {vm_id.rsplit('/', 1)[-1]}")
        except AzureResourceNotFoundError:
            return None
        statuses = ((body.get("properties") or {}).get("instanceView") or {}).get("statuses")
        for status in statuses or ():
            code = str(status.get("code") or "")
            if code.lower().startswith("powerstate/"):
                return code.split("/", 1)[1].lower()
        return "unknown"

    def begin_deallocate_virtual_machine(self, vm_id: str) -> AsrOperation[None]:
        """Stop the VM and release its compute (its disks and NICs stay).

        Raises:
            InvalidInputError: ``vm_id`` is not a VM's ARM id.
            AzureResourceNotFoundError: The VM does not exist.
            AzureError: Azure refused or failed the request.
        """
        name = _check(vm_id).rsplit("/", 1)[-1]
        what = f"deallocate virtual machine {name}"
        request = HttpRequest("POST", f"{vm_id}/deallocate?api-version={COMPUTE_API_VERSION}")
        with translating(what):
            response = self._send(request)
        try:
            response.raise_for_status()
        except SdkAzureError as exc:
            raise translate(exc, what=what) from exc
        return AsrOperation.from_initial(
            response,
            what=what,
            send=self._send,
            fetch=lambda: None,
            continuation_token=None,
            sleep=self._sleep,
            default_interval=self.polling_interval,
        )
