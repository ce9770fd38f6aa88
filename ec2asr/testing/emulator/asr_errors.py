"""The ASR errors the emulator reproduces: job errors, health errors, refusals.

Error ids, possible causes and recommended actions follow Microsoft's troubleshooting articles
"Troubleshoot Mobility Service push installation issues" (95107, 95108, 95117), "Troubleshoot
the process server" (78186: the process server is unreachable from the source machine) and
"Troubleshoot replication issues for VMware VMs and physical servers" (78174: no heartbeat from
the source machine). The message wording is the emulator's; ASR's own texts are longer and vary
by release.
"""

from __future__ import annotations

from typing import Any

from ec2asr.testing.emulator.arm import ArmError
from ec2asr.testing.emulator.models import JobError

__all__ = [
    "APPLIANCE_CAPACITY",
    "appliance_full",
    "no_heartbeat_health_error",
    "push_connectivity_error",
    "push_credentials_error",
    "replication_unreachable_health_error",
    "state_refusal",
]

PUSH_CONNECTIVITY = "95117"
PUSH_CREDENTIALS_WINDOWS = "95107"
PUSH_CREDENTIALS_LINUX = "95108"
PROCESS_SERVER_UNREACHABLE = "78186"
NO_SOURCE_HEARTBEAT = "78174"
NO_TEST_FAILOVER = "161011"

APPLIANCE_CAPACITY = 200
"""Machines one replication appliance replicates at once: Microsoft Learn, *Deploy Azure Site
Recovery replication appliance - Modernized*, "Sizing and capacity" ("An appliance that uses an
in-built process server to protect the workload can handle up to 200 virtual machines")."""

APPLIANCE_FULL = "ApplianceCapacityExceeded"
"""The emulator's code for an enable beyond an appliance's capacity. An assumption: ASR's own
answer to it is not documented (docs/sandbox.md)."""


def push_connectivity_error(
    machine_name: str, appliance_ip: str, missing: tuple[str, ...]
) -> JobError:
    """Job error when the appliance cannot reach the source to push the agent."""
    detail = "; ".join(missing) if missing else "the required ports"
    return JobError(
        code=PUSH_CONNECTIVITY,
        message=(
            f"Push installation of the Mobility service to the source machine {machine_name} "
            f"failed: the replication appliance ({appliance_ip}) could not connect to the machine."
        ),
        possible_causes=(
            "The source machine is not reachable from the replication appliance over the network: "
            f"a firewall or network security group blocks it ({detail}), or the machine is off."
        ),
        recommended_action=(
            f"Allow the push-installation ports on the source machine from {appliance_ip} "
            "(Windows: TCP 445, 135 and 49152-65535; Linux: TCP 22 with the SFTP subsystem "
            "enabled), make sure the machine is running, then retry the operation."
        ),
        provider_error=True,
    )


def push_credentials_error(machine_name: str, account: str, os_type: str) -> JobError:
    """Job error when the run-as account cannot log on with administrator rights."""
    if os_type == "windows":
        return JobError(
            code=PUSH_CREDENTIALS_WINDOWS,
            message=(
                f"Push installation of the Mobility service to the source machine {machine_name} "
                f"failed: the credentials of the account '{account}' are not valid on the machine."
            ),
            possible_causes=(
                "The user account chosen during enable replication is not valid, or it does not "
                "have administrative access (local or domain) on the source machine."
            ),
            recommended_action=(
                "Verify the account's user name and password and that it is an administrator on "
                "the source machine. For a local account, disable Remote User Access control "
                "(LocalAccountTokenFilterPolicy=1). Then retry the operation."
            ),
            provider_error=True,
        )
    return JobError(
        code=PUSH_CREDENTIALS_LINUX,
        message=(
            f"Push installation of the Mobility service to the source machine {machine_name} "
            f"failed: the credentials of the account '{account}' are not valid on the machine."
        ),
        possible_causes=(
            "The account chosen during enable replication is not the root account, its password "
            "is wrong, or password authentication or the SFTP subsystem is disabled in sshd."
        ),
        recommended_action=(
            "Use the root account, set PasswordAuthentication yes and enable the SFTP Subsystem "
            "in /etc/ssh/sshd_config, restart sshd, then retry the operation."
        ),
        provider_error=True,
    )


def replication_unreachable_health_error(
    machine_name: str, appliance_ip: str, missing: tuple[str, ...], created: str, entity_id: str
) -> dict[str, Any]:
    """The health error a protected item shows while its source cannot reach the appliance."""
    detail = "; ".join(missing) if missing else "TCP 443 and 9443"
    return {
        "innerHealthErrors": [],
        "errorSource": "ProcessServer",
        "errorType": "78186",
        "errorLevel": "Error",
        "errorCategory": "Replication",
        "errorCode": PROCESS_SERVER_UNREACHABLE,
        "summaryMessage": "Process server not reachable from the source machine",
        "errorMessage": (
            f"The process server {appliance_ip} is not reachable from the source machine "
            f"{machine_name}; no data reaches the appliance and no recovery points are created."
        ),
        "possibleCauses": (
            f"Outbound traffic from the source machine to the appliance is blocked ({detail}), "
            "or the appliance is not running."
        ),
        "recommendedAction": (
            f"Allow outbound TCP 443 and 9443 from the source machine to {appliance_ip} and "
            "inbound on the appliance, then check the path with 'telnet <appliance IP> 9443' "
            "from the source."
        ),
        "creationTimeUtc": created,
        "recoveryProviderErrorMessage": None,
        "entityId": entity_id,
        "errorId": "78186:1",
        "customerResolvability": "Allowed",
    }


