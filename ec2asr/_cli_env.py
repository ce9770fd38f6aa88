"""Where the command line's credentials, endpoints and time come from.

Against AWS and Azure: a boto3 session from the config's profile (or the default chain), with
``aws.endpoint_url`` on every client when one is set, and azure-identity's
``DefaultAzureCredential``. Against the rehearsal sandbox (``python -m ec2asr sandbox`` writes
such a config), recognised by loopback ``http://`` endpoints only:

* AWS: fixed dummy credentials (moto accepts any) and no shared config or profile, so none of
  your AWS credentials is ever sent to the local server;
* Azure: a fixed sandbox token over the loopback-only bearer policy, never a real token;
* time: the sandbox's simulated clock (``simulated_clock``), so that the times ec2asr journals
  compare with the emulator's, and waits are scaled by its speed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import attrs

from ec2asr._config import AwsConfig, AzureConfig, SimulatedClockConfig
from ec2asr.errors import InvalidInputError

__all__ = ["SANDBOX_ACCESS_KEY", "SANDBOX_TOKEN", "CliEnvironment", "SandboxCredential"]

SANDBOX_ACCESS_KEY = "AKIAEC2ASRSANDBOX000"
"""The access key id the command line signs sandbox requests with (not a credential)."""
_SANDBOX_SECRET_KEY = "ec2asr-sandbox-not-a-secret"
SANDBOX_TOKEN = "ec2asr-sandbox-token"
"""The bearer token sent to a loopback ASR emulator (not a credential)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SandboxCredential:
    """A ``TokenCredential`` for the rehearsal sandbox's emulator: a fixed, worthless token.

    The command line uses it only when ``azure.base_url`` is a loopback ``http://`` URL, and
    the pipeline's loopback bearer policy refuses to send it anywhere else.
    """

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """The sandbox token, valid for an hour."""
        from azure.core.credentials import AccessToken

        return AccessToken(SANDBOX_TOKEN, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        """The sandbox token (``SupportsTokenInfo``)."""
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(SANDBOX_TOKEN, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "SandboxCredential()"


def _endpoint_session(aws: AwsConfig) -> Any:
    """A boto3 session whose clients default to ``aws.endpoint_url``."""
    import boto3
    import botocore.session

    sandbox = aws.sandbox
    endpoint_url = aws.endpoint_url

    class EndpointSession(botocore.session.Session):
        def get_scoped_config(self) -> dict[str, Any]:
            # The sandbox ignores every profile (AWS_PROFILE included).
            return {} if sandbox else dict(super().get_scoped_config())

        def create_client(self, *args: Any, **kwargs: Any) -> Any:
            if len(args) < 6 and kwargs.get("endpoint_url") is None:
                kwargs["endpoint_url"] = endpoint_url
            return super().create_client(*args, **kwargs)

    core = EndpointSession(profile=None if sandbox else aws.profile)
    if sandbox:
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        core.set_credentials(SANDBOX_ACCESS_KEY, _SANDBOX_SECRET_KEY)
    else:
        core.get_scoped_config()  # an unknown profile fails here, clearly
    core.set_config_variable("region", aws.region)
    return boto3.Session(botocore_session=core, region_name=aws.region)


def aws_session(aws: AwsConfig) -> Any:
    """The boto3 session for the ``aws`` section.

    Raises:
        InvalidInputError: The profile does not exist.
    """
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        if aws.endpoint_url is not None:
            return _endpoint_session(aws)
        return boto3.Session(region_name=aws.region, profile_name=aws.profile)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise InvalidInputError(f"aws.profile: {exc}") from exc


def azure_credential(azure: AzureConfig) -> Any:
    """The Azure credential for the ``azure`` section (the sandbox's on loopback)."""
    if azure.sandbox:
        return SandboxCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@attrs.frozen
class CliEnvironment:
    """What the commands take from the world: credentials and time.

    Attributes:
        aws_session: Builds the boto3 session from the ``aws`` section.
        azure_credential: Builds the Azure ``TokenCredential`` from the ``azure`` section.
        sleep: How to wait.
        now: The current time (UTC).
        monotonic: Seconds for rate limiting and timeouts (None: the clients' own).
    """

    aws_session: Callable[[AwsConfig], Any] = aws_session
    azure_credential: Callable[[AzureConfig], Any] = azure_credential
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] | None = None

    def with_clock(self, clock: SimulatedClockConfig | None) -> CliEnvironment:
        """This environment on the sandbox's simulated clock (unchanged without one)."""
        if clock is None:
            return self
        real_sleep = self.sleep

        def now() -> datetime:
            return clock.now(time.time())

        def sleep(seconds: float) -> None:
            real_sleep(max(0.0, float(seconds)) / clock.speed)

        return attrs.evolve(
            self, now=now, sleep=sleep, monotonic=lambda: clock.now(time.time()).timestamp()
        )
