"""The contract validator: read from the SDK, agreeing with Microsoft's examples, and catching
what departs from the contract (each kind of mismatch, and a wrong answer from a live emulator).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.testing.emulator import AsrEmulator
from ec2asr.testing.emulator import validation as emulator_validation
from ec2asr.testing.emulator.router import Request, Response
from tests.asr_helpers import new_emulator

from .known import known_entry
from .offazure_spec import definition
from .schema import check
from .sdk_contract import DOCUMENTED_VALUES, model_kind, operations
from .validator import ContractValidator, Mismatch, validator_of

EXAMPLES = Path(__file__).parent / "examples"
SUB, RG, VAULT = "c183865e-6077-46f2-a3b1-deb0f4f4650a", "resourceGroupPS1", "vault1"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
FABRIC = VAULT_PATH + "/replicationFabrics/cloud1"
ITEM = (
    FABRIC + "/replicationProtectionContainers/cloud_6d224fc6-f326-5d35-96de-fbf51efb3179"
    "/replicationProtectedItems/f8491e4f-817a-40dd-a90c-af773978c75b"
)
SITE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OffAzure/serverSites/site1"


def _example(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / name).read_text()))


def _exchange(
    method: str,
    path: str,
    *,
    status: int = 200,
    body: Any = None,
    answer: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    validator: ContractValidator | None = None,
) -> list[str]:
    v = validator or ContractValidator()
    mark = v.snapshot()
    q = {"api-version": "2025-08-01", **(query or {})}
    v.observe(Request(method, path, q, {}, body), Response(status, answer, dict(headers or {})))
    return [f"[{x.side}] {x.detail}" for x in v.since(mark)]


# -- read from the SDK ---------------------------------------------------------------------
def test_the_contract_is_read_out_of_both_sdks() -> None:
    ops = {op.name: op for op in operations()}
    assert sum(op.sdk == "asr" for op in ops.values()) >= 150
    assert sum(op.sdk == "vault" for op in ops.values()) >= 20
    ufo = ops["ReplicationProtectedItems_UnplannedFailover"]
    assert (ufo.method, ufo.statuses, ufo.lro, ufo.api_version) == (
        "POST",
        (200, 202),
        True,
        "2025-08-01",
    )
    assert ufo.template.endswith(
        "/replicationProtectedItems/{replicatedProtectedItemName}/unplannedFailover"
    )
    assert ufo.request_model is m.UnplannedFailoverInput
    assert ufo.response_model is m.ReplicationProtectedItem
    assert ufo.headers[202] == ("Location", "Retry-After")
    listed = ops["ReplicationProtectedItems_List"]
    assert listed.paged
    assert listed.response_model is m.ReplicationProtectedItem
    assert listed.query == {"$filter", "skipToken", "api-version"}
    remove = ops["ReplicationProtectedItems_Delete"]  # POST .../remove
    assert (remove.method, remove.statuses, remove.response_model) == ("POST", (202, 204), None)
    vault = ops["Vaults_CreateOrUpdate"]
    assert (vault.method, vault.statuses, vault.request_model.__name__) == (
        "PUT",
        (200, 201),
        "Vault",
    )


def test_models_give_wire_names_required_fields_enums_and_subtypes() -> None:
    details = model_kind(m.InMageRcmFabricSpecificDetails).ref().props()
    assert {"vmwareSiteId", "physicalSiteId", "instanceType"} <= set(details)
    assert details["physicalSiteId"].readonly
    enable = model_kind(m.InMageRcmEnableProtectionInput).ref().props()
    required = {k for k, p in enable.items() if p.required}
    assert required == {
        "fabricDiscoveryMachineId",
        "targetResourceGroupId",
        "processServerId",
        "instanceType",
    }
    assert enable["linuxLicenseType"].kind.values == frozenset(  # type: ignore[union-attr]
        {"NotSpecified", "NoLicenseType", "LinuxServer"}
    )
    fabric = model_kind(m.FabricProperties).ref()
    resolved, why = model_kind(m.FabricSpecificDetails).ref().resolve({"instanceType": "InMageRcm"})
    assert (resolved.name, why) == ("InMageRcmFabricSpecificDetails", None)
    assert "customDetails" in fabric.props()


def test_every_official_example_agrees_with_the_contract() -> None:
    """Microsoft's own examples pass: the validator reads the contract right (no false alarms)."""
    ops = {op.name: op for op in operations()}
    files = sorted(EXAMPLES.rglob("*.json"))
    bodies = 0
    for path in files:
        example = json.loads(path.read_text())
        op = ops[example["operationId"]]
        documented = {int(code) for code in example["responses"]}
        assert documented <= set(op.statuses), (path.name, documented, op.statuses)
        for code, answer in example["responses"].items():
            if "body" in answer and op.response_model and int(code) in (200, 201):
                kind: Any = model_kind(op.response_model)
                if op.paged:
                    kind = definition_page(kind)
                assert check(kind, answer["body"], request=False) == [], path.name
                bodies += 1
        if op.request_model is not None:
            sent = [v for k, v in example["parameters"].items() if isinstance(v, dict)]
            for body in sent:
                assert check(model_kind(op.request_model), body, request=True) == [], path.name
                bodies += 1
    assert len(files) == 67
    assert bodies >= 85


