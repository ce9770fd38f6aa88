"""The appliance and agent-registration part of :class:`AsrEmulator`'s public API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import datetime

from ec2asr._secret import Secret
from ec2asr.testing.emulator import agents, fabrics, offazure
from ec2asr.testing.emulator.clock import SimulatedClock
from ec2asr.testing.emulator.models import ApplianceInfo, MachineSpec, RegistrationEvent
from ec2asr.testing.emulator.state import Appliance, Fabric, VaultState
from ec2asr.testing.emulator.store import Store

__all__ = ["ApplianceMixin"]


class ApplianceMixin:
    """Registering the appliance, source machines (manual and push) and their agents."""

    subscription_id: str
    resource_group: str
    vault: str
    clock: SimulatedClock
    lock: threading.RLock
    store: Store
    _registrations: list[RegistrationEvent]

    # -- the vault's appliance ------------------------------------------------------------
    def _vault(self) -> VaultState:
        vault = self.store.find_vault(self.subscription_id, self.resource_group, self.vault)
        if vault is None:
            raise ValueError(f"the vault '{self.vault}' does not exist yet: create it first")
        return vault

    def _fabric(self) -> Fabric:
        fabric = next(iter(self._vault().fabrics.values()), None)
        if fabric is None:
            raise ValueError(
                "no replication appliance is registered: call register_appliance() first"
            )
        return fabric

    def register_appliance(
        self,
        name: str = "ec2asr-appliance",
        private_ip: str = "10.0.0.4",
        *,
        instance_id: str | None = None,
        security_group_ids: Iterable[str] = (),
        appliance_id: str | None = None,
        fabric_name: str | None = None,
        container_name: str | None = None,
    ) -> ApplianceInfo:
        """Register a replication appliance with the vault (creates the InMageRcm fabric).

        Raises:
            ValueError: When the vault does not exist.
        """
        info = ApplianceInfo(
            name=name,
            private_ip=private_ip,
            appliance_id=appliance_id
            or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.vault}/{name}")),
            instance_id=instance_id,
            security_group_ids=tuple(security_group_ids),
        )
        with self.lock:
            agents.register_appliance(
                self._vault(),
                info,
                self.clock.now(),
                fabric_name=fabric_name,
                container_name=container_name,
            )
        return info

    @property
    def appliance(self) -> ApplianceInfo:
        """The first registered appliance.

        Raises:
            ValueError: When none is registered.
        """
        return next(iter(self._fabric().appliances.values())).info

    def _appliance(self) -> Appliance:
        return next(iter(self._fabric().appliances.values()))

    def mobility_configuration(self) -> Secret:
        """The appliance-generated Mobility service configuration (a secret)."""
        return self._appliance().mobility_config

    @property
    def fabric_name(self) -> str:
        """The InMageRcm fabric's name."""
        return self._fabric().name

    @property
    def container_name(self) -> str:
        """The fabric's protection container."""
        return next(iter(self._fabric().containers.values())).name

    @property
    def site_id(self) -> str:
        """The fabric's ``physicalSiteId`` (Microsoft.OffAzure server site)."""
        return fabrics.site_id(self._vault(), self._fabric())

    def register_machine(self, spec: MachineSpec, *, fabric_name: str | None = None) -> str:
        """A Mobility agent registered: the machine appears in the site (of the first fabric,
        or of ``fabric_name``'s). Returns its ARM id.

        Raises:
            ValueError: No appliance is registered, or no fabric has that name.
        """
        with self.lock:
            now = self.clock.now()
            fabric = self._fabric()
            if fabric_name is not None:
                named = self._vault().fabrics.get(fabric_name.lower())
                if named is None:
                    raise ValueError(f"no fabric is named {fabric_name!r}")
                fabric = named
            machine = agents.register_machine(fabric, spec, now)
            self.record_registration(
                spec.instance_id, "manual", True, "Mobility agent registered", now
            )
            return offazure.machine_id(self._vault(), fabric, machine)

    def add_push_servers(
        self, specs: Iterable[MachineSpec], *, account_name: str, credentials_valid: bool = True
    ) -> str:
        """The appliance-side "add servers with this credential". Returns the run-as account id."""
        with self.lock:
            fabric = self._fabric()
            account = agents.add_push_servers(
                fabric,
                specs,
                account_name=account_name,
                credentials_valid=credentials_valid,
                now=self.clock.now(),
            )
            return offazure.run_as_account_id(self._vault(), fabric, account)

    def run_configurator(
        self, spec: MachineSpec, configuration: str | None, *, command_id: str | None = None
    ) -> RegistrationEvent:
        """The Mobility configurator ran on ``spec`` with some configuration text: registers the
        machine when it is the appliance's configuration, else records why not."""
        with self.lock:
            now = self.clock.now()
            reason = agents.check_configuration(self._appliance(), configuration)
            if reason is None:
                agents.register_machine(self._fabric(), spec, now)
                return self.record_registration(
                    spec.instance_id, "manual", True, "Mobility agent registered", now, command_id
                )
            return self.record_registration(
                spec.instance_id, "manual", False, reason, now, command_id
            )

    def machine_id(self, instance_id: str) -> str:
        """The OffAzure ARM id of a discovered machine.

        Raises:
            KeyError: When the appliance has not discovered it.
        """
        with self.lock:
            machine = self._fabric().machine_by_instance(instance_id)
            if machine is None:
                raise KeyError(instance_id)
            return offazure.machine_id(self._vault(), self._fabric(), machine)

    def record_registration(
        self,
        instance_id: str,
        method: str,
        registered: bool,
        reason: str,
        when: datetime,
        command_id: str | None = None,
    ) -> RegistrationEvent:
        """Append to the registration log."""
        event = RegistrationEvent(instance_id, method, registered, reason, when, command_id)
        self._registrations.append(event)
        return event

    @property
    def registration_log(self) -> list[RegistrationEvent]:
        """Every registration attempt, in order."""
        return list(self._registrations)

    @property
    def registration_failures(self) -> list[RegistrationEvent]:
        """The attempts that did not register."""
        return [e for e in self._registrations if not e.registered]
