"""Sweeps read only the migration's jobs and items, and pick pages or GETs by count.

Two migrations share one vault, each on its own appliance fabric and container (the emulator,
``page_size=2``): A has 5 protected items, B has 4. Every request and answer is seen through
azure-core's ``raw_response_hook`` on the client that sweeps.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from azure.core.exceptions import ResponseNotReadError

import ec2asr
from ec2asr.azure._protection import ItemKey
from ec2asr.azure.jobs import JobTracker, SweepScope
from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import enable_input, finish, linux_spec, new_emulator, setup_policy

PAGE = 2
A_ITEMS = [f"i-a{n:016x}" for n in range(5)]
B_ITEMS = [f"i-b{n:016x}" for n in range(4)]


@attrs.frozen
class Side:
    fabric_id: str
    fabric: str
    container: str
    process_server: str

    @property
    def scope(self) -> SweepScope:
        return SweepScope(self.fabric_id, self.fabric, self.container)


@attrs.define
class Seen:
    """What one client asked and was answered (request path+query, members named)."""

    requests: list[tuple[str, str, dict[str, str]]] = attrs.field(factory=list)
    names: set[str] = attrs.field(factory=set)

    def hook(self, response: Any) -> None:
        request = response.http_request
        url = urllib.parse.urlsplit(request.url)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append((request.method, url.path, query))
        try:
            body = json.loads(response.http_response.text() or "null")
        except (ResponseNotReadError, ValueError):  # an LRO's streamed answer: not a list
            return
        members = body.get("value") if isinstance(body, dict) else None
        for member in members if isinstance(members, list) else [body]:
            if not isinstance(member, dict):
                continue
            props = member.get("properties") or {}
            self.names.add(str(member.get("name")))
            if props.get("targetObjectName"):
                self.names.add(str(props["targetObjectName"]))

    def clear(self) -> None:
        self.requests.clear()
        self.names.clear()

    def count(self, suffix: str) -> int:
        return sum(
            1 for method, path, _ in self.requests if method == "GET" and path.endswith(suffix)
        )


@pytest.fixture(scope="module")
def vault() -> Iterator[tuple[AsrEmulator, Side, Side]]:
    emulator = new_emulator(page_size=PAGE)
    try:
        sdk = emulator.asr_management_client(retry_total=0)
        policy_id = setup_policy(emulator, sdk)  # maps the first fabric's container
        b_info = emulator.register_appliance("appliance02", "10.0.1.4", fabric_name="fabric-b")
        fabrics = {
            f.name: f for f in sdk.replication_fabrics.list(emulator.resource_group, emulator.vault)
        }
        sides = []
        for name, ps in (
            (emulator.fabric_name, emulator.appliance.appliance_id),
            ("fabric-b", b_info.appliance_id),
        ):
            container = next(
                iter(
                    sdk.replication_protection_containers.list_by_replication_fabrics(
                        emulator.resource_group, emulator.vault, name
                    )
                )
            ).name
            sides.append(Side(str(fabrics[name].id), name, str(container), ps))
        a, b = sides
        finish(
            emulator,
            sdk.replication_protection_container_mappings.begin_create(
                emulator.resource_group,
                emulator.vault,
                b.fabric,
                b.container,
                "mapping-b",
                {
                    "properties": {
                        "policyId": policy_id,
                        "targetProtectionContainerId": "Microsoft Azure",
                    }
                },
            ),
        )
        for side, names in ((a, A_ITEMS), (b, B_ITEMS)):
            for n, iid in enumerate(names):
                spec = attrs.evolve(
                    linux_spec(n + 1),
                    instance_id=iid,
                    hostname=iid,
                    private_ips=[f"10.9.{len(side.fabric)}.{n + 10}"],
                )
                machine = emulator.register_machine(spec, fabric_name=side.fabric)
                body = enable_input(
                    emulator, policy_id, machine, processServerId=side.process_server
                )
                finish(
                    emulator,
                    sdk.replication_protected_items.begin_create(
                        emulator.resource_group,
                        emulator.vault,
                        side.fabric,
                        side.container,
                        iid,
                        body,
                    ),
                )
        emulator.advance(6 * 3600)  # initial replication ends: every item is protected
        yield emulator, a, b
    finally:
        emulator.stop()


def _client(emulator: AsrEmulator, seen: Seen) -> ec2asr.SiteRecoveryClient:
    return ec2asr.SiteRecoveryClient(
        emulator.credential,
        emulator.subscription_id,
        resource_group=emulator.resource_group,
        vault=emulator.vault,
        base_url=emulator.base_url,
        polling_interval=0,
        sleep=lambda s: None,
        retry_total=0,
        raw_response_hook=seen.hook,
    )


def _tracker(
    emulator: AsrEmulator, client: ec2asr.SiteRecoveryClient, scope: SweepScope | None
) -> JobTracker:
    return JobTracker(client, now=emulator.now, sleep=lambda s: None, scope=scope)


def _start_test_failovers(
    client: ec2asr.SiteRecoveryClient, side: Side, names: list[str], tracker: JobTracker
) -> None:
    net = (
        f"/subscriptions/{client.subscription_id}/resourceGroups/net"
        "/providers/Microsoft.Network/virtualNetworks/test"
    )
    for iid in names:
        op = client.begin_test_failover(ItemKey(side.fabric, side.container, iid), network_id=net)
        tracker.track(f"{iid}:test-failover", step="test-failover", item_name=iid, operation=op)


def test_two_migrations_on_one_vault_do_not_read_each_others_items_or_jobs(
    vault: tuple[AsrEmulator, Side, Side],
) -> None:
    emulator, a, b = vault
    seen = {"a": Seen(), "b": Seen()}
    clients = {k: _client(emulator, s) for k, s in seen.items()}
    trackers = {
        "a": _tracker(emulator, clients["a"], a.scope),
        "b": _tracker(emulator, clients["b"], b.scope),
    }
    _start_test_failovers(clients["a"], a, A_ITEMS[:2], trackers["a"])
    _start_test_failovers(clients["b"], b, B_ITEMS[:2], trackers["b"])
    emulator.advance(600)
    for key, side, mine, theirs in (("a", a, A_ITEMS, B_ITEMS), ("b", b, B_ITEMS, A_ITEMS)):
        seen[key].clear()
        result = trackers[key].sweep(read_items=True)
        assert len(result.finished) == 2  # both test failovers of this migration ended
        assert set(result.items) == set(mine)
        assert not (seen[key].names & set(theirs)), "read the other migration's items or jobs"
        job_lists = [q for m, p, q in seen[key].requests if p.endswith("/replicationJobs")]
        assert job_lists
        assert all(f"FabricId eq '{side.fabric_id}'" in q.get("$filter", "") for q in job_lists)
        assert all("StartTime eq '" in q.get("$filter", "") for q in job_lists)
        assert (
            seen[key].count(
                f"/replicationProtectionContainers/{side.container}/replicationProtectedItems"
            )
            >= 1
        )
        assert seen[key].count("/vaults/" + emulator.vault + "/replicationProtectedItems") == 0
    # Without a scope (the vault's jobs and items), A reads B's: the test above could fail.
    unscoped_seen = Seen()
    unscoped = _tracker(emulator, _client(emulator, unscoped_seen), None)
    _start_test_failovers(_client(emulator, Seen()), a, A_ITEMS[2:3], unscoped)
    unscoped.sweep(read_items=True)
    assert unscoped_seen.names & set(B_ITEMS)


def test_n_waiting_machines_cost_the_containers_pages_not_the_vaults(
    vault: tuple[AsrEmulator, Side, Side],
) -> None:
    emulator, a, _ = vault
    seen = Seen()
    client = _client(emulator, seen)
    tracker = _tracker(emulator, client, a.scope)
    result = tracker.sweep(read_items=A_ITEMS)
    container_list = f"/replicationProtectionContainers/{a.container}/replicationProtectedItems"
    assert seen.count(container_list) == math.ceil(len(A_ITEMS) / PAGE) == 3
    vault_pages = math.ceil((len(A_ITEMS) + len(B_ITEMS)) / PAGE)
    assert result.calls == 3 < vault_pages
    assert len(seen.requests) == 3  # no job list: nothing in flight
    assert set(result.items) == set(A_ITEMS)
    assert tracker.item_pages == 3


def test_a_few_waiting_machines_cost_one_get_each(vault: tuple[AsrEmulator, Side, Side]) -> None:
    emulator, a, _ = vault
    seen = Seen()
    tracker = _tracker(emulator, _client(emulator, seen), a.scope)
    tracker.item_pages = 3  # as the container's last list showed
    wanted = [A_ITEMS[0], A_ITEMS[3], "i-0000000000000dead"]  # one has no item: absent, no error
    result = tracker.sweep(read_items=wanted)
    assert result.calls == 3
    assert [p.rsplit("/", 1)[-1] for _, p, _ in seen.requests] == sorted(wanted)
    assert all(
        f"/replicationProtectionContainers/{a.container}/replicationProtectedItems/" in p
        for _, p, _ in seen.requests
    )
    assert set(result.items) == {A_ITEMS[0], A_ITEMS[3]}
    # One more than the pages: the list is cheaper.
    seen.clear()
    result = tracker.sweep(read_items=A_ITEMS[:4])
    assert result.calls == 3
    assert set(result.items) == set(A_ITEMS[:4])


def test_the_job_filter_is_the_spec_query_and_the_emulator_applies_it(
    vault: tuple[AsrEmulator, Side, Side],
) -> None:
    emulator, a, b = vault
    seen = Seen()
    client = _client(emulator, seen)
    since = emulator.now().replace(year=2000)
    a_jobs = list(client.list_jobs(start_time=since, fabric_id=a.fabric_id))
    every = list(client.list_jobs(start_time=since))
    assert {j.target_object_name for j in a_jobs if j.scenario_name == "EnableDr"} >= set(A_ITEMS)
    assert not {j.target_object_name for j in a_jobs} & set(B_ITEMS)
    # Vault-level jobs (the policy) are under no fabric.
    assert any(j.scenario_name == "AddProtectionProfile" for j in every)
    assert not any(j.scenario_name == "AddProtectionProfile" for j in a_jobs)
    # By name works too (the spec's FabricId is "the Id of the fabric").
    by_name = list(client.list_jobs(start_time=since, fabric_id=b.fabric))
    assert {j.name for j in by_name} == {
        j.name for j in client.list_jobs(start_time=since, fabric_id=b.fabric_id)
    }
    query = seen.requests[0][2]["$filter"]
    start = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert query == f"StartTime eq '{start}' and FabricId eq '{a.fabric_id}'"


def test_bad_scopes_and_filters_are_refused_before_any_request(
    vault: tuple[AsrEmulator, Side, Side],
) -> None:
    emulator, _, _ = vault
    seen = Seen()
    client = _client(emulator, seen)
    with pytest.raises(ec2asr.InvalidInputError):
        client.list_protected_items(fabric_name="f")
    with pytest.raises(ec2asr.InvalidInputError):
        client.list_jobs(fabric_id="it's")
    with pytest.raises(ec2asr.InvalidInputError):
        SweepScope(fabric_name="f")
    assert seen.requests == []