def definition_page(kind: Any) -> Any:
    from .validator import page_schema

    return page_schema(kind)


def test_documented_values_follow_the_sdk() -> None:
    for (model, wire), values in DOCUMENTED_VALUES.items():
        doc = getattr(m, model).__doc__ or ""
        assert all(v in doc for v in values), (model, wire)


def test_the_emulator_refuses_exactly_the_sdk_enums() -> None:
    assert {e.value for e in m.DiskAccountType} == emulator_validation.DISK_TYPES
    assert {e.value for e in m.LicenseType} == emulator_validation.LICENSE_TYPES
    assert {e.value for e in m.LinuxLicenseType} == emulator_validation.LINUX_LICENSE_TYPES


# -- what it catches ----------------------------------------------------------------------
FABRIC_BODY = _example("ReplicationFabrics_Get.json")["responses"]["200"]["body"]
INMAGE_FABRIC = {
    **FABRIC_BODY,
    "properties": {**FABRIC_BODY["properties"], "customDetails": {"instanceType": "InMageRcm"}},
}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return out


_DELETE = object()


def test_a_conforming_exchange_has_no_mismatch() -> None:
    assert _exchange("GET", FABRIC, answer=FABRIC_BODY) == []
    assert _exchange("GET", FABRIC, answer=INMAGE_FABRIC) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_with(INMAGE_FABRIC, "properties.customDetails.siteId", "x"), "unknown field"),
        (_with(INMAGE_FABRIC, "properties.customDetails.physicalSiteId", 7), "expected string"),
        (
            _with(INMAGE_FABRIC, "properties.customDetails.instanceType", "InMage9"),
            "names no subtype",
        ),
        (_with(INMAGE_FABRIC, "properties.customDetails.instanceType", _DELETE), "required"),
        (_with(INMAGE_FABRIC, "properties.healthErrorDetails", {}), "expected array"),
        (
            _with(INMAGE_FABRIC, "properties.healthErrorDetails", [{"creationTimeUtc": "today"}]),
            "not an RFC 3339 date-time",
        ),
        (
            _with(INMAGE_FABRIC, "properties.encryptionDetails.kekCertExpiryDate", "2026-01-05"),
            "not an RFC 3339 date-time",
        ),
        (None, "without the Fabric body"),
    ],
)
def test_a_wrong_response_body_is_caught(answer: Any, expected: str) -> None:
    (found,) = _exchange("GET", FABRIC, answer=answer)
    assert expected in found


def test_enum_values_are_compared_case_insensitively_and_unknown_ones_flagged() -> None:
    points = _example("RecoveryPoints_ListByReplicationProtectedItems.json")["responses"]["200"]
    body = copy.deepcopy(points["body"])
    body["value"][0]["properties"]["recoveryPointType"] = "crashconsistent"
    assert _exchange("GET", ITEM + "/recoveryPoints", answer=body) == []
    body["value"][0]["properties"]["recoveryPointType"] = "AppConsistent"
    (found,) = _exchange("GET", ITEM + "/recoveryPoints", answer=body)
    assert "'AppConsistent' is not a RecoveryPointProperties.recoveryPointType value" in found


def test_statuses_and_long_running_headers() -> None:
    assert "status 201" in _exchange("GET", FABRIC, status=201, answer=FABRIC_BODY)[0]
    ufo = {
        "properties": {
            "providerSpecificDetails": {"instanceType": "InMageRcm", "performShutdown": "false"}
        }
    }
    post = ("POST", ITEM + "/unplannedFailover")
    assert (
        _exchange(
            *post, status=202, body=ufo, headers={"Location": "http://x/op", "Retry-After": "0"}
        )
        == []
    )
    assert _exchange(*post, status=202, body=ufo, headers={"Retry-After": "0"}) == [
        "[response] 202 without the Location header"
    ]
    found = _exchange(
        *post, status=202, body=ufo, headers={"Location": "http://x/op", "Retry-After": "soon"}
    )
    assert found == ["[response] Retry-After 'soon' is not an integer (seconds)"]
    found = _exchange(*post, status=202, body=ufo, answer={}, headers={"Location": "http://x/op"})
    assert found == [
        "[response] a 202 body where ReplicationProtectedItems_UnplannedFailover defines none"
    ]


