"""The sandbox's AWS half: the moto server, the session, the AMI catalogue."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from ec2asr.aws import Ec2Discovery
from ec2asr.testing import Sandbox
from ec2asr.testing._moto import CATALOGUE_PATH, _NotImplementedAs501, load_catalogue

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as started:
        yield started


def port_of(sandbox: Sandbox) -> int:
    url = urlparse(sandbox.aws_endpoint_url)
    assert url.hostname == "127.0.0.1"
    assert url.port is not None
    return url.port


def test_server_listens_on_a_free_port_and_releases_it_on_stop() -> None:
    sandbox = Sandbox().start()
    port = port_of(sandbox)
    assert port != 5000  # moto's default: the sandbox always asks the OS for a free port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    sandbox.ec2_session.client("ec2").describe_vpcs()
    sandbox.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
        probe.listen()
    finally:
        probe.close()


def test_start_and_stop_are_idempotent_and_a_stopped_sandbox_refuses_use() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.ec2_session
    sandbox.start()
    url = sandbox.aws_endpoint_url
    assert sandbox.start().aws_endpoint_url == url
    assert sandbox.running
    sandbox.stop()
    sandbox.stop()
    assert not sandbox.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.aws_endpoint_url
    with pytest.raises(RuntimeError, match="not running"):
        sandbox.seed_fleet()


@pytest.mark.parametrize("service", ["ec2", "ssm", "sts", "iam", "s3"])
def test_session_clients_reach_only_the_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    # Whatever the user's environment says, the sandbox session talks to 127.0.0.1 only.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", "https://example.invalid")
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    session = sandbox.new_aws_session()
    client = session.client(service)
    assert client.meta.endpoint_url == sandbox.aws_endpoint_url
    assert client.meta.region_name == sandbox.region
    assert session.get_credentials().access_key != "AKIAREALLOOKINGKEY00"


def test_the_sandbox_sets_no_process_wide_aws_variables(sandbox: Sandbox) -> None:
    leaked = {k for k in os.environ if k.startswith("AWS_")}
    assert not leaked & {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    }


def test_session_speaks_for_the_sandbox_account(sandbox: Sandbox) -> None:
    identity = sandbox.ec2_session.client("sts").get_caller_identity()
    assert identity["Account"] == sandbox.aws_account_id


def test_the_ami_catalogue_is_what_ec2_describes(sandbox: Sandbox) -> None:
    images = sandbox.ec2_session.client("ec2").describe_images()["Images"]
    catalogue = {ami["ami_id"]: ami for ami in load_catalogue()}
    assert {i["ImageId"] for i in images} == set(catalogue)
    for image in images:
        entry = catalogue[image["ImageId"]]
        assert image["Name"] == entry["name"]
        assert image["Architecture"] == entry["architecture"]
        assert image["VirtualizationType"] == entry["virtualization_type"]
        assert image.get("BootMode") == entry["boot_mode"]


def test_the_catalogue_applies_even_when_moto_was_imported_first(tmp_path: Any) -> None:
    script = """
import json, os
import moto.ec2.models.amis as amis            # moto first, with its own catalogue
default = len(amis.AMIS)
from ec2asr.testing import Sandbox
with Sandbox() as sandbox:
    images = sandbox.ec2_session.client("ec2").describe_images()["Images"]
    during = os.environ.get("MOTO_AMIS_PATH")
print(json.dumps({
    "ids": sorted(i["ImageId"] for i in images),
    "during": during,
    "after": os.environ.get("MOTO_AMIS_PATH"),
    "restored": len(amis.AMIS) == default,
}))
"""
    env = {k: v for k, v in os.environ.items() if k != "MOTO_AMIS_PATH"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ids"] == sorted(ami["ami_id"] for ami in load_catalogue())
    assert result["during"] == str(CATALOGUE_PATH)
    assert result["after"] is None
    assert result["restored"] is True


def test_two_sandboxes_in_one_process_do_not_see_each_other(sandbox: Sandbox) -> None:
    with Sandbox() as other:
        mine = other.seed_fleet(profiles=["win2016"])
        assert other.aws_account_id != sandbox.aws_account_id
        others_ids = {m.instance_id for m in Ec2Discovery(other.ec2_session).discover()}
        assert set(mine.instance_ids) <= others_ids
        seen_here = {m.instance_id for m in Ec2Discovery(sandbox.ec2_session).discover()}
        assert not seen_here & others_ids
    # Stopping one sandbox leaves the other (and its AMI catalogue) working.
    assert sandbox.ec2_session.client("ec2").describe_images()["Images"]


def test_unimplemented_actions_answer_501_once(sandbox: Sandbox) -> None:
    ssm = sandbox.ec2_session.client("ssm")
    attempts: list[str] = []
    ssm.meta.events.register("before-send.*.*", lambda event_name, **_: attempts.append(event_name))
    with pytest.raises(ClientError) as caught:
        ssm.describe_instance_information()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert len(attempts) == 1


def test_501_body_follows_the_request_protocol() -> None:
    def moto_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise NotImplementedError("The frobnicate action has not been implemented")

    app = _NotImplementedAs501(moto_app)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    xml = b"".join(app({"CONTENT_TYPE": "application/x-www-form-urlencoded"}, start_response))
    assert b"<Code>NotImplemented</Code>" in xml
    as_json = b"".join(app({"HTTP_X_AMZ_TARGET": "AmazonSSM.Frobnicate"}, start_response))
    assert json.loads(as_json)["__type"] == "NotImplemented"
    assert statuses == ["501 Not Implemented"] * 2
