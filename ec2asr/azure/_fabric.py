"""Vault, appliance fabric, discovered machines, policies and container mappings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.azure._base import ClientBase
from ec2asr.azure._errors import answer_may_be_lost, translating
from ec2asr.azure.models import (
    ApplianceFabric,
    AppliancePeer,
    AsrPolicy,
    ContainerMapping,
    DiscoveredMachine,
    RunAsAccount,
    Vault,
)
from ec2asr.errors import (
    AzureConflictError,
    AzureError,
    AzureResourceNotFoundError,
    InvalidInputError,
)
from ec2asr.settings import ReplicationPolicy

if TYPE_CHECKING:
    from ec2asr.azure.items import AsrJob

OFFAZURE_API_VERSION = "2023-06-06"
"""The ``Microsoft.OffAzure`` API version ec2asr reads discovered machines with."""

AZURE_CONTAINER = "Microsoft Azure"
"""ASR's name for the Azure side of an InMageRcm container mapping."""

PROVIDER = "InMageRcm"


POLICY_SCENARIOS = frozenset({"AddProtectionProfile"})
MAPPING_SCENARIOS = frozenset({"ConfigureProtection"})
_LOST_ANSWER_WINDOW = timedelta(days=1)
T = TypeVar("T")


class _JobReader(Protocol):
    def list_jobs(
        self, *, start_time: datetime | None = None, end_time: datetime | None = None
    ) -> Iterator[AsrJob]: ...

    def get_job(self, name: str) -> AsrJob: ...


