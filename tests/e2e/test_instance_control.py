from __future__ import annotations

import inspect

import pytest

import ec2asr.aws.instances as instances_module
from ec2asr.aws.instances import InstanceControl
from ec2asr.errors import InvalidInputError
from ec2asr.testing import Sandbox


def test_stop_start_tag_in_batches() -> None:
    with Sandbox() as sandbox:
        fleet = sandbox.seed_fleet(profiles=["rhel8", "win2016"])
        ec2 = sandbox.new_aws_session().client("ec2")
        calls: list[str] = []
        ec2.meta.events.register("before-call.*.*", lambda model, **kw: calls.append(model.name))
        control = InstanceControl(ec2)
        ids = list(fleet.instance_ids)
        assert set(control.states(ids).values()) == {"running"}
        control.stop(ids)
        assert set(control.states(ids).values()) == {"stopped"}
        control.start(ids)
        assert set(control.states(ids).values()) == {"running"}
        control.tag(ids[0], {"ec2asr:azure-vm-id": "/subscriptions/x/vm"})
        tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["Tags"]
        assert {
            "Key": "ec2asr:azure-vm-id",
            "Value": "/subscriptions/x/vm",
            "ResourceId": ids[0],
            "ResourceType": "instance",
        } in tags
    assert calls.count("StopInstances") == 1
    assert calls.count("StartInstances") == 1
    assert "TerminateInstances" not in calls


def test_bad_ids_are_refused_before_any_call() -> None:
    control = InstanceControl(ec2_client=object())
    with pytest.raises(InvalidInputError):
        control.stop(["not-an-instance"])
    with pytest.raises(InvalidInputError):
        control.tag("i-1", {})


def test_the_module_cannot_terminate_anything() -> None:
    source = inspect.getsource(instances_module)
    assert "terminate_instances" not in source
    assert not any("terminate" in name for name in dir(InstanceControl))
