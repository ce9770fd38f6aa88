"""Microsoft.OffAzure server-site machines and run-as accounts, via the ASR client's pipeline."""

from __future__ import annotations

from typing import Any

from azure.core.rest import HttpRequest

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import linux_spec, windows_spec


def _get(client: Any, url: str) -> Any:
    return client.send_request(HttpRequest("GET", url))


def test_machines_list_pages_with_continuation_token(emulator: AsrEmulator, client: Any) -> None:
    emulator.page_size = 2
    for index in range(1, 6):
        emulator.register_machine(linux_spec(index))
    url = f"{emulator.site_id}/machines?api-version=2023-06-06"
    names: list[str] = []
    pages = 0
    while url:
        body = _get(client, url).json()
        names += [m["properties"]["displayName"] for m in body["value"]]
        url = body.get("nextLink")
        pages += 1
        if url:
            assert "continuationToken=" in url
    assert pages == 3
    assert names == [f"web{i:02d}" for i in range(1, 6)]


def test_machine_get_site_get_and_windows_shape(emulator: AsrEmulator, client: Any) -> None:
    spec = windows_spec(disks=(60, 20))
    machine_id = emulator.register_machine(spec)
    machine = _get(client, f"{machine_id}?api-version=2023-06-06").json()
    props = machine["properties"]
    assert machine["type"] == "Microsoft.OffAzure/serversites/machines"
    assert props["operatingSystemDetails"]["osType"] == "WindowsGuest"
    assert props["disks"][0]["path"] == "\\\\.\\PHYSICALDRIVE0"
    assert props["fqdn"] == spec.hostname
    site = _get(client, f"{emulator.site_id}?api-version=2023-06-06").json()
    assert site["properties"]["applianceName"] == "appliance01"
    missing = _get(client, f"{emulator.site_id}/machines/nope?api-version=2023-06-06")
    assert missing.status_code == 404
    other_site = emulator.site_id.rsplit("/", 1)[0] + "/nope"
    assert _get(client, f"{other_site}/machines?api-version=2023-06-06").status_code == 404


def test_run_as_accounts(emulator: AsrEmulator, client: Any) -> None:
    run_as = emulator.add_push_servers([windows_spec()], account_name="domain-admin")
    account = _get(client, f"{run_as}?api-version=2023-06-06").json()
    assert account["properties"]["displayName"] == "domain-admin"
    assert account["properties"]["credentialType"] == "WindowsServer"
    again = emulator.add_push_servers([windows_spec(2)], account_name="domain-admin")
    assert again == run_as
    listed = _get(client, f"{emulator.site_id}/runAsAccounts?api-version=2023-06-06").json()[
        "value"
    ]
    assert len(listed) == 1
