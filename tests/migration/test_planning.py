"""Planning helpers that need no sandbox."""

from __future__ import annotations

from ec2asr.azure.models import ApplianceFabric, ProcessServer
from ec2asr.migration._planning import _other_process_servers


def _ps(n: int, ip: str, health: str | None = "Normal") -> ProcessServer:
    return ProcessServer(id=f"ps-{n}", name=f"appliance-{n}", ip_addresses=(ip,), health=health)


def _fabric(*servers: ProcessServer) -> ApplianceFabric:
    return ApplianceFabric(
        id="/fabrics/f",
        name="f",
        friendly_name=None,
        physical_site_id=None,
        process_servers=servers,
    )


def test_the_other_process_servers_are_those_that_can_receive_machines() -> None:
    fabric = _fabric(
        _ps(1, "10.0.0.10"),
        _ps(2, "10.0.0.12"),
        _ps(3, "10.0.0.11"),
        _ps(4, "10.0.0.13", health="Critical"),  # gets no new machine
        _ps(5, "10.0.0.12"),  # one address, said once
    )
    assert _other_process_servers(fabric, "10.0.0.10") == ["10.0.0.11", "10.0.0.12"]
    assert _other_process_servers(_fabric(_ps(1, "10.0.0.10")), "10.0.0.10") == []
    # No healthy server: the run places machines on any of them, so every other one counts.
    sick = _fabric(_ps(1, "10.0.0.10", "Warning"), _ps(2, "10.0.0.11", "Critical"))
    assert sick.usable_process_servers == sick.process_servers
    assert [ps.id for ps in fabric.usable_process_servers] == ["ps-1", "ps-2", "ps-3", "ps-5"]
    assert _other_process_servers(sick, "10.0.0.10") == ["10.0.0.11"]
