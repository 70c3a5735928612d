"""`make build` and `make package`: the bootstrap binary and the packaged template."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from pathlib import Path

import pytest
from cfnlint.api import lint
from samtranslator.translator.transform import transform

from tests.templates.cfn_yaml import load_template
from tests.sample_app.conftest import describe

EM_AARCH64 = 183
PT_INTERP = 3


def read_elf_header(path: Path) -> dict:
    """Decode what the tests need from a 64-bit little-endian ELF file."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", "not an ELF file"
    ei_class, ei_data = data[4], data[5]
    assert (ei_class, ei_data) == (2, 1), "not a 64-bit little-endian ELF file"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    e_phoff = struct.unpack_from("<Q", data, 32)[0]
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    segment_types = [struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] for i in range(e_phnum)]
    return {"type": e_type, "machine": e_machine, "segments": segment_types, "data": data}


def test_make_build_produces_a_static_arm64_linux_bootstrap(built_app):
    bootstrap = built_app / "build" / "bootstrap"

    assert os.access(bootstrap, os.X_OK)
    elf = read_elf_header(bootstrap)
    assert elf["machine"] == EM_AARCH64
    assert elf["type"] == 2  # ET_EXEC: an executable, not a shared object
    # CGO_ENABLED=0: no dynamic loader, so the binary does not depend on the image's libc.
    assert PT_INTERP not in elf["segments"]
    # -trimpath: the build machine's paths stay out of the binary.
    assert str(built_app).encode() not in elf["data"]


@pytest.mark.parametrize(
    ("env", "build_first", "message"),
    [
        ({}, True, "ARTIFACT_BUCKET is not set"),
        ({"ARTIFACT_BUCKET": "bucket"}, True, "ARTIFACT_KEY_ARN is not set"),
        ({"ARTIFACT_BUCKET": "bucket", "ARTIFACT_KEY_ARN": "arn:aws:kms:eu-west-1:111111111111:key/x"}, False,
         "build/bootstrap is missing; run 'make build' first"),
    ],
    ids=["without bucket", "without key", "without build"],
)
def test_make_package_refuses_to_run_without_its_inputs(toolchain, fresh_app, tmp_path, env, build_first, message):
    if build_first:
        (fresh_app / "build").mkdir()
        (fresh_app / "build" / "bootstrap").write_bytes(b"")
        (fresh_app / "build" / "bootstrap").chmod(0o755)
    # A stand-in aws command that leaves a mark if anything calls it.
    marker = tmp_path / "aws-was-called"
    fake_aws = tmp_path / "aws"
    fake_aws.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake_aws.chmod(0o755)

    result = toolchain.run(
        ["make", f"GO={toolchain.go}", f"AWS={fake_aws}", "package"], cwd=fresh_app,
        extra_env=env, drop_env=("ARTIFACT_BUCKET", "ARTIFACT_KEY_ARN"),
    )

    assert result.returncode != 0, describe(result)
    assert message in result.stderr
    assert not marker.exists(), "aws cloudformation package ran despite the missing input"
    assert not (fresh_app / "packaged.yaml").exists()


def code_uri(packaged_template: dict) -> str:
    return packaged_template["Resources"]["HelloFunction"]["Properties"]["CodeUri"]


def test_make_package_uploads_the_code_encrypted_with_the_artifact_key(packaged_app, local_aws):
    assert packaged_app.result.returncode == 0, describe(packaged_app.result)
    uri = code_uri(load_template(packaged_app.app / "packaged.yaml"))
    assert uri.startswith(f"s3://{local_aws.bucket}/")
    key = uri.removeprefix(f"s3://{local_aws.bucket}/")

    s3 = local_aws.client("s3")
    head = s3.head_object(Bucket=local_aws.bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == local_aws.key_arn

    archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=local_aws.bucket, Key=key)["Body"].read()))
    (entry,) = archive.infolist()
    assert entry.filename == "bootstrap"  # Lambda runs /var/task/bootstrap for provided.al2023
    assert (entry.external_attr >> 16) & 0o111, "bootstrap lost its execute bit in the zip"
    assert archive.read(entry) == (packaged_app.app / "build" / "bootstrap").read_bytes()


def test_packaged_template_transforms_into_the_application_resources(packaged_app, monkeypatch):
    assert packaged_app.result.returncode == 0, describe(packaged_app.result)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the translator builds ARNs for a region
    template = load_template(packaged_app.app / "packaged.yaml")

    class NoManagedPolicies:
        """The translator only asks for policy names used in Policies; this app uses none."""

        def load(self) -> dict:
            return {}

    output = transform(template, {"Stage": "staging"}, NoManagedPolicies())

    resources = output["Resources"]
    types = sorted({resource["Type"] for resource in resources.values()})
    assert types == [
        "AWS::ApiGateway::Deployment", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage",
        "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Logs::LogGroup",
    ]
    function = resources["HelloFunction"]["Properties"]
    assert function["Code"]["S3Bucket"] and function["Runtime"] == "provided.al2023"
    assert function["Architectures"] == ["arm64"] and function["Handler"] == "bootstrap"
    # Generated names start with the stack name, which the deploy account's policies rely on.
    assert "FunctionName" not in function
    assert "RoleName" not in resources["HelloFunctionRole"]["Properties"]
    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 1, "SAM's extra 'Stage' stage is back"
    assert stages[0]["Properties"]["StageName"] == {"Ref": "Stage"}
    # The transformed template is plain CloudFormation; it must lint clean too.
    matches = [m for m in lint(json.dumps(output)) if m.rule.severity in ("error", "warning")]
    assert matches == [], [f"{m.rule.id}: {m.message}" for m in matches]
