"""Protected-item operations: enable replication, failovers, commit, complete migration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import attrs
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.azure._base import ClientBase
from ec2asr.azure._errors import translating
from ec2asr.azure.items import ProtectedItem, RecoveryPoint
from ec2asr.azure.models import ComputeSize
from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import InvalidInputError

__all__ = ["EnableReplicationRequest", "ItemRef"]


class ItemRef(Protocol):
    """Anything naming a protected item: a :class:`ProtectedItem` or :class:`ItemKey`."""

    @property
    def name(self) -> str:
        """The item's name."""

    @property
    def fabric_name(self) -> str | None:
        """Its fabric."""

    @property
    def container_name(self) -> str | None:
        """Its protection container."""


@attrs.frozen
class ItemKey:
    """The address of a protected item: fabric, container, name."""

    fabric_name: str
    container_name: str
    name: str


def _tags(tags: Mapping[str, str]) -> list[m.UserCreatedResourceTag] | None:
    if not tags:
        return None
    return [m.UserCreatedResourceTag(tag_name=k, tag_value=v) for k, v in sorted(tags.items())]


@attrs.frozen
class EnableReplicationRequest:
    """Everything ASR needs to start replicating one machine (InMageRcm).

    Attributes:
        name: The protected item's name (ec2asr uses the EC2 instance id: deterministic, so a
            re-issued request after a crash addresses the same item).
        fabric_discovery_machine_id: The discovered machine's ARM id.
        process_server_id: The appliance process server that will replicate it.
        policy_id: The replication policy (mapped to the container).
        target_resource_group_id: Where the Azure VM goes.
        target_network_id: The VNet; ``target_subnet_name`` its subnet.
        test_network_id: The isolated VNet for test failovers (optional).
        target_vm_name: A valid Azure VM name.
        log_storage_account_id: The cache storage account in the target region.
        target_vm_size: An Azure size name (``Standard_D2s_v5``).
        disk_type: Managed-disk type for every disk.
        license_type: ``NoLicenseType`` or ``WindowsServer`` (Azure Hybrid Benefit).
        run_as_account_id: For push installation, the appliance credential's id.
    """

    name: str
    fabric_discovery_machine_id: str
    process_server_id: str
    policy_id: str
    target_resource_group_id: str
    target_network_id: str
    target_subnet_name: str
    target_vm_name: str
    log_storage_account_id: str
    target_vm_size: str | None = None
    test_network_id: str | None = None
    test_subnet_name: str | None = None
    disk_type: str = "Premium_LRS"
    license_type: str = "NoLicenseType"
    linux_license_type: str | None = None
    availability_zone: str | None = None
    run_as_account_id: str | None = None
    multi_vm_group_name: str | None = None
    vm_tags: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    def to_azure(self) -> m.EnableProtectionInput:
        """The SDK input for ``replicationProtectedItems.create``."""
        details = m.InMageRcmEnableProtectionInput(
            fabric_discovery_machine_id=self.fabric_discovery_machine_id,
            process_server_id=self.process_server_id,
            target_resource_group_id=self.target_resource_group_id,
            disks_default=m.InMageRcmDisksDefaultInput(
                log_storage_account_id=self.log_storage_account_id, disk_type=self.disk_type
            ),
            target_network_id=self.target_network_id,
            target_subnet_name=self.target_subnet_name,
            test_network_id=self.test_network_id,
            test_subnet_name=self.test_subnet_name,
            target_vm_name=self.target_vm_name,
            target_vm_size=self.target_vm_size,
            license_type=self.license_type,
            linux_license_type=self.linux_license_type,
            target_availability_zone=self.availability_zone,
            run_as_account_id=self.run_as_account_id,
            multi_vm_group_name=self.multi_vm_group_name,
            target_vm_tags=_tags(self.vm_tags),
            target_managed_disk_tags=_tags(self.vm_tags),
            target_nic_tags=_tags(self.vm_tags),
        )
        return m.EnableProtectionInput(
            properties=m.EnableProtectionInputProperties(
                policy_id=self.policy_id, provider_specific_details=details
            )
        )


def disable_input(reason: str) -> m.DisableProtectionInput:
    """The ``remove`` body: the reason, and ``replicationProviderInput`` as
    Remove-AzRecoveryServicesAsrReplicationProtectedItem sends it for every provider but InMage
    (and the official example ReplicationProtectedItems_Delete.json)."""
    provider = m.DisableProtectionProviderSpecificInput(
        {"instanceType": "DisableProtectionProviderSpecificInput"}
    )
    return m.DisableProtectionInput(
        properties=m.DisableProtectionInputProperties(
            disable_protection_reason=reason, replication_provider_input=provider
        )
    )


