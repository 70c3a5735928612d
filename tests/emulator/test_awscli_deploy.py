"""A real peer client: the AWS CLI's ``cloudformation deploy`` works against the emulator."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.emulator.helpers import outputs

AWS = str(Path(sys.executable).with_name("aws"))
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: peer client check
Parameters:
  AppName:
    Type: String
  Retention:
    Type: Number
    Default: 7
Resources:
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties:
      RepositoryName: !Ref AppName
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/aws/codebuild/${AppName}"
      RetentionInDays: !Ref Retention
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AppName}-approvals"
Outputs:
  CloneUrl:
    Value: !GetAtt Repo.CloneUrlHttp
  TopicArn:
    Value: !Ref Topic
"""


def aws(emulator: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_deploy_creates_updates_and_reports_no_changes(emulator, client, tmp_path):
    template_file = tmp_path / "template.yaml"
    template_file.write_text(TEMPLATE)
    deploy = ["cloudformation", "deploy", "--template-file", str(template_file), "--stack-name", "peer"]

    created = aws(emulator, tmp_path, *deploy, "--parameter-overrides", "AppName=orders-api")
    assert created.returncode == 0, created.stderr
    assert "Successfully created/updated stack - peer" in created.stdout

    cfn = client("cloudformation")
    stack = cfn.describe_stacks(StackName="peer")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack) == {
        "CloneUrl": f"{emulator}/v1/repos/orders-api",  # the emulator serves the repository's git
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders-api-approvals"}

    # AppName is not given again: the CLI sends UsePreviousValue for it.
    updated = aws(emulator, tmp_path, *deploy, "--parameter-overrides", "Retention=30")
    assert updated.returncode == 0, updated.stderr
    assert cfn.describe_stacks(StackName="peer")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    groups = client("logs").describe_log_groups()["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("/aws/codebuild/orders-api", 30)]

    unchanged = aws(emulator, tmp_path, *deploy, "--no-fail-on-empty-changeset")
    assert unchanged.returncode == 0, unchanged.stderr
    assert "No changes to deploy" in unchanged.stdout
