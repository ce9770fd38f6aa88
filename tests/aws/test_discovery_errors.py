"""Error translation at the boto boundary, input validation and client set-up (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.stub import Stubber

from ec2asr import (
    AwsError,
    AwsPermissionError,
    AwsThrottlingError,
    InstancesNotFoundError,
    InvalidInputError,
)
from ec2asr.aws import Ec2Discovery
from ec2asr.aws._boto import chunked, client_config, translate_client_error, translate_errors

ID_A = "i-0123456789abcdef0"


def session() -> boto3.Session:
    return boto3.Session(
        region_name="eu-west-1", aws_access_key_id="AKIATEST", aws_secret_access_key="test"
    )


@pytest.fixture(scope="module")
def shared_session() -> boto3.Session:
    # One session per module: botocore caches the loaded service model per session.
    return session()


@pytest.fixture
def ec2(shared_session: boto3.Session) -> Iterator[tuple[Any, Stubber, list[str]]]:
    client = shared_session.client("ec2", endpoint_url="http://127.0.0.1:9")
    calls: list[str] = []
    client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    with Stubber(client) as stubber:
        yield client, stubber, calls


def client_error(code: str, message: str = "", operation: str = "DescribeInstances") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("UnauthorizedOperation", AwsPermissionError),
        ("AccessDenied", AwsPermissionError),
        ("AccessDeniedException", AwsPermissionError),
        ("Throttling", AwsThrottlingError),
        ("RequestLimitExceeded", AwsThrottlingError),
        ("ThrottlingException", AwsThrottlingError),
        ("AuthFailure", AwsError),
        ("InternalError", AwsError),
    ],
)
def test_translate_client_error_picks_the_branch(code: str, kind: type[AwsError]) -> None:
    error = translate_client_error(client_error(code, "nope"), action="ec2:DescribeInstances")
    assert type(error) is kind
    assert error.code == code
    assert error.action == "ec2:DescribeInstances"


def test_permission_error_names_the_refused_action() -> None:
    error = translate_client_error(
        client_error("UnauthorizedOperation", "You are not authorized to perform this operation."),
        action="ec2:DescribeInstances",
    )
    assert isinstance(error, AwsPermissionError)
    assert "ec2:DescribeInstances" in str(error)
    assert "not authorized" in str(error)


def test_not_found_error_lists_exactly_the_missing_ids() -> None:
    error = translate_client_error(
        client_error(
            "InvalidInstanceID.NotFound",
            "The instance IDs 'i-0aaaaaaaaaaaaaaaa, i-0bbbbbbbbbbbbbbbb' do not exist",
        ),
        action="ec2:StopInstances",
    )
    assert isinstance(error, InstancesNotFoundError)
    assert error.missing_ids == ("i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb")
    assert error.action == "ec2:StopInstances"


def test_translate_errors_keeps_the_cause_and_handles_botocore_errors() -> None:
    original = client_error("AccessDenied")
    with pytest.raises(AwsPermissionError) as caught, translate_errors("ec2:DescribeImages"):
        raise original
    assert caught.value.__cause__ is original
    with pytest.raises(AwsError, match="no AWS credentials"), translate_errors("ec2:X"):
        raise NoCredentialsError()


def test_discovery_translates_unauthorized_operation(ec2: tuple[Any, Stubber, list[str]]) -> None:
    client, stubber, _ = ec2
    stubber.add_client_error(
        "describe_instances",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        http_status_code=403,
    )
    with pytest.raises(AwsPermissionError) as caught:
        Ec2Discovery(ec2_client=client).discover()
    assert caught.value.action == "ec2:DescribeInstances"
    assert caught.value.code == "UnauthorizedOperation"
    assert isinstance(caught.value.__cause__, ClientError)


def test_discovery_names_the_later_action_that_was_refused(
    ec2: tuple[Any, Stubber, list[str]],
) -> None:
    client, stubber, _ = ec2
    stubber.add_response(
        "describe_instances",
        {
            "Reservations": [
                {
                    "Instances": [
                        {
                            "InstanceId": ID_A,
                            "ImageId": "ami-0123456789abcdef0",
                            "InstanceType": "m5.large",
                            "State": {"Name": "running", "Code": 16},
                        }
                    ]
                }
            ]
        },
    )
    stubber.add_client_error("describe_images", service_error_code="UnauthorizedOperation")
    with pytest.raises(AwsPermissionError) as caught:
        Ec2Discovery(ec2_client=client).discover()
    assert caught.value.action == "ec2:DescribeImages"


def test_discovery_translates_throttling(ec2: tuple[Any, Stubber, list[str]]) -> None:
    client, stubber, _ = ec2
    stubber.add_client_error(
        "describe_instances", service_error_code="RequestLimitExceeded", http_status_code=503
    )
    with pytest.raises(AwsThrottlingError) as caught:
        Ec2Discovery(ec2_client=client).discover()
    assert caught.value.action == "ec2:DescribeInstances"


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"instance_ids": ["i-123"]}, "not EC2 instance ids"),
        ({"instance_ids": ["i-0123456789abcdef0", "web-01"]}, "web-01"),
        ({"instance_ids": ID_A}, "not one string"),
        ({"instance_ids": []}, "is empty"),
        ({"instance_ids": [""]}, "empty"),
        ({"vpc_id": "vpc-12"}, "not a VPC id"),
        ({"vpc_id": ""}, "not a VPC id"),
        ({"private_ips": ["10.0.0.300"]}, "not an IPv4"),
        ({"private_ips": []}, "is empty"),
        ({"tags": {}}, "non-empty mapping"),
        ({"tags": {"": "x"}}, "empty or non-string key"),
        ({"tags": {"Env": [""]}}, "empty"),
        ({"tags": {"Env": []}}, "is empty"),
        ({"os_overrides": {"web-01": "rhel 8"}}, "not an instance id"),
        ({"os_overrides": {ID_A: "my favourite distro"}}, "names no known OS"),
    ],
)
def test_bad_selectors_are_refused_before_any_call(
    ec2: tuple[Any, Stubber, list[str]], kwargs: dict[str, Any], phrase: str
) -> None:
    client, _, calls = ec2
    with pytest.raises(InvalidInputError, match=phrase):
        Ec2Discovery(ec2_client=client).discover(**kwargs)
    assert calls == []


def test_invalid_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="page_size"):
        Ec2Discovery(page_size=2)


def test_constructor_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("a session was created in the constructor")

    monkeypatch.setattr(boto3, "Session", refuse)
    Ec2Discovery()
    Ec2Discovery(config=Config(read_timeout=5))


def test_clients_use_standard_retries_and_the_callers_config() -> None:
    discovery = Ec2Discovery(session(), config=Config(read_timeout=7))
    config = discovery.ec2.meta.config
    assert config.retries["mode"] == "standard"
    assert config.read_timeout == 7
    assert discovery.region == "eu-west-1"
    caller_retries = client_config(Config(retries={"mode": "adaptive", "max_attempts": 9}))
    assert caller_retries.retries == {"mode": "adaptive", "max_attempts": 9}


def test_chunked() -> None:
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 200)) == []
