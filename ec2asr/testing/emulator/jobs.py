"""ASR jobs: a timeline of tasks on the simulated clock, settled lazily.

Every long-running operation creates a :class:`Job`. A job is a sequence of tasks with simulated
durations; its state at any moment is computed from the clock (nothing runs in the background).
Effects — the changes a finished task makes to protected items — fire exactly once, in time
order, when :meth:`JobRegistry.settle` is called at the start of every request. A manual-action
task suspends the job until ``resume``; a task of infinite duration never finishes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ec2asr.testing.emulator.arm import format_time, stable_guid
from ec2asr.testing.emulator.models import JobError

__all__ = ["Job", "JobRegistry", "TaskSpec"]

Effect = Callable[[datetime], None]

TERMINAL_STATES = frozenset({"Succeeded", "Failed", "Cancelled"})


@dataclass
class TaskSpec:
    """One task of a job.

    Attributes:
        name: ASR's task name (``"EnableProtectionPrerequisitesCheck"``).
        friendly_name: What the portal shows.
        duration: Simulated seconds; ``math.inf`` never finishes.
        manual: A manual action: the job suspends here until resumed.
        on_done: Effect fired (with the task's end time) when the task completes.
    """

    name: str
    friendly_name: str
    duration: float
    manual: bool = False
    on_done: Effect | None = None


@dataclass
class Job:
    """An ASR job.

    Attributes:
        name: The job name (a GUID).
        scenario_name: ASR's scenario (``"EnableDr"``, ``"TestFailover"``...).
        friendly_name: What the portal shows.
        target_object_id / target_object_name / target_instance_type: The affected object.
        tasks: The tasks, run in order.
        start: Simulated start time.
        custom_details: The ``customDetails`` member (``AsrJobDetails`` ...).
        fail_at: Index of the task that fails, if the job fails.
        error: The error it fails with.
        on_success / on_failure / on_cancel: Effects when the job ends that way.
        result: Builds the final resource body for the LRO (``None`` = no body).
        restart: Starts the same work again as a new job (``restart`` action).
        cancellable: Whether ``Cancel`` is an allowed action while it runs.
        fabric_name: The fabric the affected object lives under (items, container mappings);
            None for vault-level objects (policies, recovery plans). ``$filter=FabricId``
            selects on it.
    """

    name: str
    scenario_name: str
    friendly_name: str
    target_object_id: str
    target_object_name: str
    target_instance_type: str
    tasks: list[TaskSpec]
    start: datetime
    custom_details: dict[str, Any] = field(
        default_factory=lambda: {"instanceType": "AsrJobDetails"}
    )
    fail_at: int | None = None
    error: JobError | None = None
    on_success: Effect | None = None
    on_failure: Effect | None = None
    on_cancel: Effect | None = None
    result: Callable[[], dict[str, Any] | None] | None = None
    restart: Callable[[datetime], Job] | None = None
    cancellable: bool = True
    fabric_name: str | None = None
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    cancelled_at: datetime | None = None
    resumes: list[datetime] = field(default_factory=list)
    fired: int = 0
    finished: bool = False
    task_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.task_ids = [stable_guid(self.name, str(i)) for i in range(len(self.tasks))]

    # -- timeline -------------------------------------------------------------------------
    def _timeline(self) -> list[tuple[datetime, datetime | None]]:
        """(start, end) per reached task; ``end`` is None for a task that does not end."""
        spans: list[tuple[datetime, datetime | None]] = []
        cursor = self.start
        manual_index = 0
        for task in self.tasks:
            begin = cursor
            end: datetime | None
            if task.manual:
                if manual_index < len(self.resumes):
                    end = max(begin, self.resumes[manual_index])
                else:
                    end = None
                manual_index += 1
            elif math.isinf(task.duration):
                end = None
            else:
                end = begin + timedelta(seconds=task.duration)
            spans.append((begin, end))
            if end is None:
                break
            cursor = end
        return spans

    def state_at(self, now: datetime) -> str:
        """ASR's job state at ``now``: InProgress, Suspended, Succeeded, Failed or Cancelled."""
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return "Cancelled"
        spans = self._timeline()
        for index, (begin, end) in enumerate(spans):
            if end is None or now < end:
                if end is None and self.tasks[index].manual and now >= begin:
                    return "Suspended"
                return "InProgress"
            if index == self.fail_at:
                return "Failed"
        if len(spans) < len(self.tasks):
            return "InProgress"
        return "Succeeded"

    def end_time(self, now: datetime) -> datetime | None:
        """When the job ended, if it has."""
        state = self.state_at(now)
        if state == "Cancelled":
            return self.cancelled_at
        if state not in TERMINAL_STATES:
            return None
        spans = self._timeline()
        last = self.fail_at if state == "Failed" and self.fail_at is not None else len(spans) - 1
        return spans[last][1]

    def next_due(self) -> datetime | None:
        """When the next not-yet-fired task ends (None when nothing is pending)."""
        if self.finished or self.cancelled_at is not None:
            return None
        spans = self._timeline()
        if self.fired < len(spans):
            return spans[self.fired][1]
        return None

    def settle(self, now: datetime) -> None:
        """Fire the effects of every task that ended by ``now``, in order."""
        if self.finished or self.cancelled_at is not None:
            return
        spans = self._timeline()
        while self.fired < len(spans):
            end = spans[self.fired][1]
            if end is None or end > now:
                return
            if self.fired == self.fail_at:
                self.finished = True
                if self.on_failure:
                    self.on_failure(end)
                return
            task = self.tasks[self.fired]
            self.fired += 1
            if task.on_done:
                task.on_done(end)
        if self.fired == len(self.tasks):
            self.finished = True
            if self.on_success:
                self.on_success(spans[-1][1] or now)

    def suspended_at(self, now: datetime) -> bool:
        """True while the job waits on a manual action."""
        return self.state_at(now) == "Suspended"

    # -- rendering ------------------------------------------------------------------------
    def allowed_actions(self, now: datetime) -> list[str]:
        """The ``allowedActions`` ASR reports for the job's state."""
        state = self.state_at(now)
        if state == "Suspended":
            return ["Cancel", "Resume"]
        if state == "InProgress":
            return ["Cancel"] if self.cancellable else []
        if state in ("Failed", "Cancelled") and self.restart is not None:
            return ["Restart"]
        return []

    def to_json(self, vault_id: str, now: datetime) -> dict[str, Any]:
        """The job resource as ASR returns it."""
        state = self.state_at(now)
        spans = self._timeline()
        tasks: list[dict[str, Any]] = []
        for index, task in enumerate(self.tasks):
            tasks.append(self._task_json(index, task, spans, now, state))
        errors = []
        if state == "Failed" and self.error is not None:
            errors.append(self._error_json(now))
        body: dict[str, Any] = {
            "name": self.name,
            "id": f"{vault_id}/replicationJobs/{self.name}",
            "properties": {
                "activityId": f"{self.activity_id} ActivityId: {stable_guid(self.activity_id)}",
                "scenarioName": self.scenario_name,
                "friendlyName": self.friendly_name,
                "state": state,
                "stateDescription": _STATE_DESCRIPTIONS.get(state, state),
                "tasks": tasks,
                "errors": errors,
                "startTime": format_time(self.start),
                "allowedActions": self.allowed_actions(now),
                "targetObjectId": self.target_object_id,
                "targetObjectName": self.target_object_name,
                "targetInstanceType": self.target_instance_type,
                "customDetails": self.custom_details,
            },
        }
        end = self.end_time(now)
        if end is not None:
            body["properties"]["endTime"] = format_time(end)
        return body

    def _task_json(
        self,
        index: int,
        task: TaskSpec,
        spans: list[tuple[datetime, datetime | None]],
        now: datetime,
        job_state: str,
    ) -> dict[str, Any]:
        task_state = "NotStarted"
        begin: datetime | None = None
        end: datetime | None = None
        if index < len(spans):
            begin, end = spans[index]
            if begin > now:
                task_state = "NotStarted"
                begin = None
            elif end is not None and end <= now:
                task_state = "Failed" if index == self.fail_at else "Succeeded"
            elif task.manual:
                task_state = "Suspended"
            else:
                task_state = "InProgress"
            if end is not None and end > now:
                end = None
        if job_state == "Cancelled" and task_state in ("NotStarted", "InProgress", "Suspended"):
            task_state = "Cancelled"
        if job_state == "Failed" and self.fail_at is not None and index > self.fail_at:
            task_state = "Skipped"
        body: dict[str, Any] = {
            "taskId": self.task_ids[index],
            "name": task.name,
            "friendlyName": task.friendly_name,
            "state": task_state,
            "stateDescription": _STATE_DESCRIPTIONS.get(task_state, task_state),
            "allowedActions": ["Resume"] if task_state == "Suspended" else [],
            "taskType": "TaskDetails",
            "errors": [],
        }
        if task.manual:
            body["customDetails"] = {
                "instanceType": "ManualActionTaskDetails",
                "name": task.friendly_name,
                "instructions": task.friendly_name,
                "observation": "",
            }
        else:
            # ASR says VirtualMachineTaskDetails for VM tasks, but the SDK 2.x only resolves the
            # first level of the discriminator: JobTaskDetails round-trips, it does not.
            body["customDetails"] = {
                "instanceType": "JobTaskDetails",
                "jobTask": {
                    "jobId": self.name,
                    "jobFriendlyName": self.friendly_name,
                    "targetObjectId": self.target_object_id,
                    "targetObjectName": self.target_object_name,
                    "targetInstanceType": self.target_instance_type,
                    "jobScenarioName": self.scenario_name,
                },
            }
        if begin is not None:
            body["startTime"] = format_time(begin)
        if end is not None:
            body["endTime"] = format_time(end)
        if task_state == "Failed" and self.error is not None:
            body["errors"] = [self._error_json(now)]
        return body

    def _error_json(self, now: datetime) -> dict[str, Any]:
        assert self.error is not None
        err = self.error
        spans = self._timeline()
        when = spans[self.fail_at][1] if self.fail_at is not None else now
        detail: dict[str, Any] = {
            "serviceErrorDetails": {
                "code": err.code,
                "message": err.message,
                "possibleCauses": err.possible_causes,
                "recommendedAction": err.recommended_action,
                "activityId": self.activity_id,
            },
            "errorLevel": "Error",
            "creationTime": format_time(when),
            "taskId": self.task_ids[self.fail_at] if self.fail_at is not None else "",
        }
        if err.provider_error:
            detail["providerErrorDetails"] = {
                "errorCode": int(err.code) if err.code.isdigit() else 0,
                "errorMessage": err.message,
                "errorId": stable_guid(self.name, err.code),
                "possibleCauses": err.possible_causes,
                "recommendedAction": err.recommended_action,
            }
        return detail


_STATE_DESCRIPTIONS = {
    "Succeeded": "Completed",
    "InProgress": "InProgress",
    "NotStarted": "NotStarted",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
    "Suspended": "WaitingForManualAction",
    "Skipped": "Skipped",
}


class JobRegistry:
    """Every job of a vault, with a heap of pending effects ordered by due time."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._order: list[str] = []
        self._heap: list[tuple[datetime, int, str]] = []
        self._seq = itertools.count()

    def add(self, job: Job) -> Job:
        """Register a new job and schedule its effects."""
        self._jobs[job.name.lower()] = job
        self._order.append(job.name)
        self._schedule(job)
        return job

    def _schedule(self, job: Job) -> None:
        due = job.next_due()
        if due is not None:
            heapq.heappush(self._heap, (due, next(self._seq), job.name.lower()))

    def reschedule(self, job: Job) -> None:
        """Schedule again after the job's timeline changed (resume)."""
        self._schedule(job)

    def get(self, name: str) -> Job | None:
        """The job called ``name`` (case-insensitive)."""
        return self._jobs.get(name.lower())

    def all(self) -> Iterable[Job]:
        """Every job, oldest first."""
        return (self._jobs[n.lower()] for n in self._order)

    def settle(self, now: datetime) -> None:
        """Fire every effect due by ``now``, across jobs, in time order."""
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            job = self._jobs.get(key)
            if job is None or job.next_due() != due:
                continue  # stale heap entry
            before = job.fired
            job.settle(due)
            if job.fired == before and not job.finished:
                continue
            self._schedule(job)
