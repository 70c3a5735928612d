"""Functions behind REST APIs in the emulator, set up with boto3 as a deployment would.

``build_sample_app`` builds the real sample application (``make build``: Go, linux/arm64) in a
scratch copy, with one Go build cache shared by every run (the local CodeBuild's, ``.cache/go/build`` in the checkout, or
``SAMPLE_APP_GOCACHE``), so only the first build on a machine compiles the standard library.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests

from emulator.codebuild.environment import go_cache_root
from tests.accounts import DEFAULT_ACCOUNT
from tests.emulator.helpers import REGION
from tests.sample_app.gotool import find_go

ROOT = Path(__file__).resolve().parents[2]
# The local CodeBuild's cache: one home, so a test run compiles the standard library once.
SHARED_GOCACHE = go_cache_root() / "build"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def build_sample_app(scratch: Path) -> Path:
    """A scratch copy of the sample app after ``make build`` (its ``build/bootstrap``)."""
    app = scratch / "sample_app"
    shutil.copytree(ROOT / "sample_app", app, ignore=shutil.ignore_patterns("build", "reports", "packaged.yaml"))
    go = find_go()
    env = {**os.environ, "GOCACHE": os.environ.get("SAMPLE_APP_GOCACHE") or str(SHARED_GOCACHE),
           "GOPATH": str(scratch / "gopath"), "GOENV": "off", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    result = subprocess.run(["make", f"GO={go}", "build"], cwd=app, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, f"make build failed:\n{result.stdout}\n{result.stderr}"
    return app


def bootstrap_zip(app: Path) -> bytes:
    """The built ``bootstrap`` zipped, executable, as ``aws cloudformation package`` zips ``build/``."""
    return zip_files({"bootstrap": (app / "build" / "bootstrap").read_bytes()})


def zip_files(files: dict[str, bytes], mode: int = 0o755) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16  # a regular file with its mode, as zip -X keeps it
            archive.writestr(info, content)
    return buffer.getvalue()


def script_runtime(body: str) -> bytes:
    """A package whose bootstrap is a Python script on the host: a runtime that misbehaves on purpose.

    ``body`` runs with ``next_event()`` -> (request id, event) and ``post(path, data)`` defined.
    """
    script = f"""#!/usr/bin/env python3
import json, os, sys, time, urllib.request
API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01"
def next_event():
    with urllib.request.urlopen(API + "/runtime/invocation/next") as answer:
        return answer.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(answer.read())
def post(path, data):
    request = urllib.request.Request(API + path, data=json.dumps(data).encode(), method="POST")
    return urllib.request.urlopen(request).status
{body}
"""
    return zip_files({"bootstrap": script.encode()})


@dataclass(frozen=True)
class Endpoint:
    base: str  # the emulator's URL of the stage, .../_emulator/execute-api/API/STAGE
    api_id: str
    stage: str
    function_name: str

    def get(self, path: str = "/hello", **kwargs: Any) -> requests.Response:
        return requests.get(self.base + path, timeout=60, **kwargs)


def deploy(emulator: str, client: Callable[..., Any], code: bytes, *, name: str = "hello",
           variables: dict[str, str] | None = None, stage: str = "staging", architecture: str = "arm64",
           timeout: int = 10, permit: bool = True, path_part: str = "hello") -> Endpoint:
    """Role, function, REST API with ``GET /hello`` proxied to the function, a stage, the permission."""
    iam, lam, apigw = client("iam"), client("lambda"), client("apigateway")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    function_arn = lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code},
        Architectures=[architecture], Timeout=timeout, MemorySize=128,
        Environment={"Variables": variables if variables is not None else {"STAGE": stage, "GREETING": "Hello"}},
    )["FunctionArn"]
    api_id = apigw.create_rest_api(name=f"{name}-api", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=path_part)["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id, resourceId=resource, httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations")
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    if permit:
        lam.add_permission(
            FunctionName=name, StatementId="api", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{DEFAULT_ACCOUNT}:{api_id}/*/GET/{path_part}")
    return Endpoint(f"{emulator}/_emulator/execute-api/{api_id}/{stage}", api_id, stage, name)
