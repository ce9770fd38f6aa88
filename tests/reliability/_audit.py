"""What the sandbox saw, checked for the reliability suite's invariants.

"No duplicate write" is precise here: for every protected item and every item operation
(enable, test failover, cleanup, failover, commit, complete), exactly one ASR job succeeded; a
second accepted write of the same operation only ever followed a job of it that failed; every
job restart ec2asr asked for was of a job that had failed with ASR's transient error 499.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ec2asr.testing import Sandbox

ITEM_OPERATIONS = {
    "PUT": "EnableDr",
    "testFailover": "TestFailover",
    "testFailoverCleanup": "TestFailoverCleanup",
    "unplannedFailover": "UnplannedFailover",
    "failoverCommit": "CommitFailover",
    "remove": "DisableDr",
}


def _jobs(sandbox: Sandbox) -> dict[str, Any]:
    vault = sandbox.emulator.get_vault_state()
    return {job.name: job for job in vault.jobs.all()}


def item_writes(sandbox: Sandbox) -> dict[str, list[Any]]:
    """Accepted writes on protected items: ``"<item> <operation>"`` -> write records."""
    out: dict[str, list[Any]] = defaultdict(list)
    for write in sandbox.emulator.writes:
        parts = write.path.split("/")
        lowered = [p.lower() for p in parts]
        if "replicationprotecteditems" not in lowered:
            continue
        i = lowered.index("replicationprotecteditems")
        if i + 1 >= len(parts):
            continue
        op = parts[i + 2] if i + 2 < len(parts) else write.method
        out[f"{parts[i + 1]} {op}"].append(write)
    return out


def check_no_duplicate_writes(sandbox: Sandbox, items: list[str]) -> dict[str, int]:
    """Assert the module docstring's invariants for ``items``; return what was counted."""
    now = sandbox.emulator.now()
    jobs = _jobs(sandbox)
    writes = item_writes(sandbox)
    succeeded: Counter[tuple[str, str]] = Counter()
    for job in jobs.values():
        if job.state_at(now) == "Succeeded":
            succeeded[(job.target_object_id, job.scenario_name)] += 1
    rewrites = 0
    for item in items:
        for op, scenario in ITEM_OPERATIONS.items():
            records = writes.get(f"{item} {op}", [])
            assert succeeded[(item, scenario)] == 1, (
                f"{item}: {succeeded[(item, scenario)]} succeeded {scenario} jobs, "
                f"{len(records)} accepted {op} writes"
            )
            for earlier in records[:-1]:
                job = jobs.get(earlier.job_name or "")
                assert job is not None, f"{item}: {op} written again, no job for {earlier}"
                assert job.state_at(now) == "Failed", (
                    f"{item}: {op} was written again although job {earlier.job_name} "
                    f"({job.state_at(now)}) had not failed"
                )
                rewrites += 1
    restarts = [w for w in sandbox.emulator.writes if w.path.endswith("/restart")]
    for write in restarts:
        name = write.path.split("/")[-2]
        job = jobs[name]
        assert job.state_at(now) == "Failed", f"restarted job {name} had not failed"
        assert job.error is not None
        assert job.error.code == "499", job.error
    return {"rewrites_after_failed_jobs": rewrites, "job_restarts": len(restarts)}
