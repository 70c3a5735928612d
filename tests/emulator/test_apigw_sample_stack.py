"""The sample app deployed as the pipeline deploys it answers at its stack's ApiUrl.

``make build`` (Go, arm64), ``aws cloudformation package`` of ``sample_app/template.yaml`` (SAM),
``aws cloudformation deploy`` with the stage's parameters: the stack's ``ApiUrl`` output is the
emulator's address of the stage, and a request there runs the bootstrap that was built.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests

from tests.emulator.helpers import outputs
from tests.emulator.lambda_helpers import build_sample_app
from tests.emulator.test_awscli_deploy import aws

# The first Go build of a run compiles the standard library (minutes on a cold cache, over the 300 s default).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def built_app(tmp_path_factory) -> Path:
    return build_sample_app(tmp_path_factory.mktemp("stack-sample-app"))


def _package(emulator: str, app: Path, tmp_path: Path) -> Path:
    work = tmp_path / "app"
    shutil.copytree(app, work, ignore=shutil.ignore_patterns("gopath"))
    packaged = work / "packaged.yaml"
    done = aws(emulator, tmp_path, "cloudformation", "package", "--template-file", str(work / "template.yaml"),
               "--s3-bucket", "artifacts", "--output-template-file", str(packaged))
    assert done.returncode == 0, done.stderr
    return packaged


def _deploy(emulator: str, tmp_path: Path, packaged: Path, stack: str, *overrides: str) -> str:
    done = aws(emulator, tmp_path, "cloudformation", "deploy", "--template-file", str(packaged),
               "--stack-name", stack, "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", *overrides)
    assert done.returncode == 0, done.stderr + done.stdout
    done = aws(emulator, tmp_path, "cloudformation", "describe-stacks", "--stack-name", stack)
    assert done.returncode == 0, done.stderr
    return outputs(json.loads(done.stdout)["Stacks"][0])["ApiUrl"]


def test_each_stage_s_endpoint_answers_with_its_own_greeting_and_a_changed_greeting_shows(
        emulator, client, built_app, tmp_path):
    client("s3").create_bucket(Bucket="artifacts")
    packaged = _package(emulator, built_app, tmp_path)
    staging = _deploy(emulator, tmp_path, packaged, "APP-staging", "Stage=staging", "Greeting=Howdy")
    production = _deploy(emulator, tmp_path, packaged, "APP-production", "Stage=production", "Greeting=Hello")

    assert requests.get(staging, params={"name": "Ada"}, timeout=60).json()["message"] == "Howdy, Ada!"
    answer = requests.get(production, timeout=60).json()
    assert (answer["message"], answer["stage"]) == ("Hello, World!", "production")

    _deploy(emulator, tmp_path, packaged, "APP-production", "Stage=production", "Greeting=Welcome")

    assert requests.get(production, timeout=60).json()["message"] == "Welcome, World!"
    assert requests.get(staging, timeout=60).json()["message"] == "Howdy, World!"
