"""The seeded fleet gets exactly the verdicts its profiles intend (discovery + assessment)."""

from __future__ import annotations

import ec2asr
from ec2asr.testing import Sandbox


def test_every_seeded_profile_gets_its_intended_verdict() -> None:
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet()
        machines = ec2asr.Ec2Discovery(sandbox.ec2_session).discover(
            instance_ids=fleet.instance_ids
        )
        report = ec2asr.assess(machines)
    got = {r.machine.instance_id: r.verdict.value for r in report}
    expected = fleet.expected_verdicts
    wrong = {
        inst.profile: (expected[inst.instance_id], got[inst.instance_id])
        for inst in fleet
        if got[inst.instance_id].upper() != expected[inst.instance_id].upper()
    }
    assert wrong == {}
    assert {v.upper() for v in got.values()} == {"READY", "READY_WITH_WARNINGS", "NOT_READY"}
