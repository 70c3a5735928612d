"""Fixtures for the sample application: the go command, a scratch copy of the
app, one shared build and one shared package run against a local S3 (moto)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from emulator.codebuild.environment import go_cache_root

from tests.sample_app.gotool import find_go

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"
# The awscli next to this interpreter, so `make package` uses the virtualenv's.
AWS_CLI = Path(sys.executable).parent / "aws"
REGION = "eu-west-1"
COMMAND_TIMEOUT = 300


@dataclass(frozen=True)
class Toolchain:
    """The go command and the environment every go/make call runs with."""

    go: Path
    env: dict[str, str]

    def run(self, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None,
            drop_env: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run a command to completion and return it; the caller checks the result."""
        env = dict(self.env)
        for name in drop_env:
            env.pop(name, None)
        env.update(extra_env or {})
        return subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )

    def go_cmd(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.go), *args], cwd)

    def make(self, *targets: str, cwd: Path, extra_env: dict[str, str] | None = None,
             drop_env: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        # RACE= : the race runtime costs a cold build of its own; CodeBuild runs it.
        args = ["make", f"GO={self.go}", f"AWS={AWS_CLI}", "RACE=", *targets]
        return self.run(args, cwd, extra_env, drop_env)


def copy_app(destination: Path) -> Path:
    """Copy the app's sources (not its outputs) so make never writes into the repository."""
    shutil.copytree(
        SAMPLE_APP, destination, ignore=shutil.ignore_patterns("build", "reports", "packaged.yaml")
    )
    return destination


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="session")
def toolchain(tmp_path_factory) -> Toolchain:
    scratch = tmp_path_factory.mktemp("go")
    env = dict(os.environ)
    for name in ("ARTIFACT_BUCKET", "ARTIFACT_KEY_ARN", "S3_PREFIX", "GOFLAGS", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    env.update(
        # The local CodeBuild's cache, shared by every go call of the run (a cold one compiles the
        # standard library twice: once for the host, once for linux/arm64). SAMPLE_APP_GOCACHE overrides it.
        GOCACHE=os.environ.get("SAMPLE_APP_GOCACHE") or str(go_cache_root() / "build"),
        GOPATH=str(scratch / "gopath"),
        GOENV="off",  # ignore a developer's `go env -w` settings
        GOTOOLCHAIN="local",
        GOPROXY="off",
    )
    return Toolchain(go=find_go(), env=env)


@pytest.fixture(scope="session")
def built_app(toolchain, tmp_path_factory) -> Path:
    """A copy of the app after `make build`."""
    app = copy_app(tmp_path_factory.mktemp("built") / "sample_app")
    result = toolchain.make("build", cwd=app)
    assert result.returncode == 0, describe(result)
    return app


@pytest.fixture
def fresh_app(tmp_path) -> Path:
    """A private copy of the app's sources for a test that edits or breaks it."""
    return copy_app(tmp_path / "sample_app")


def _client(endpoint: str, service: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    bucket: str
    key_arn: str

    def client(self, service: str):
        return _client(self.endpoint, service)

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


@pytest.fixture(scope="session")
def local_aws() -> LocalAws:
    """A moto server on loopback with an artifact bucket and a KMS key, like the build account's."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = "orders-api-artifacts-111111111111-eu-west-1"  # named as the contract names it
    _client(endpoint, "s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = _client(endpoint, "kms").create_key(Description="artifact key")["KeyMetadata"]["Arn"]
    yield LocalAws(endpoint=endpoint, bucket=bucket, key_arn=key_arn)
    server.stop()


@dataclass(frozen=True)
class PackagedApp:
    app: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def packaged_app(toolchain, built_app, local_aws) -> PackagedApp:
    """The built copy after `make package` against the local S3."""
    result = toolchain.make(
        "package", cwd=built_app,
        extra_env={**local_aws.env, "ARTIFACT_BUCKET": local_aws.bucket, "ARTIFACT_KEY_ARN": local_aws.key_arn},
    )
    return PackagedApp(app=built_app, result=result)
