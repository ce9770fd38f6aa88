"""Temporary security-group rules ("leases") that ec2asr adds and always removes again.

A lease is one rule: one security group, one direction, TCP, the exact missing port range, and
the other end as a /32 (the appliance's address in the sources' groups, a source's address in the
appliance's group). Nothing wider is ever added. Every lease is

* recorded in the :class:`~ec2asr.migration.journal.Journal` *before* the AWS call (state
  ``requested``), then marked ``active`` once the rule exists;
* described in EC2 as ``ec2asr lease <lease-id>``, so people see who made it, and so ec2asr only
  ever revokes rules carrying its own lease id (never a rule it did not add);
* shared: a group used by many machines gets one lease with several holders; it is revoked when
  the last holder releases it (:meth:`SecurityGroupLeases.release`), on abort
  (:meth:`~SecurityGroupLeases.revoke_all`) and, after a crash, by
  :meth:`~SecurityGroupLeases.reconcile`.

Adding a rule that already exists (``InvalidPermission.Duplicate``) is fine: when the existing
rule carries this lease's id it was made by an earlier, interrupted run and becomes ``active``;
otherwise somebody else's identical rule already opens the path and nothing is leased.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from ec2asr._validate import shown
from ec2asr.aws import _boto
from ec2asr.aws._leasetypes import (
    ACTIVE,
    LEASE_DESCRIPTION_PREFIX,
    REQUESTED,
    REVOKED,
    Lease,
    LeaseOutcome,
    LeaseSpec,
    ReconcileReport,
)
from ec2asr.aws._sgrules import Failure, find_owned, missing_rules, revoke_rules
from ec2asr.aws.netcheck import (
    ConnectivityReport,
    Direction,
    FlowPurpose,
    MachineConnectivity,
    MissingRule,
)
from ec2asr.aws.network import NetworkInspector
from ec2asr.errors import AwsError, ConnectivityError, Ec2AsrError, InvalidInputError
from ec2asr.migration.journal import Journal
from ec2asr.models import SourceMachine

__all__ = [
    "LEASE_DESCRIPTION_PREFIX",
    "Lease",
    "LeaseOutcome",
    "LeaseSpec",
    "ReconcileReport",
    "SecurityGroupLeases",
]

if TYPE_CHECKING:
    from ec2asr.mobility.base import ApplianceEndpoint

logger = logging.getLogger("ec2asr")

_LOCK = "security-group-leases"
"""Workers of a team change leased rules one at a time (a lease may have holders driven by
several workers: its last release and a new acquisition must not interleave)."""


class SecurityGroupLeases:
    """Adds missing security-group rules as journaled, self-describing, revocable leases.

    Args:
        ec2_client: A boto3 EC2 client of the groups' region.
        journal: The open migration journal the leases are recorded in.
        namespace: Scopes lease ids (use the migration's id), so two migrations sharing a group
            never take each other's rules for their own.

    Example:
        >>> leases = SecurityGroupLeases(ec2, journal, namespace="wave-1")
        >>> outcome = leases.acquire(report)        # adds exactly what report says is missing
        >>> leases.release("i-0123456789abcdef0")   # after that machine's cutover
    """

    def __init__(self, ec2_client: Any, journal: Journal, *, namespace: str = "ec2asr") -> None:
        if not isinstance(namespace, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", namespace):
            raise InvalidInputError(
                f"namespace must be 1-64 letters, digits, '.', '_' or '-', not {shown(namespace)}"
            )
        if not callable(getattr(ec2_client, "authorize_security_group_ingress", None)):
            raise InvalidInputError(
                f"ec2_client must be a boto3 EC2 client, not {shown(ec2_client)}"
            )
        self._ec2 = ec2_client
        self._journal = journal
        self._namespace = namespace

    def __repr__(self) -> str:
        return f"SecurityGroupLeases(namespace={self._namespace!r})"

    def list_leases(self, *, holder: str | None = None, state: str | None = None) -> list[Lease]:
        """The leases in the journal, optionally of one holder and/or in one state."""
        return [Lease.from_record(r) for r in self._journal.leases(state=state, holder=holder)]

    def acquire(
        self,
        missing: Iterable[MissingRule] | MachineConnectivity | ConnectivityReport,
        *,
        purposes: Iterable[FlowPurpose] | None = None,
    ) -> LeaseOutcome:
        """Add every missing security-group rule (ACL entries are skipped: never changed).

        Each rule is journaled before it is added; rules of one group and direction are added in
        one call. Calling it again for the same rules adds nothing and only records holders.

        Args:
            missing: Missing rules, or a machine's or a whole report's.
            purposes: Only rules for these purposes (e.g. push install); all when None.

        Returns:
            The leases per machine and, per machine, any rule AWS refused.

        Raises:
            InvalidInputError: A rule is not for a single host (nothing was changed).
        """
        with self._journal.exclusive(_LOCK, poll=0.2):
            return self._acquire(missing, purposes)

    def _acquire(
        self,
        missing: Iterable[MissingRule] | MachineConnectivity | ConnectivityReport,
        purposes: Iterable[FlowPurpose] | None,
    ) -> LeaseOutcome:
        wanted = set(purposes) if purposes is not None else None
        pairs = [
            (m.instance_id, LeaseSpec.from_missing(m))
            for m in missing_rules(missing)
            if m.leasable and (wanted is None or m.purpose in wanted)
        ]
        to_make: dict[str, LeaseSpec] = {}
        holders: dict[str, set[str]] = defaultdict(set)
        for instance_id, spec in pairs:
            lease_id = spec.lease_id(self._namespace)
            record = self._journal.record_lease(
                lease_id, spec.group_id, spec.to_journal(lease_id), holder=instance_id
            )
            holders[lease_id].add(instance_id)
            if record.state == REQUESTED:
                to_make[lease_id] = spec
        errors: dict[str, Ec2AsrError] = {}
        elsewhere: list[LeaseSpec] = []
        for lease_id, error in self._authorize(to_make, elsewhere).items():
            for instance_id in holders[lease_id]:
                errors.setdefault(instance_id, error)
        by_machine: dict[str, list[Lease]] = defaultdict(list)
        for lease_id in holders:
            lease = self._lease(lease_id)
            if lease.state != REVOKED:
                for instance_id in holders[lease_id]:
                    by_machine[instance_id].append(lease)
        return LeaseOutcome(
            leases={k: tuple(v) for k, v in by_machine.items()},
            errors=errors,
            satisfied_elsewhere=tuple(elsewhere),
        )

    def lease_replication(
        self, machines: Sequence[SourceMachine], appliance: ApplianceEndpoint | str
    ) -> LeaseOutcome:
        """Check the replication paths (TCP 443/9443 to the appliance) and lease what is missing.

        One batched analysis for all machines (see :class:`NetworkInspector`), then
        :meth:`acquire` for the replication rules.

        Args:
            machines: The source machines.
            appliance: The appliance (an endpoint or its private IP).

        Returns:
            What was leased, per machine; ``errors`` also names machines whose path stays
            closed by a network ACL (never changed).

        Raises:
            AwsError: EC2 could not be read.
        """
        ip = appliance if isinstance(appliance, str) else appliance.ip_address
        report = NetworkInspector(self._ec2).analyze(machines, ip)
        outcome = self.acquire(report, purposes=[FlowPurpose.REPLICATION])
        errors = dict(outcome.errors)
        for machine in report:
            closed = [
                str(m) for m in machine.missing_for(FlowPurpose.REPLICATION) if not m.leasable
            ]
            if closed and machine.instance_id not in errors:
                errors[machine.instance_id] = ConnectivityError(
                    f"{machine.display_name}: a network ACL blocks replication "
                    "(ec2asr never changes ACLs): " + "; ".join(closed),
                    instance_id=machine.instance_id,
                    missing=closed,
                )
        return attrs.evolve(outcome, errors=errors)

    def lease_egress(
        self, machine: SourceMachine, appliance: ApplianceEndpoint | str
    ) -> tuple[str, ...]:
        """:meth:`lease_replication` for one machine.

        Returns:
            The ids of every replication lease the machine holds now (also those an earlier
            call made: calling it again is safe).

        Raises:
            ConnectivityError: A rule could not be added, or an ACL keeps the path closed.
            AwsError: EC2 could not be read.
        """
        outcome = self.lease_replication([machine], appliance)
        error = outcome.errors.get(machine.instance_id)
        if error is not None:
            if isinstance(error, ConnectivityError):
                raise error
            raise ConnectivityError(
                f"{machine.display_name}: a replication rule could not be added: {error}",
                instance_id=machine.instance_id,
            ) from error
        return tuple(
            lease.lease_id
            for lease in self.list_leases(holder=machine.instance_id)
            if lease.state != REVOKED and lease.spec.purpose is FlowPurpose.REPLICATION
        )

    def release(self, instance_ids: str | Iterable[str]) -> tuple[Lease, ...]:
        """Drop machines as holders; revoke every lease left without a holder.

        Returns:
            The leases revoked now.

        Raises:
            AwsError: A rule could not be revoked (its lease stays ``active`` for a retry).
        """
        ids = {instance_ids} if isinstance(instance_ids, str) else set(instance_ids)
        orphaned: dict[str, Lease] = {}
        with self._journal.exclusive(_LOCK, poll=0.2):
            for instance_id in sorted(ids):
                for record in self._journal.leases(holder=instance_id):
                    after = self._journal.release_lease(record.lease_id, instance_id)
                    if not after.holders and after.state != REVOKED:
                        orphaned[after.lease_id] = Lease.from_record(after)
            return self._revoke(orphaned.values())

    def revoke_all(self) -> tuple[Lease, ...]:
        """Revoke every lease that is not revoked yet (abort, rollback, end of migration).

        Returns:
            The leases revoked.

        Raises:
            AwsError: A rule could not be revoked (its lease stays for a retry).
        """
        with self._journal.exclusive(_LOCK, poll=0.2):
            live = [Lease.from_record(r) for r in self._journal.leases() if r.state != REVOKED]
            return self._revoke(live)

    def reconcile(self, *, finished: Iterable[str] = ()) -> ReconcileReport:
        """Settle the journal with EC2 after a crash, then revoke what nobody needs.

        A ``requested`` lease may or may not have reached EC2: it becomes ``active`` when its
        rule exists, ``revoked`` when not (acquire it again to add it). An ``active`` lease whose
        rule was removed by someone becomes ``revoked``. Then ``finished`` machines release
        their leases and every lease without a holder is revoked.

        Args:
            finished: Machines whose migration ended (completed, aborted, rolled back).

        Raises:
            AwsError: EC2 could not be read, or a rule could not be revoked.
        """
        with self._journal.exclusive(_LOCK, poll=0.2):
            return self._reconcile(finished)

    def _reconcile(self, finished: Iterable[str]) -> ReconcileReport:
        live = [Lease.from_record(r) for r in self._journal.leases() if r.state != REVOKED]
        owned = find_owned(self._ec2, {lease.spec.group_id for lease in live})
        activated: list[str] = []
        never_made: list[str] = []
        vanished: list[str] = []
        for lease in live:
            if lease.lease_id in owned:
                if lease.state == REQUESTED:
                    self._journal.set_lease_state(lease.lease_id, ACTIVE)
                    activated.append(lease.lease_id)
                continue
            self._journal.set_lease_state(lease.lease_id, REVOKED)
            (never_made if lease.state == REQUESTED else vanished).append(lease.lease_id)
            if lease.state == ACTIVE:
                logger.warning("leased rule %s was removed outside ec2asr", lease)
        for instance_id in set(finished):
            for record in self._journal.leases(holder=instance_id):
                self._journal.release_lease(record.lease_id, instance_id)
        unheld = [Lease.from_record(r) for r in self._journal.leases(state=ACTIVE) if not r.holders]
        revoked = self._revoke(unheld, owned=owned)
        return ReconcileReport(
            activated=tuple(activated),
            never_made=tuple(never_made),
            vanished=tuple(vanished),
            revoked=tuple(lease.lease_id for lease in revoked),
        )

    # -- AWS ------------------------------------------------------------------------------

    def _lease(self, lease_id: str) -> Lease:
        for record in self._journal.leases():
            if record.lease_id == lease_id:
                return Lease.from_record(record)
        raise KeyError(lease_id)

    def _authorize(
        self, to_make: Mapping[str, LeaseSpec], elsewhere: list[LeaseSpec]
    ) -> dict[str, Ec2AsrError]:
        """Add the rules, one call per group and direction; return the errors per lease."""
        batches: dict[tuple[str, Direction], list[str]] = defaultdict(list)
        for lease_id, spec in to_make.items():
            batches[(spec.group_id, spec.direction)].append(lease_id)
        errors: dict[str, Ec2AsrError] = {}
        duplicates: list[str] = []
        for (group_id, direction), lease_ids in sorted(batches.items()):
            batch = [(lid, to_make[lid]) for lid in sorted(lease_ids)]
            outcome = self._authorize_batch(group_id, direction, batch)
            if outcome is None or len(batch) == 1:
                for lease_id, _ in batch:
                    self._settle(lease_id, outcome, errors, duplicates)
                continue
            # One rule of the batch may exist already, or only one was refused: one by one.
            for lease_id, spec in batch:
                single = self._authorize_batch(group_id, direction, [(lease_id, spec)])
                self._settle(lease_id, single, errors, duplicates)
        if duplicates:
            owned = find_owned(self._ec2, {to_make[lid].group_id for lid in duplicates})
            for lease_id in duplicates:
                if lease_id in owned:
                    self._journal.set_lease_state(lease_id, ACTIVE)
                    continue
                self._journal.set_lease_state(lease_id, REVOKED)
                elsewhere.append(to_make[lease_id])
                logger.info(
                    "an identical rule not made by ec2asr already allows %s: nothing leased",
                    to_make[lease_id],
                )
        return errors

    def _settle(
        self,
        lease_id: str,
        outcome: Failure | None,
        errors: dict[str, Ec2AsrError],
        duplicates: list[str],
    ) -> None:
        if outcome is None:
            self._journal.set_lease_state(lease_id, ACTIVE)
        elif outcome.duplicate:
            duplicates.append(lease_id)
        else:
            errors[lease_id] = outcome.error
            if outcome.definitive:
                self._journal.set_lease_state(lease_id, REVOKED)
            # Otherwise the request may have reached EC2: "requested" until reconcile() looks.

    def _authorize_batch(
        self, group_id: str, direction: Direction, batch: list[tuple[str, LeaseSpec]]
    ) -> Failure | None:
        """Add the batch's rules in one call; None on success."""
        ingress = direction is Direction.INGRESS
        action = (
            "ec2:AuthorizeSecurityGroupIngress" if ingress else "ec2:AuthorizeSecurityGroupEgress"
        )
        call = (
            self._ec2.authorize_security_group_ingress
            if ingress
            else self._ec2.authorize_security_group_egress
        )
        try:
            call(
                GroupId=group_id,
                IpPermissions=[spec.permission(lease_id) for lease_id, spec in batch],
            )
        except ClientError as exc:
            error = _boto.translate_client_error(exc, action=action)
            error.__cause__ = exc
            return Failure(error, duplicate=error.code == "InvalidPermission.Duplicate")
        except BotoCoreError as exc:
            error = AwsError(f"{action} failed: {exc}", action=action)
            error.__cause__ = exc
            return Failure(error, definitive=False)
        logger.info("leased %s", "; ".join(f"{spec} ({lease_id})" for lease_id, spec in batch))
        return None

    def _revoke(
        self,
        leases: Iterable[Lease],
        *,
        owned: Mapping[str, list[tuple[str, bool, str]]] | None = None,
    ) -> tuple[Lease, ...]:
        """Remove the rules carrying these leases' ids, one call per group and direction."""
        leases = list(leases)
        if not leases:
            return ()
        if owned is None:
            owned = find_owned(self._ec2, {lease.spec.group_id for lease in leases})
        batches: dict[tuple[str, bool], list[str]] = defaultdict(list)
        rule_leases: dict[str, str] = {}
        done: list[Lease] = []
        for lease in leases:
            rules = owned.get(lease.lease_id, [])
            if not rules:
                self._journal.set_lease_state(lease.lease_id, REVOKED)
                done.append(lease)
            for group_id, egress, rule_id in rules:
                batches[(group_id, egress)].append(rule_id)
                rule_leases[rule_id] = lease.lease_id
        failures: list[AwsError] = []
        revoked_ids: set[str] = set()
        for (group_id, egress), rule_ids in sorted(batches.items()):
            failure = revoke_rules(self._ec2, group_id, egress=egress, rule_ids=rule_ids)
            if failure is not None:
                failures.append(failure)
                continue
            revoked_ids.update(rule_leases[r] for r in rule_ids)
        for lease in leases:
            if lease.lease_id in revoked_ids:
                self._journal.set_lease_state(lease.lease_id, REVOKED)
                done.append(lease)
                logger.info("revoked lease %s", lease)
        if failures:
            raise failures[0]
        return tuple(done)
