"""Hundreds of machines: state derived from the clock on read, lists page, no thread per item."""

from __future__ import annotations

import threading
from typing import Any

from ec2asr.testing.emulator import AsrEmulator
from tests.asr_helpers import enable_input, items_api, linux_spec

COUNT = 300


def test_hundreds_of_items_replicate_and_list(
    emulator: AsrEmulator, client: Any, policy_id: str
) -> None:
    threads_before = threading.active_count()
    emulator.appliance_capacity = None  # one appliance takes 200 (test_scheduler.py); not here
    items, args = items_api(emulator, client)
    for index in range(COUNT):
        spec = linux_spec(index, disks=(8 + index % 5,))
        machine_id = emulator.register_machine(spec)
        body = enable_input(emulator, policy_id, machine_id, targetVmName=f"vm{index}")
        items.begin_create(*args, spec.instance_id, body, polling=False)
    assert threading.active_count() <= threads_before + 2  # no thread per item
    emulator.advance(4 * 3600)
    pages = list(items.list(emulator.resource_group, emulator.vault).by_page())
    listed = [i for page in pages for i in page]
    assert len(pages) == 3
    assert len(listed) == COUNT
    assert {i.properties.protection_state for i in listed} == {"Protected"}
    jobs = list(
        client.replication_jobs.list(
            emulator.resource_group, emulator.vault, filter="JobStatus eq 'Succeeded'"
        )
    )
    assert sum(1 for j in jobs if j.properties.scenario_name == "EnableDr") == COUNT