class ProtectionOperations(ClientBase):
    """Operations on replication-protected items."""

    def _args(self, item: ItemRef) -> tuple[str, str, str, str, str]:
        if not item.fabric_name or not item.container_name or not item.name:
            raise InvalidInputError(f"incomplete protected-item reference: {item!r}")
        return (self.resource_group, self.vault, item.fabric_name, item.container_name, item.name)

    def get_protected_item(self, item: ItemRef) -> ProtectedItem:
        """Return one protected item's current state (``ReplicationProtectedItems_Get``, read
        from its JSON without building the SDK model).

        Raises:
            InvalidInputError: The reference lacks its fabric, container or name.
            AzureResourceNotFoundError: It does not exist.
            AzureError: Azure refused or failed the request.
        """
        _, _, fabric, container, name = self._args(item)
        url = self._asr_url(
            "replicationFabrics",
            fabric,
            "replicationProtectionContainers",
            container,
            "replicationProtectedItems",
            name,
        )
        return ProtectedItem.from_json(self._get_json(url, what=f"read protected item {name}"))

    def list_protected_items(
        self, *, fabric_name: str | None = None, container_name: str | None = None
    ) -> Iterator[ProtectedItem]:
        """Yield the protected items of one protection container
        (``ReplicationProtectedItems_ListByReplicationProtectionContainers``) or, without a
        container, of the whole vault (``ReplicationProtectedItems_List``); one paginated call,
        each page read from its JSON without building SDK models.

        Raises:
            InvalidInputError: A container without its fabric (or a fabric without a container).
            AzureError: Azure refused or failed the request.
        """
        if (
            (fabric_name is None) != (container_name is None)
            or fabric_name == ""
            or (container_name == "")
        ):
            raise InvalidInputError(
                "list_protected_items takes both fabric_name and container_name, or neither"
            )
        if fabric_name is not None and container_name is not None:
            url = self._asr_url(
                "replicationFabrics",
                fabric_name,
                "replicationProtectionContainers",
                container_name,
                "replicationProtectedItems",
            )
        else:
            url = self._asr_url("replicationProtectedItems")
        return (
            ProtectedItem.from_json(body)
            for body in self._list_json(url, what="list protected items")
        )

    def begin_enable_replication(
        self, fabric_name: str, container_name: str, request: EnableReplicationRequest
    ) -> AsrOperation[ProtectedItem]:
        """Start replicating a discovered machine (creates the protected item).

        Raises:
            AsrJobError: ASR rejected the input (its code, causes and action attached).
            AzureError: Azure refused or failed the request.
        """
        key = ItemKey(fabric_name, container_name, request.name)
        body = request.to_azure()
        return self._begin(
            f"enable replication of {request.name}",
            lambda **kw: self.sdk.replication_protected_items.begin_create(
                *self._args(key), body, **kw
            ),
            lambda: self.get_protected_item(key),
        )

    def _post(
        self, what: str, item: ItemRef, method: str, body: Any | None = None
    ) -> AsrOperation[ProtectedItem]:
        fn = getattr(self.sdk.replication_protected_items, method)
        args = self._args(item)
        key = ItemKey(args[2], args[3], args[4])

        def begin(**kw: Any) -> Any:
            return fn(*args, body, **kw) if body is not None else fn(*args, **kw)

        return self._begin(f"{what} {item.name}", begin, lambda: self.get_protected_item(key))

    def begin_test_failover(
        self, item: ItemRef, *, network_id: str, recovery_point_id: str | None = None
    ) -> AsrOperation[ProtectedItem]:
        """Start a test failover into an isolated network (the source keeps running).

        Raises:
            InvalidInputError: When ``network_id`` is empty.
            AsrJobError: ASR refused it (for example, not allowed in the item's state).
            AzureError: Azure refused or failed the request.
        """
        if not network_id:
            raise InvalidInputError("a test failover needs an isolated test network id")
        body = m.TestFailoverInput(
            properties=m.TestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=network_id,
                provider_specific_details=m.InMageRcmTestFailoverInput(
                    network_id=network_id, recovery_point_id=recovery_point_id
                ),
            )
        )
        return self._post("test failover of", item, "begin_test_failover", body)

    def begin_test_failover_cleanup(
        self, item: ItemRef, *, comments: str = "Test migration verified by ec2asr"
    ) -> AsrOperation[ProtectedItem]:
        """Remove the test failover's VM and resources.

        Raises:
            AsrJobError: ASR refused it.
            AzureError: Azure refused or failed the request.
        """
        body = m.TestFailoverCleanupInput(
            properties=m.TestFailoverCleanupInputProperties(comments=comments[:1024])
        )
        return self._post("test failover cleanup of", item, "begin_test_failover_cleanup", body)

    def begin_unplanned_failover(
        self, item: ItemRef, *, recovery_point_id: str | None = None, perform_shutdown: bool = False
    ) -> AsrOperation[ProtectedItem]:
        """Fail over to a recovery point (the latest when None). ASR cannot stop AWS machines,
        so ``perform_shutdown`` stays False: stop the EC2 instance first.

        Raises:
            AsrJobError: ASR refused it (for example, the item already failed over).
            AzureError: Azure refused or failed the request.
        """
        body = m.UnplannedFailoverInput(
            properties=m.UnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=m.InMageRcmUnplannedFailoverInput(
                    perform_shutdown="true" if perform_shutdown else "false",
                    recovery_point_id=recovery_point_id,
                ),
            )
        )
        return self._post("unplanned failover of", item, "begin_unplanned_failover", body)

    def begin_commit_failover(self, item: ItemRef) -> AsrOperation[ProtectedItem]:
        """Commit a failover (no rollback afterwards).

        Raises:
            AsrJobError: ASR refused it.
            AzureError: Azure refused or failed the request.
        """
        return self._post("commit failover of", item, "begin_failover_commit")

    def begin_change_recovery_point(
        self, item: ItemRef, recovery_point_id: str
    ) -> AsrOperation[ProtectedItem]:
        """Change the recovery point of a failed-over, uncommitted item (``applyRecoveryPoint``;
        ASR offers it as ``ChangePit``).

        Raises:
            InvalidInputError: When ``recovery_point_id`` is empty.
            AsrJobError: ASR refused it (for example, the item is not failed over).
            AzureError: Azure refused or failed the request.
        """
        if not isinstance(recovery_point_id, str) or not recovery_point_id.strip():
            raise InvalidInputError("recovery_point_id must be a recovery point's ARM id")
        body = m.ApplyRecoveryPointInput(
            properties=m.ApplyRecoveryPointInputProperties(
                recovery_point_id=recovery_point_id,
                provider_specific_details=m.InMageRcmApplyRecoveryPointInput(
                    recovery_point_id=recovery_point_id
                ),
            )
        )
        return self._post("change the recovery point of", item, "begin_apply_recovery_point", body)

    def _remove(self, item: ItemRef, reason: str) -> AsrOperation[None]:
        body = disable_input(reason)
        args = self._args(item)
        verb = "complete migration of" if reason == "MigrationComplete" else "disable"
        return self._begin(
            f"{verb} {item.name}",
            lambda **kw: self.sdk.replication_protected_items.begin_delete(*args, body, **kw),
            lambda: None,
        )

    def begin_complete_migration(self, item: ItemRef) -> AsrOperation[None]:
        """Complete the migration (``remove`` with ``disableProtectionReason=MigrationComplete``).

        Raises:
            AsrJobError: ASR refused it.
            AzureError: Azure refused or failed the request.
        """
        return self._remove(item, "MigrationComplete")

    def begin_disable_replication(self, item: ItemRef) -> AsrOperation[None]:
        """Stop replicating without completing a migration (``NotSpecified``).

        Raises:
            AsrJobError: ASR refused it.
            AzureError: Azure refused or failed the request.
        """
        return self._remove(item, "NotSpecified")

    def begin_purge(self, item: ItemRef) -> AsrOperation[None]:
        """Delete the protected item from the vault without cleaning up the source.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        args = self._args(item)
        return self._begin(
            f"purge {item.name}",
            lambda **kw: self.sdk.replication_protected_items.begin_purge(*args, **kw),
            lambda: None,
        )

    def list_recovery_points(self, item: ItemRef) -> list[RecoveryPoint]:
        """Return the item's recovery points, newest first.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating(f"list recovery points of {item.name}"):
            points = [
                RecoveryPoint.from_azure(p)
                for p in self.sdk.recovery_points.list_by_replication_protected_items(
                    *self._args(item)
                )
            ]
        return sorted(points, key=lambda p: (p.time is not None, p.time), reverse=True)

    def get_recovery_point(self, item: ItemRef, recovery_point: str) -> RecoveryPoint:
        """Return one recovery point of the item (by name, or by its ARM id).

        Raises:
            AzureResourceNotFoundError: The item has no such point (any more).
            AzureError: Azure refused or failed the request.
        """
        name = recovery_point.rstrip("/").rsplit("/", 1)[-1]
        with translating(f"read recovery point {name} of {item.name}"):
            raw = self.sdk.recovery_points.get(*self._args(item), name)
        return RecoveryPoint.from_azure(raw)

    def list_target_compute_sizes(self, item: ItemRef) -> list[ComputeSize]:
        """Return the Azure VM sizes ASR offers for the item.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating(f"list target compute sizes of {item.name}"):
            return [
                ComputeSize.from_azure(s)
                for s in self.sdk.target_compute_sizes.list_by_replication_protected_items(
                    *self._args(item)
                )
            ]