def test_requests_are_checked_against_the_input_model() -> None:
    post = ("POST", ITEM + "/unplannedFailover")
    accepted = {"status": 202, "headers": {"Location": "http://x/op"}}
    missing = {"properties": {"providerSpecificDetails": {"instanceType": "InMageRcm"}}}
    (found,) = _exchange(*post, body=missing, **accepted)
    assert "[request]" in found
    assert "performShutdown: required field" in found
    unknown = {"properties": {"direction": "PrimaryToRecovery"}}
    (found,) = _exchange(*post, body=unknown, **accepted)
    assert "$.properties.direction: unknown field" in found
    (found,) = _exchange(*post, **accepted)
    assert "no body; the SDK sends a UnplannedFailoverInput" in found
    (found,) = _exchange("GET", FABRIC, answer=FABRIC_BODY, query={"api-version": "2016-08-10"})
    assert "api-version '2016-08-10'" in found
    (found,) = _exchange("GET", FABRIC, answer=FABRIC_BODY, query={"$top": "3"})
    assert "unknown query parameters ['$top']" in found
    assert _exchange("GET", FABRIC, answer=FABRIC_BODY, query={"$filter": "x"}) == []


def test_read_only_fields_may_not_be_sent() -> None:
    path = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/v2"
    )
    body = {"location": "eastus", "sku": {"name": "Standard"}, "properties": {}}
    (vault_op,) = [op for op in operations() if op.name == "Vaults_CreateOrUpdate"]
    query = {"api-version": vault_op.api_version}
    answer = {**body, "id": path, "name": "v2"}
    assert _exchange("PUT", path, body=body, status=201, answer=answer, query=query) == []
    (found,) = _exchange(
        "PUT", path, body={**body, "id": path}, status=201, answer=answer, query=query
    )
    assert "$.id: read-only field of Vault sent in a request" in found


def test_errors_must_carry_arms_envelope() -> None:
    good = {
        "error": {
            "code": "BadRequest",
            "message": "no",
            "details": [
                {"code": "78186", "message": "m", "possibleCauses": "c", "recommendedAction": "a"}
            ],
        }
    }
    assert _exchange("GET", FABRIC, status=400, answer=good) == []
    assert _exchange("GET", FABRIC, status=404) == ["[response] 404 without ARM's error envelope"]
    (found,) = _exchange("GET", FABRIC, status=400, answer={"error": {"code": "X"}})
    assert "message: required field" in found
    found = _exchange("GET", FABRIC, status=500, answer={"code": "X", "message": "m"})
    assert found == [
        "[response] $.code: unknown field (not in ErrorResponse)",
        "[response] $.message: unknown field (not in ErrorResponse)",
        "[response] $.error: required field of ErrorResponse is missing",
    ]


def test_polling_urls_are_learned_from_the_headers_and_validated() -> None:
    v = ContractValidator()
    status_url = (
        f"http://127.0.0.1:1{VAULT_PATH}/replicationOperationStatus/op1?api-version=2025-08-01"
    )
    result_url = f"http://127.0.0.1:1{ITEM}/operationresults/op1?api-version=2025-08-01"
    ufo = {
        "properties": {
            "providerSpecificDetails": {"instanceType": "InMageRcm", "performShutdown": "false"}
        }
    }
    headers = {"Azure-AsyncOperation": status_url, "Location": result_url, "Retry-After": "1"}
    assert (
        _exchange(
            "POST", ITEM + "/unplannedFailover", status=202, body=ufo, headers=headers, validator=v
        )
        == []
    )
    status_path = VAULT_PATH + "/replicationOperationStatus/op1"
    running = {
        "id": "x",
        "name": "op1",
        "status": "InProgress",
        "startTime": "2026-01-05T08:00:00Z",
    }
    assert _exchange("GET", status_path, answer=running, validator=v) == []
    found = _exchange("GET", status_path, answer={**running, "status": "Cancelled"}, validator=v)
    assert found == ["[response] 'Cancelled' is a job state; ARM operations say 'Canceled'"]
    found = _exchange("GET", status_path, answer={**running, "state": "x"}, validator=v)
    assert "unknown field (not in AsyncOperationStatus)" in found[0]
    result_path = ITEM + "/operationresults/op1"
    assert (
        _exchange("GET", result_path, status=202, headers={"Location": result_url}, validator=v)
        == []
    )
    item = _example("ReplicationProtectedItems_Get.json")["responses"]["200"]["body"]
    assert _exchange("GET", result_path, answer=item, validator=v) == []
    found = _exchange("GET", result_path, answer={**item, "etag": "1"}, validator=v)
    assert "unknown field (not in ReplicationProtectedItem)" in found[0]


