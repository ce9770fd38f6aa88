"""Recovery plans and ASR jobs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from ec2asr.assessment.live import SupportedOs, supported_os_from_response
from ec2asr.azure._base import ClientBase
from ec2asr.azure._errors import translating
from ec2asr.azure.items import AsrJob, ProtectedItem, RecoveryPlan
from ec2asr.azure.operation import AsrOperation
from ec2asr.errors import InvalidInputError

MAX_PLAN_ITEMS = 100
"""ASR's limit of protected items in one recovery plan."""

RECOVERY_POINT_TYPES = (
    "Latest",
    "LatestProcessed",
    "LatestCrashConsistent",
    "LatestApplicationConsistent",
)


class PlanOperations(ClientBase):
    """Recovery plans (boot groups failed over together) and ASR jobs."""

    # -- recovery plans ----------------------------------------------------------------------

    def get_recovery_plan(self, name: str) -> RecoveryPlan:
        """Return a recovery plan.

        Raises:
            AzureResourceNotFoundError: It does not exist.
            AzureError: Azure refused or failed the request.
        """
        with translating(f"read recovery plan {name}"):
            return RecoveryPlan.from_azure(self.sdk.replication_recovery_plans.get(*self._rv, name))

    def list_recovery_plans(self) -> list[RecoveryPlan]:
        """Return every recovery plan of the vault.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating("list recovery plans"):
            return [
                RecoveryPlan.from_azure(p)
                for p in self.sdk.replication_recovery_plans.list(*self._rv)
            ]

    def begin_create_recovery_plan(
        self, name: str, *, fabric_id: str, groups: Sequence[Sequence[ProtectedItem]]
    ) -> AsrOperation[RecoveryPlan]:
        """Create a recovery plan whose boot groups start in order (group 1 first).

        Raises:
            InvalidInputError: No items, an empty group, a duplicate, or more than 100 items.
            AzureError: Azure refused or failed the request.
        """
        items = [i for g in groups for i in g]
        if not items or any(len(g) == 0 for g in groups):
            raise InvalidInputError("a recovery plan needs at least one item in every group")
        if len(items) > MAX_PLAN_ITEMS:
            raise InvalidInputError(
                f"a recovery plan holds at most {MAX_PLAN_ITEMS} items, got {len(items)}"
            )
        if len({i.id.lower() for i in items}) != len(items):
            raise InvalidInputError("an item appears twice in the recovery plan")
        plan_groups = [
            m.RecoveryPlanGroup(
                group_type="Shutdown", start_group_actions=[], end_group_actions=[]
            ),
            m.RecoveryPlanGroup(
                group_type="Failover", start_group_actions=[], end_group_actions=[]
            ),
        ]
        for group in groups:
            plan_groups.append(
                m.RecoveryPlanGroup(
                    group_type="Boot",
                    replication_protected_items=[
                        m.RecoveryPlanProtectedItem(id=i.id, virtual_machine_id=i.name)
                        for i in group
                    ],
                    start_group_actions=[],
                    end_group_actions=[],
                )
            )
        body = m.CreateRecoveryPlanInput(
            properties=m.CreateRecoveryPlanInputProperties(
                primary_fabric_id=fabric_id,
                recovery_fabric_id="Microsoft Azure",
                failover_deployment_model="ResourceManager",
                groups=plan_groups,
            )
        )
        return self._begin(
            f"create recovery plan {name}",
            lambda **kw: self.sdk.replication_recovery_plans.begin_create(
                *self._rv, name, body, **kw
            ),
            lambda: self.get_recovery_plan(name),
        )

    def begin_delete_recovery_plan(self, name: str) -> AsrOperation[None]:
        """Delete a recovery plan (its items stay protected).

        Raises:
            AzureError: Azure refused or failed the request.
        """
        return self._begin(
            f"delete recovery plan {name}",
            lambda **kw: self.sdk.replication_recovery_plans.begin_delete(*self._rv, name, **kw),
            lambda: None,
        )

    def _plan_op(
        self, what: str, name: str, method: str, body: Any = None
    ) -> AsrOperation[RecoveryPlan]:
        fn = getattr(self.sdk.replication_recovery_plans, method)

        def begin(**kw: Any) -> Any:
            return (
                fn(*self._rv, name, body, **kw) if body is not None else fn(*self._rv, name, **kw)
            )

        return self._begin(
            f"{what} recovery plan {name}", begin, lambda: self.get_recovery_plan(name)
        )

    def begin_plan_test_failover(self, name: str, *, network_id: str) -> AsrOperation[RecoveryPlan]:
        """Test-fail-over every item of the plan into an isolated network, group by group.

        Raises:
            InvalidInputError: When ``network_id`` is empty.
            AzureError: Azure refused or failed the request.
        """
        if not network_id:
            raise InvalidInputError("a test failover needs an isolated test network id")
        body = m.RecoveryPlanTestFailoverInput(
            properties=m.RecoveryPlanTestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=network_id,
                provider_specific_details=[
                    m.RecoveryPlanInMageRcmFailoverInput(recovery_point_type="LatestProcessed")
                ],
            )
        )
        return self._plan_op("test-fail over", name, "begin_test_failover", body)

    def begin_plan_test_failover_cleanup(
        self, name: str, *, comments: str = "Test migration verified by ec2asr"
    ) -> AsrOperation[RecoveryPlan]:
        """Clean up the plan's test failover.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        body = m.RecoveryPlanTestFailoverCleanupInput(
            properties=m.RecoveryPlanTestFailoverCleanupInputProperties(comments=comments[:1024])
        )
        return self._plan_op(
            "clean up the test failover of", name, "begin_test_failover_cleanup", body
        )

    def begin_plan_unplanned_failover(
        self, name: str, *, recovery_point_type: str = "Latest"
    ) -> AsrOperation[RecoveryPlan]:
        """Fail over every item of the plan, boot group by boot group.

        ``Latest`` first processes everything the appliance received, so after the sources were
        stopped it fails over to a point taken after the stop.

        Raises:
            InvalidInputError: Unknown ``recovery_point_type``.
            AzureError: Azure refused or failed the request.
        """
        if recovery_point_type not in RECOVERY_POINT_TYPES:
            raise InvalidInputError(f"recovery_point_type must be one of {RECOVERY_POINT_TYPES}")
        body = m.RecoveryPlanUnplannedFailoverInput(
            properties=m.RecoveryPlanUnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=[
                    m.RecoveryPlanInMageRcmFailoverInput(recovery_point_type=recovery_point_type)
                ],
            )
        )
        return self._plan_op("fail over", name, "begin_unplanned_failover", body)

    def begin_plan_commit(self, name: str) -> AsrOperation[RecoveryPlan]:
        """Commit the plan's failover.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        return self._plan_op("commit", name, "begin_failover_commit")

    def list_supported_operating_systems(self) -> tuple[SupportedOs, ...]:
        """ASR's live list of operating systems it replicates with InMageRcm (feed it to
        :func:`ec2asr.assess` as ``supported_os=``).

        Raises:
            AzureError: Azure refused or failed the request.
        """
        with translating("read the supported operating systems"):
            answer = self.sdk.supported_operating_systems.get(*self._rv, instance_type="InMageRcm")
        return supported_os_from_response(answer, instance_type="InMageRcm")

    # -- jobs ----------------------------------------------------------------------------------

    def get_job(self, name: str) -> AsrJob:
        """Return one ASR job (``ReplicationJobs_Get``, read from its JSON).

        Raises:
            InvalidInputError: The name is empty.
            AzureResourceNotFoundError: It does not exist.
            AzureError: Azure refused or failed the request.
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("a job name is required")
        url = self._asr_url("replicationJobs", name)
        return AsrJob.from_json(self._get_json(url, what=f"read job {name}"))

    def list_jobs(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        fabric_id: str | None = None,
    ) -> Iterator[AsrJob]:
        """Yield the vault's jobs (``ReplicationJobs_List``), optionally only those started in
        a time window and under one fabric; each page is read from its JSON.

        The ``$filter`` takes the spec's ``JobQueryParameter`` members as ``Key eq 'value'``
        clauses joined by ``and`` (``StartTime``, ``EndTime``, ``FabricId``).

        Raises:
            InvalidInputError: A time that is not a datetime, or an empty ``fabric_id``.
            AzureError: Azure refused or failed the request.
        """
        return (
            AsrJob.from_json(body)
            for body in self._list_json(
                self._jobs_url(start_time, end_time, fabric_id), what="list jobs"
            )
        )

    def _jobs_url(
        self, start_time: datetime | None, end_time: datetime | None, fabric_id: str | None
    ) -> str:
        clauses = []
        for key, moment in (("StartTime", start_time), ("EndTime", end_time)):
            if moment is None:
                continue
            if not isinstance(moment, datetime):
                raise InvalidInputError(f"{key} must be a datetime, not {type(moment).__name__}")
            # A naive datetime is taken for UTC (what ASR's job times are).
            utc = moment.astimezone(timezone.utc) if moment.utcoffset() is not None else moment
            clauses.append(f"{key} eq '{utc.strftime('%Y-%m-%dT%H:%M:%SZ')}'")
        if fabric_id is not None:
            if not isinstance(fabric_id, str) or not fabric_id.strip() or "'" in fabric_id:
                raise InvalidInputError(f"fabric_id must be a fabric's ARM id, not {fabric_id!r}")
            clauses.append(f"FabricId eq '{fabric_id}'")
        if not clauses:
            return self._asr_url("replicationJobs")
        return self._asr_url("replicationJobs", **{"$filter": " and ".join(clauses)})

    def _job_op(self, verb: str, name: str, method: str) -> AsrOperation[AsrJob]:
        fn = getattr(self.sdk.replication_jobs, method)
        return self._begin(
            f"{verb} job {name}",
            lambda **kw: fn(*self._rv, name, **kw),
            lambda: self.get_job(name),
        )

    def begin_cancel_job(self, name: str) -> AsrOperation[AsrJob]:
        """Cancel a running job.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        return self._job_op("cancel", name, "begin_cancel")

    def begin_restart_job(self, name: str) -> AsrOperation[AsrJob]:
        """Restart a failed job.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        return self._job_op("restart", name, "begin_restart")

    def begin_resume_job(self, name: str) -> AsrOperation[AsrJob]:
        """Resume a job waiting for a manual action.

        Raises:
            AzureError: Azure refused or failed the request.
        """
        return self._job_op("resume", name, "begin_resume")