class FabricOperations(ClientBase):
    """Vault, appliance, discovery, policy and mapping operations."""

    # -- vault -----------------------------------------------------------------------------

    def get_vault(self) -> Vault:
        """Return the Recovery Services vault.

        Raises:
            AzureResourceNotFoundError: The vault does not exist.
            AzureError: Azure refused or failed the request.
        """
        with translating(f"read vault {self.vault}"):
            vault = self.vaults_sdk.vaults.get(self.resource_group, self.vault)
        return Vault.from_azure(vault, resource_group=self.resource_group)

    def ensure_vault(self, location: str) -> Vault:
        """Return the vault, creating it (Standard SKU) in ``location`` when it does not exist.

        Idempotent: an existing vault is returned unchanged, wherever it is.

        Raises:
            InvalidInputError: When ``location`` is empty.
            AzureError: Azure refused or failed the request.
        """
        if not location:
            raise InvalidInputError("a location is needed to create a vault")
        try:
            return self.get_vault()
        except AzureResourceNotFoundError:
            pass
        from azure.mgmt.recoveryservices import models as rsm

        body = rsm.Vault(
            location=location,
            sku=rsm.Sku(name="Standard"),
            properties=rsm.VaultProperties(public_network_access="Enabled"),
        )
        with translating(f"create vault {self.vault}"):
            poller = self.vaults_sdk.vaults.begin_create_or_update(
                self.resource_group, self.vault, body, polling=False
            )
            poller.result()
        for _ in range(120):
            with translating(f"read vault {self.vault}"):
                raw = self.vaults_sdk.vaults.get(self.resource_group, self.vault)
            state = getattr(getattr(raw, "properties", None), "provisioning_state", "Succeeded")
            if state in (None, "Succeeded"):
                return Vault.from_azure(raw, resource_group=self.resource_group)
            if state in ("Failed", "Canceled"):
                raise AzureError(f"creating vault {self.vault} ended {state}")
            self._sleep(self.polling_interval)
        raise AzureError(f"vault {self.vault} was not provisioned in time")

    # -- appliance fabric ------------------------------------------------------------------

    def list_fabrics(self) -> list[ApplianceFabric]:
        """Return the vault's InMageRcm fabrics (one per registered appliance site).

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating("list replication fabrics"):
            fabrics = list(self.sdk.replication_fabrics.list(*self._rv))
        out = []
        for fabric in fabrics:
            details = getattr(getattr(fabric, "properties", None), "custom_details", None)
            if getattr(details, "instance_type", None) == PROVIDER:
                out.append(ApplianceFabric.from_azure(fabric))
        return out

    def get_appliance_fabric(self, name: str | None = None) -> ApplianceFabric:
        """Return the InMageRcm fabric (the one named ``name``, or the only one), with appliances.

        Raises:
            AzureResourceNotFoundError: No appliance is registered to the vault (or none named so).
            InvalidInputError: Several are registered and ``name`` was not given.
            AzureError: Azure refused or failed the request.
        """
        fabrics = self.list_fabrics()
        if name is not None:
            fabrics = [f for f in fabrics if f.name == name or f.friendly_name == name]
        if not fabrics:
            raise AzureResourceNotFoundError(
                f"no replication appliance (InMageRcm fabric) is registered to vault {self.vault}"
                + (f" under the name {name!r}" if name else "")
                + "; deploy and register the replication appliance first"
            )
        if len(fabrics) > 1:
            names = ", ".join(sorted(f.name for f in fabrics))
            raise InvalidInputError(f"several appliance fabrics are registered ({names}); name one")
        fabric = fabrics[0]
        every = tuple(self.list_appliances())
        # Appliances name their fabric in their id; when none does, they all serve this one.
        appliances = (
            tuple(a for a in every if not a.id or fabric.name.lower() in a.id.lower()) or every
        )
        return ApplianceFabric(
            id=fabric.id,
            name=fabric.name,
            friendly_name=fabric.friendly_name,
            physical_site_id=fabric.physical_site_id,
            process_servers=fabric.process_servers,
            appliances=tuple(appliances),
            source_agent_identity=fabric.source_agent_identity,
        )

    def list_appliances(self) -> list[AppliancePeer]:
        """Return every replication appliance registered to the vault.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating("list replication appliances"):
            items = list(self.sdk.replication_appliances.list(*self._rv))
        out: list[AppliancePeer] = []
        for item in items:
            details = getattr(getattr(item, "properties", None), "provider_specific_details", None)
            for appliance in getattr(details, "appliances", None) or ():
                out.append(AppliancePeer.from_azure(appliance))
        return out

    def get_protection_container(self, fabric_name: str) -> str:
        """Return the name of the fabric's protection container.

        Raises:
            AzureResourceNotFoundError: The fabric has no container yet.
            AzureError: Azure refused or failed the request.
        """
        with translating(f"list protection containers of {fabric_name}"):
            containers = list(
                self.sdk.replication_protection_containers.list_by_replication_fabrics(
                    *self._rv, fabric_name
                )
            )
        if not containers:
            raise AzureResourceNotFoundError(f"fabric {fabric_name} has no protection container")
        return str(containers[0].name)

    # -- discovered machines (Microsoft.OffAzure) ------------------------------------------

    def list_discovered_machines(self, fabric: ApplianceFabric) -> Iterator[DiscoveredMachine]:
        """Yield the machines the appliance discovered (agent registered, or added for push).

        Raises:
            AzureError: Azure refused or failed the request, or the fabric names no site.
        """
        if not fabric.physical_site_id:
            raise AzureError(f"fabric {fabric.name} names no discovery site (physicalSiteId)")
        url = f"{fabric.physical_site_id}/machines?api-version={OFFAZURE_API_VERSION}"
        for body in self._list_json(url, what="list discovered machines"):
            yield DiscoveredMachine.from_azure(body)

    def list_run_as_accounts(self, fabric: ApplianceFabric) -> list[RunAsAccount]:
        """Return the credentials added on the appliance (for push installation).

        Raises:
            AzureError: Azure refused or failed the request.
        """
        if not fabric.physical_site_id:
            raise AzureError(f"fabric {fabric.name} names no discovery site (physicalSiteId)")
        url = f"{fabric.physical_site_id}/runAsAccounts?api-version={OFFAZURE_API_VERSION}"
        return [
            RunAsAccount.from_azure(b) for b in self._list_json(url, what="list run-as accounts")
        ]

    # -- policy and container mapping -------------------------------------------------------

    def get_policy(self, name: str) -> AsrPolicy:
        """Return a replication policy.

        Raises:
            AzureResourceNotFoundError: It does not exist.
            AzureError: Azure refused or failed the request.
        """
        with translating(f"read replication policy {name}"):
            return AsrPolicy.from_azure(self.sdk.replication_policies.get(*self._rv, name))

    def list_policies(self) -> list[AsrPolicy]:
        """Return every replication policy of the vault.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating("list replication policies"):
            return [AsrPolicy.from_azure(p) for p in self.sdk.replication_policies.list(*self._rv)]

    @staticmethod
    def policy_matches(existing: AsrPolicy, wanted: ReplicationPolicy) -> bool:
        """True when an existing policy has exactly the wanted InMageRcm settings."""
        return (
            existing.instance_type == PROVIDER
            and existing.recovery_point_history_minutes == wanted.recovery_point_history_minutes
            and existing.app_consistent_frequency_minutes == wanted.app_consistent_frequency_minutes
            and ((existing.multi_vm_sync or "").lower() in ("true", "enabled"))
            is wanted.multi_vm_sync
        )

    def ensure_policy(self, policy: ReplicationPolicy) -> AsrPolicy:
        """Return the InMageRcm policy named ``policy.name``, creating it when missing.

        Raises:
            AzureConflictError: A same-named policy exists with different settings.
            AzureError: Azure refused or failed the request.
        """
        try:
            existing = self.get_policy(policy.name)
        except AzureResourceNotFoundError:
            existing = None
        if existing is not None:
            if not self.policy_matches(existing, policy):
                raise AzureConflictError(
                    f"replication policy {policy.name!r} exists with different settings "
                    f"(history {existing.recovery_point_history_minutes} min, app-consistent "
                    f"{existing.app_consistent_frequency_minutes} min, provider "
                    f"{existing.instance_type}); choose another name or align the settings"
                )
            return existing
        body = m.CreatePolicyInput(
            properties=m.CreatePolicyInputProperties(
                provider_specific_input=m.InMageRcmPolicyCreationInput(
                    recovery_point_history_in_minutes=policy.recovery_point_history_minutes,
                    crash_consistent_frequency_in_minutes=policy.crash_consistent_frequency_minutes,
                    app_consistent_frequency_in_minutes=policy.app_consistent_frequency_minutes,
                    enable_multi_vm_sync="True" if policy.multi_vm_sync else "False",
                )
            )
        )
        return self._create_once(
            f"create replication policy {policy.name}",
            lambda **kw: self.sdk.replication_policies.begin_create(
                *self._rv, policy.name, body, **kw
            ),
            lambda: self.get_policy(policy.name),
            scenarios=POLICY_SCENARIOS,
            target_name=policy.name,
        )

    def _mapping_name(self, container_name: str, policy: AsrPolicy) -> str:
        return f"{container_name}-{policy.name}"[:80]

    def list_container_mappings(
        self, fabric_name: str, container_name: str
    ) -> list[ContainerMapping]:
        """Return the container's mappings.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        ops = self.sdk.replication_protection_container_mappings
        with translating(f"list container mappings of {container_name}"):
            return [
                ContainerMapping.from_azure(x)
                for x in ops.list_by_replication_protection_containers(
                    *self._rv, fabric_name, container_name
                )
            ]

    def ensure_container_mapping(
        self, fabric_name: str, container_name: str, policy: AsrPolicy, *, name: str | None = None
    ) -> ContainerMapping:
        """Return the mapping of ``container_name`` to ``policy``, creating it when missing.

        Raises:
            AzureConflictError: A same-named mapping exists for another policy.
            AzureError: Azure refused or failed the request.
        """
        mapping_name = name or self._mapping_name(container_name, policy)
        for existing in self.list_container_mappings(fabric_name, container_name):
            same_policy = (existing.policy_id or "").lower() == policy.id.lower()
            if existing.name == mapping_name and not same_policy:
                raise AzureConflictError(
                    f"container mapping {mapping_name!r} exists for another policy "
                    f"({existing.policy_id})"
                )
            if same_policy:
                return existing
        body = m.CreateProtectionContainerMappingInput(
            properties=m.CreateProtectionContainerMappingInputProperties(
                target_protection_container_id=AZURE_CONTAINER,
                policy_id=policy.id,
                provider_specific_input=m.ReplicationProviderSpecificContainerMappingInput(
                    instance_type="ReplicationProviderSpecificContainerMappingInput"
                ),
            )
        )
        ops = self.sdk.replication_protection_container_mappings

        def fetch() -> ContainerMapping:
            with translating(f"read container mapping {mapping_name}"):
                return ContainerMapping.from_azure(
                    ops.get(*self._rv, fabric_name, container_name, mapping_name)
                )

        try:
            return self._create_once(
                f"map container {container_name} to policy {policy.name}",
                lambda **kw: ops.begin_create(
                    *self._rv, fabric_name, container_name, mapping_name, body, **kw
                ),
                fetch,
                scenarios=MAPPING_SCENARIOS,
                target_name=container_name,
            )
        except AzureConflictError:
            # Someone mapped the container meanwhile (another host of the team, a person):
            # ASR answers the conflict; a mapping to this policy is what was wanted.
            for existing in self.list_container_mappings(fabric_name, container_name):
                if (existing.policy_id or "").lower() == policy.id.lower():
                    return existing
            raise

    # -- a create whose answer was lost ---------------------------------------------------

    def _create_once(
        self,
        what: str,
        begin: Callable[..., Any],
        fetch: Callable[[], T],
        *,
        scenarios: frozenset[str],
        target_name: str,
    ) -> T:
        """Create a vault-level resource and wait for it. When the answer to the create was lost
        (the connection broke after it was sent, or 5xx), ASR may be creating it anyway: the job
        it started is found and waited for, and nothing is written a second time.

        Raises:
            AzureError: The create was refused, or failed and no job shows it was accepted.
            AsrJobError: The create's job failed.
        """
        try:
            op = self._begin(what, begin, fetch)
        except AzureError as exc:
            if not answer_may_be_lost(exc):
                raise
            jobs = cast("_JobReader", self)  # the client's PlanOperations reads jobs
            since = datetime.now(timezone.utc) - _LOST_ANSWER_WINDOW
            started = [
                job
                for job in jobs.list_jobs(start_time=since)
                if job.scenario_name in scenarios
                and job.target_object_name == target_name
                and job.state not in ("Failed", "Cancelled")
            ]
            if not started:
                raise
            job = max(started, key=lambda j: j.start_time or since)
            while not job.is_terminal:
                self._sleep(max(1.0, self.polling_interval))
                job = jobs.get_job(job.name)
            if not job.succeeded:
                raise job.to_error() from exc
            return fetch()
        return op.result()