def no_heartbeat_health_error(
    machine_name: str, last_heartbeat: str, created: str, entity_id: str
) -> dict[str, Any]:
    """The health error (78174) of an item whose source machine's agent went silent (stopped)."""
    return {
        "innerHealthErrors": [],
        "errorSource": "SourceAgent",
        "errorType": NO_SOURCE_HEARTBEAT,
        "errorLevel": "Error",
        "errorCategory": "Replication",
        "errorCode": NO_SOURCE_HEARTBEAT,
        "summaryMessage": "No heartbeat from the source machine",
        "errorMessage": (
            f"The Mobility service on the source machine {machine_name} has not sent a heartbeat "
            f"since {last_heartbeat}; replication is not progressing and no recovery points are "
            "created."
        ),
        "possibleCauses": (
            "The source machine is shut down or stopped, or the Mobility service on it is not "
            "running or cannot communicate with the replication appliance."
        ),
        "recommendedAction": (
            "Verify that the source machine is running. Sign in to it as an administrator, make "
            "sure the Mobility service (svagents) is running, restart it if needed and check its "
            "logs."
        ),
        "creationTimeUtc": created,
        "recoveryProviderErrorMessage": None,
        "entityId": entity_id,
        "errorId": f"{NO_SOURCE_HEARTBEAT}:1",
        "customerResolvability": "Allowed",
    }


def no_test_failover_health_error(
    target_vm_name: str, created: str, entity_id: str
) -> dict[str, Any]:
    """ASR's warning (161011) while no test failover succeeded on a protected machine."""
    return {
        "innerHealthErrors": [],
        "errorSource": "ReplicationUnitFailoverValidatorError",
        "errorType": "15",
        "errorLevel": "Warning",
        "errorCategory": "TestFailover",
        "errorCode": NO_TEST_FAILOVER,
        "summaryMessage": "",
        "errorMessage": (
            f"No successful test failover has been done on the virtual machine '{target_vm_name}'."
        ),
        "possibleCauses": (
            "No successful test failover has been done on the virtual machine after it was "
            "replicated."
        ),
        "recommendedAction": "Do a test failover on the virtual machine.",
        "creationTimeUtc": created,
        "recoveryProviderErrorMessage": None,
        "entityId": entity_id,
        "errorId": "6:15",
        "customerResolvability": "NotAllowed",
    }


def state_refusal(operation: str, item_name: str, state: str, allowed: list[str]) -> ArmError:
    """The 400 ASR answers when an operation is not allowed in the item's current state."""
    allowed_text = ", ".join(allowed) if allowed else "none"
    return ArmError(
        400,
        "OperationNotAllowed",
        (
            f"The operation '{operation}' is not allowed for the replicated item '{item_name}' "
            f"in its current state '{state}'."
        ),
        extra={
            "possibleCauses": f"Operations allowed in this state: {allowed_text}.",
            "recommendedAction": (
                "Check the item's allowedOperations and wait for the running job to finish."
            ),
        },
    )


def operation_in_progress(item_name: str, job_name: str) -> ArmError:
    """The 409 when another operation already runs on the item."""
    return ArmError(
        409,
        "AnotherOperationInProgress",
        (
            f"Another operation (job '{job_name}') is in progress on the replicated item "
            f"'{item_name}'."
        ),
        extra={
            "possibleCauses": "A previous operation on this item has not finished.",
            "recommendedAction": "Wait for the job to finish, then retry.",
        },
    )


def target_vm_exists(vm_name: str, resource_group_id: str) -> JobError:
    """The failover job's error when a VM of the target name already exists in the target
    resource group (an earlier failover's VM, kept by a rollback). No Microsoft page documents
    the code: ``TargetVmAlreadyExists`` is the emulator's own (docs/sandbox.md)."""
    group = resource_group_id.rstrip("/").rsplit("/", 1)[-1]
    return JobError(
        code="TargetVmAlreadyExists",
        message=(
            f"A virtual machine named '{vm_name}' already exists in the resource group "
            f"'{group}'; the failover cannot create it."
        ),
        possible_causes="An earlier failover of this machine created it and it was not deleted.",
        recommended_action=(
            "Delete the existing virtual machine, or change the target VM name of the replicated "
            "item, then retry the failover."
        ),
    )


def appliance_full(appliance_name: str, replicating: int, capacity: int) -> ArmError:
    """The 400 the emulator answers to an enable through a process server already replicating
    ``capacity`` machines (an assumption: see :data:`APPLIANCE_FULL`)."""
    return ArmError(
        400,
        APPLIANCE_FULL,
        (
            f"The replication appliance '{appliance_name}' already replicates {replicating} "
            f"machines, its capacity ({capacity})."
        ),
        extra={
            "possibleCauses": "Every machine replicating through an appliance uses its process "
            "server until it fails over or its replication is disabled.",
            "recommendedAction": "Enable replication through another appliance's process "
            "server, or add a scale-out appliance.",
        },
    )
