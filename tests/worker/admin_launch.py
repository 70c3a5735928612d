"""Play a self-launched account's admin: run the exact CLI command the portal printed, in that account."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import boto3

from core.config import REPO_ROOT
from tests.waiting import wait_for

AWS_CLI = str(Path(sys.executable).with_name("aws"))
ADMIN_ROLE = "OrganizationAccountAccessRole"  # the demo accounts' admin role (docs/contracts.md)


def admin_environment(endpoint: str, account_id: str, region: str, home: Path) -> dict[str, str]:
    """The environment of an admin signed in to ``account_id`` (its admin role's credentials)."""
    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ADMIN_ROLE}",
                            RoleSessionName="account-admin")["Credentials"]
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
    }


def launch(cli_command: str, endpoint: str, account_id: str, region: str, home: Path) -> subprocess.Popen[str]:
    """Start the printed ``aws cloudformation deploy`` from a checkout, as the admin would.

    Returned running: the CLI's own waiter looks every 30 seconds, and the worker follows the
    stack by itself; the caller stops it with :func:`finish`.
    """
    argv = shlex.split(cli_command)
    assert argv[:3] == ["aws", "cloudformation", "deploy"], cli_command
    return subprocess.Popen([AWS_CLI, *argv[1:]], cwd=REPO_ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=admin_environment(endpoint, account_id, region, home))


def finish(process: subprocess.Popen[str]) -> str:
    """Stop the CLI if its waiter is still sleeping; return what it printed."""
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=30)
    return output or ""


def delete_stack(endpoint: str, account_id: str, region: str, stack_name: str, home: Path,
                 timeout: float = 60.0) -> None:
    """Delete the stack as the admin and poll (in a test only) until it is gone."""
    env = admin_environment(endpoint, account_id, region, home)
    cfn = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint,
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                       aws_session_token=env["AWS_SESSION_TOKEN"])
    stack_id = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName=stack_name)
    wait_for(lambda: cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE",
             timeout, f"{stack_name} to be deleted")
