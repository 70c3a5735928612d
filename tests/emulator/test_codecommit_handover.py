"""The hand-over's push, against the emulator: the build stack's clone URL takes a push of the sample app.

The portal hands over the worker's ``worker.links.git_commands``. A ``codecommit::`` remote (through
git-remote-codecommit) signs for AWS's own host, so for the emulator's clone URL the commands name the
HTTPS URL itself: they are run here as printed, in a shell, against the stack's output.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.emulator.git_helpers import git, git_env
from tests.emulator.helpers import BUILD_ACCOUNT, REGION, deploy_repository_templates, outputs
from worker.links import git_commands

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"


def project_checkout(tmp_path: Path) -> Path:
    """A checkout laid out as the project is (the buildspec is sample_app/buildspec.yaml), one commit."""
    checkout = tmp_path / "project"
    shutil.copytree(SAMPLE_APP, checkout / "sample_app", ignore=shutil.ignore_patterns(".aws-sam", "bootstrap"))
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "The sample application")
    return checkout


def test_the_handed_over_https_commands_push_the_sample_app_into_the_pipeline(emulator, client, tmp_path):
    _, stack = deploy_repository_templates(client)
    found = outputs(stack)
    assert found["RepositoryCloneUrlHttp"] == f"{emulator}/v1/repos/{found['RepositoryName']}"
    commands = git_commands("CodeCommit", found["RepositoryCloneUrlHttp"], "main", REGION, found["RepositoryName"])
    assert commands == [f"git remote add aws {found['RepositoryCloneUrlHttp']}", "git push aws main"]
    checkout = project_checkout(tmp_path)

    done = subprocess.run(["bash", "-euc", "\n".join(commands)], cwd=checkout, capture_output=True, text=True,
                          env=git_env(tmp_path), timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    pipelines = client("codepipeline", account=BUILD_ACCOUNT)
    name = found["PipelineName"]
    latest = pipelines.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    head = git(checkout, "rev-parse", "HEAD").stdout.strip()
    assert latest["sourceRevisions"][0]["revisionId"] == head
    assert latest["trigger"]["triggerType"] == "CloudWatchEvent"
    runs = pipelines.list_action_executions(pipelineName=name, filter={
        "pipelineExecutionId": latest["pipelineExecutionId"]})["actionExecutionDetails"]
    source = next(r for r in runs if r["stageName"] == "Source")
    assert source["status"] == "Succeeded"
    location = source["output"]["outputArtifacts"][0]["s3location"]
    assert location["bucket"] == found["ArtifactBucketName"]
    stored = client("s3", account=BUILD_ACCOUNT).get_object(Bucket=location["bucket"], Key=location["key"])
    assert stored["SSEKMSKeyId"] == found["ArtifactKeyArn"]  # the pipeline's customer-managed key
    names = zipfile.ZipFile(io.BytesIO(stored["Body"].read())).namelist()
    assert {"sample_app/buildspec.yaml", "sample_app/template.yaml", "sample_app/main.go"} <= set(names)