def test_offazure_answers_follow_the_2023_06_06_definitions() -> None:
    machine = {
        "id": SITE + "/machines/m1",
        "name": "m1",
        "type": "Microsoft.OffAzure/serverSites/machines",
        "properties": {
            "displayName": "web01",
            "allocatedMemoryInMb": 4096.0,
            "operatingSystemDetails": {"osType": "LinuxGuest", "osName": "Ubuntu"},
            "guestOsDetails": {"osType": "LinuxGuest"},
            "networkAdapters": [{"nicId": "eth0", "ipAddressList": ["10.0.0.5"]}],
            "disks": [{"id": "/dev/xvda", "maxSizeInBytes": 8589934592, "lun": 0}],
        },
    }
    query = {"api-version": "2023-06-06"}
    page = {"value": [machine], "nextLink": None}
    assert _exchange("GET", SITE + "/machines", answer=page, query=query) == []
    wrong = _with(machine, "properties.allocatedMemoryInMB", 4096.0)
    (found,) = _exchange("GET", SITE + "/machines/m1", answer=wrong, query=query)
    assert "allocatedMemoryInMB: unknown field (not in ServerProperties)" in found
    (found,) = _exchange("GET", SITE + "/machines", answer={"nextLink": None}, query=query)
    assert "$.value: required field of ServerListResult is missing" in found
    (found,) = _exchange(
        "GET", SITE + "/machines", answer=page, query={"api-version": "2025-08-01"}
    )
    assert "api-version '2025-08-01', the contract's is '2023-06-06'" in found
    assert check(definition("ServerSiteResource"), {"name": "s"}, request=False)[0].message == (
        "required field of ServerSiteResource is missing"
    )


def test_unknown_paths_may_only_be_refused() -> None:
    path = VAULT_PATH + "/replicationWidgets"
    refusal = {"error": {"code": "InvalidResourceType", "message": "no"}}
    assert _exchange("GET", path, status=404, answer=refusal) == []
    (found,) = _exchange("GET", path, answer={"value": []})
    assert "no operation of the SDK or the OffAzure spec is GET" in found


def test_known_mismatches_are_matched_by_their_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from . import known

    assert known_entry(Mismatch("X", "GET", "/p", 200, "response", "$.x: unknown field")) is None
    entry = known.Known(re.compile(r"^\$\.x: unknown field"), "someone", "not yet")
    monkeypatch.setattr(known, "KNOWN", (entry,))
    assert (
        known.known_entry(Mismatch("X", "GET", "/p", 200, "response", "$.x: unknown field"))
        == entry
    )
    assert (
        known.known_entry(Mismatch("X", "GET", "/p", 200, "response", "$.y: unknown field")) is None
    )


# -- a live emulator -------------------------------------------------------------------------
def _corrupt(request: Request, response: Response) -> None:
    """Answer every fabric with a misspelt field, as a wrong emulator would."""
    if request.method == "GET" and request.path.rstrip("/").endswith("/replicationFabrics"):
        for fabric in response.body["value"]:
            fabric["properties"]["customDetails"]["physicalSiteID"] = "typo"


def test_a_deliberately_wrong_answer_from_a_live_emulator_is_caught() -> None:
    emulator: AsrEmulator = new_emulator()
    try:
        suite = validator_of(emulator)
        emulator.exchange_hooks.remove(suite.observe)  # this test owns what it provokes
        mine = ContractValidator()
        emulator.exchange_hooks[:0] = [_corrupt]
        mine.attach(emulator)
        client = emulator.asr_management_client(retry_total=0)
        fabrics = list(client.replication_fabrics.list(emulator.resource_group, emulator.vault))
        assert fabrics  # the SDK loaded it: only the validator notices
        list(client.replication_policies.list(emulator.resource_group, emulator.vault))
    finally:
        emulator.stop()
    assert mine.exchanges == 2
    (found,) = mine.mismatches
    assert found.operation == "ReplicationFabrics_List"
    assert (
        "customDetails.physicalSiteID: unknown field (not in InMageRcmFabricSpecificDetails)"
        in (found.detail)
    )
