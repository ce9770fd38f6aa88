"""ARM conventions: bearer token, api-version, error envelope, id casing, headers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import asr_code


def _raw(
    emulator: AsrEmulator, path: str, *, token: str | None = "t", method: str = "GET"
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(f"{emulator.base_url}{path}", method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def _vault_path(emulator: AsrEmulator) -> str:
    return (
        f"/subscriptions/{emulator.subscription_id}/resourceGroups/{emulator.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emulator.vault}"
    )


def test_request_without_bearer_token_is_401(emulator: AsrEmulator) -> None:
    status, headers, body = _raw(
        emulator, _vault_path(emulator) + "/replicationFabrics?api-version=2025-08-01", token=None
    )
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_any_bearer_token_is_accepted(emulator: AsrEmulator) -> None:
    status, _, body = _raw(
        emulator, _vault_path(emulator) + "/replicationFabrics?api-version=2025-08-01", token="x"
    )
    assert status == 200
    assert len(body["value"]) == 1


def test_sdk_without_token_gets_client_authentication_error(emulator: AsrEmulator) -> None:
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

    client = SiteRecoveryManagementClient(
        emulator.credential,
        emulator.subscription_id,
        base_url=emulator.base_url,
        authentication_policy=SansIOHTTPPolicy(),
        retry_total=0,
    )
    with pytest.raises(ClientAuthenticationError):
        list(client.replication_fabrics.list(emulator.resource_group, emulator.vault))


@pytest.mark.contract_refused_requests("no api-version")
def test_missing_api_version_is_400(emulator: AsrEmulator) -> None:
    status, _, body = _raw(emulator, _vault_path(emulator) + "/replicationFabrics")
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.contract_refused_requests("a malformed api-version")
def test_malformed_api_version_is_400(emulator: AsrEmulator) -> None:
    status, _, body = _raw(
        emulator, _vault_path(emulator) + "/replicationFabrics?api-version=latest"
    )
    assert status == 400
    assert body["error"]["code"] == "InvalidApiVersionParameter"


def test_missing_vault_is_404_in_arm_envelope(emulator: AsrEmulator, client: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        list(client.replication_fabrics.list(emulator.resource_group, "no-such-vault"))
    assert info.value.error is not None
    assert asr_code(info.value) == "ResourceNotFound"
    assert "no-such-vault" in info.value.error.message


def test_unknown_subscription_is_404_never_missing_subscription_registration(
    emulator: AsrEmulator,
) -> None:
    path = (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg"
        "/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics?api-version=2025-08-01"
    )
    status, _, body = _raw(emulator, path)
    assert status == 404
    assert body["error"]["code"] != "MissingSubscriptionRegistration"


def test_unknown_path_is_404_and_wrong_method_405(emulator: AsrEmulator) -> None:
    status, _, body = _raw(
        emulator, _vault_path(emulator) + "/replicationWidgets?api-version=2025-08-01"
    )
    assert status == 404
    assert "error" in body
    status, _, body = _raw(
        emulator,
        _vault_path(emulator) + "/replicationFabrics?api-version=2025-08-01",
        method="DELETE",
    )
    assert status == 405


def test_paths_are_case_insensitive_and_ids_use_capital_subscriptions(
    emulator: AsrEmulator,
) -> None:
    path = (
        _vault_path(emulator).upper().replace("SUBSCRIPTIONS", "Subscriptions")
        + "/REPLICATIONFABRICS"
    )
    status, headers, body = _raw(emulator, path + "?api-version=2025-08-01")
    assert status == 200
    assert body["value"][0]["id"].startswith("/Subscriptions/")
    # ASR puts an Azure-AsyncOperation header even on synchronous answers.
    assert "/Subscriptions/" in headers["Azure-AsyncOperation"]
    assert "/replicationOperationStatus/" in headers["Azure-AsyncOperation"]
    operation = headers["Azure-AsyncOperation"].split(emulator.base_url, 1)[1]
    status, _, body = _raw(emulator, operation)
    assert (status, body["status"]) == (200, "Succeeded")


@pytest.mark.contract_refused_requests("a body that is not JSON")
def test_invalid_json_body_is_400(emulator: AsrEmulator) -> None:
    request = urllib.request.Request(
        f"{emulator.base_url}{_vault_path(emulator)}/replicationPolicies/p?api-version=2025-08-01",
        method="PUT",
        data=b"{not json",
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["code"] == "InvalidRequestContent"
