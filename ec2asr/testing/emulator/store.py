"""Where the emulator keeps its vaults, and how it finds a server site by its ARM path."""

from __future__ import annotations

from ec2asr.testing.emulator.arm import ArmError
from ec2asr.testing.emulator.state import Fabric, VaultState

__all__ = ["Store"]


class Store:
    """Vaults by (subscription, resource group, name), case-insensitively."""

    def __init__(self) -> None:
        self._vaults: dict[tuple[str, str, str], VaultState] = {}

    @staticmethod
    def key(subscription_id: str, resource_group: str, name: str) -> tuple[str, str, str]:
        """The case-insensitive key of a vault."""
        return (subscription_id.lower(), resource_group.lower(), name.lower())

    def find_vault(self, subscription_id: str, resource_group: str, name: str) -> VaultState | None:
        """The vault, or None."""
        return self._vaults.get(self.key(subscription_id, resource_group, name))

    def get_vault(self, subscription_id: str, resource_group: str, name: str) -> VaultState:
        """The vault.

        Raises:
            ArmError: 404 ``ResourceNotFound`` as ARM words it.
        """
        vault = self.find_vault(subscription_id, resource_group, name)
        if vault is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                (
                    f"The Resource 'Microsoft.RecoveryServices/vaults/{name}' under resource "
                    f"group '{resource_group}' was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix"
                ),
                platform=True,
            )
        return vault

    def put_vault(self, vault: VaultState) -> None:
        """Add or replace a vault."""
        self._vaults[self.key(vault.subscription_id, vault.resource_group, vault.name)] = vault

    def vaults(self) -> list[VaultState]:
        """Every vault."""
        return list(self._vaults.values())

    def find_site(
        self, subscription_id: str, resource_group: str, site: str
    ) -> tuple[VaultState, Fabric] | None:
        """The fabric whose Microsoft.OffAzure server site is ``site`` in that resource group."""
        for (sub, rg, _), vault in self._vaults.items():
            if sub != subscription_id.lower() or rg != resource_group.lower():
                continue
            for fabric in vault.fabrics.values():
                if fabric.site_name.lower() == site.lower():
                    return vault, fabric
        return None
