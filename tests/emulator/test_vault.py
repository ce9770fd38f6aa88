"""Recovery Services vaults through the real azure-mgmt-recoveryservices client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ec2asr.testing.emulator import AsrEmulator, SimulatedClock
from tests.asr_helpers import START, asr_code


@pytest.fixture
def bare() -> Iterator[AsrEmulator]:
    emu = AsrEmulator(create_vault=False, clock=SimulatedClock(START, speed=0)).start()
    yield emu
    emu.stop()


def _vault_body() -> dict[str, Any]:
    return {
        "location": "West US",
        "sku": {"name": "Standard"},
        "identity": {"type": "SystemAssigned"},
    }


def test_create_then_get_vault(bare: AsrEmulator) -> None:
    client = bare.recovery_services_client()
    statuses: list[int] = []
    vault = client.vaults.begin_create_or_update(
        bare.resource_group,
        bare.vault,
        _vault_body(),
        raw_response_hook=lambda r: statuses.append(r.http_response.status_code),
    ).result()
    assert statuses[0] == 201
    assert vault.location == "westus"
    assert vault.sku.name == "RS0"
    assert vault.sku.tier == "Standard"
    assert vault.properties.provisioning_state == "Succeeded"
    assert vault.identity.principal_id
    assert vault.id.startswith("/subscriptions/")
    fetched = client.vaults.get(bare.resource_group, bare.vault)
    assert fetched.as_dict() == vault.as_dict()


def test_second_put_updates_with_200(bare: AsrEmulator) -> None:
    client = bare.recovery_services_client()
    client.vaults.begin_create_or_update(bare.resource_group, bare.vault, _vault_body()).result()
    statuses: list[int] = []
    body = {**_vault_body(), "tags": {"owner": "ops"}}
    vault = client.vaults.begin_create_or_update(
        bare.resource_group,
        bare.vault,
        body,
        raw_response_hook=lambda r: statuses.append(r.http_response.status_code),
    ).result()
    assert statuses[0] == 200
    assert vault.tags == {"owner": "ops"}


@pytest.mark.contract_refused_requests("vault inputs without location or with an unknown sku")
def test_vault_needs_location_and_known_sku(bare: AsrEmulator) -> None:
    client = bare.recovery_services_client(retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        client.vaults.begin_create_or_update(
            bare.resource_group, bare.vault, {"sku": {"name": "Standard"}}
        )
    assert asr_code(info.value) == "LocationRequired"
    with pytest.raises(HttpResponseError) as info:
        client.vaults.begin_create_or_update(
            bare.resource_group, bare.vault, {"location": "eastus", "sku": {"name": "Gold"}}
        )
    assert asr_code(info.value) == "InvalidSkuName"


def test_missing_vault_404_and_lists(bare: AsrEmulator) -> None:
    client = bare.recovery_services_client(retry_total=0)
    with pytest.raises(ResourceNotFoundError):
        client.vaults.get(bare.resource_group, bare.vault)
    client.vaults.begin_create_or_update(bare.resource_group, bare.vault, _vault_body()).result()
    names = [v.name for v in client.vaults.list_by_resource_group(bare.resource_group)]
    assert names == [bare.vault]
    assert [v.name for v in client.vaults.list_by_subscription_id()] == [bare.vault]


def test_asr_calls_need_the_vault_and_an_appliance(bare: AsrEmulator) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        bare.register_appliance("appliance01", "10.0.0.4")
    bare.recovery_services_client().vaults.begin_create_or_update(
        bare.resource_group, bare.vault, _vault_body()
    ).result()
    asr = bare.asr_management_client()
    assert list(asr.replication_fabrics.list(bare.resource_group, bare.vault)) == []
    bare.register_appliance("appliance01", "10.0.0.4")
    assert len(list(asr.replication_fabrics.list(bare.resource_group, bare.vault))) == 1
