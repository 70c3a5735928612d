"""The hand-over after an apply when the portal works against the local emulator: what it shows works there.

The emulator runs for real over HTTP with its demo accounts; the pipeline the apply would have created
is created in the build account with boto3 (the portal itself never imports it), and the push command
the page shows is run as a person would run it, with curl.
"""
from __future__ import annotations

import html
import json
import re
import shlex
import subprocess
from collections.abc import Iterator

import boto3
import pytest
import yaml

from core.config import REPO_ROOT
from core.models import Setup
from emulator.client import control
from emulator.server import EmulatorServer
from portal import create_app
from portal import db as portal_db
from tests.portal import factories as f
from tests.portal.helpers import BUILD, portal_config
from tests.portal.test_deployments_plan import page_of, section, text
from tests.templates.cfn_yaml import CfnLoader

PIPELINE = f"{f.APP}-pipeline"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = EmulatorServer()
    server.start()
    yield server.endpoint_url
    server.stop()


@pytest.fixture
def app(database_url, emulator):
    """The portal told, as make run tells it, that it works against the emulator."""
    control(emulator, "reset", {})
    control(emulator, "demo", {})
    app = create_app(portal_config(database_url, EMULATOR_URL=emulator))
    yield app
    portal_db.dispose(app)


def build_account_client(emulator: str, service: str):
    """A client acting in the demo build account, through its bootstrap role, in the setup's region."""
    sts = boto3.client("sts", endpoint_url=emulator, region_name=f.REGION, **CREDENTIALS)
    role = f"arn:aws:iam::{BUILD}:role/OrganizationAccountAccessRole"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="portal-test")["Credentials"]
    return boto3.client(service, endpoint_url=emulator, region_name=f.REGION,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def create_the_pipeline(emulator: str) -> None:
    """The repository and a pipeline watching its main branch, where build-pipeline.yaml puts them."""
    build_account_client(emulator, "codecommit").create_repository(repositoryName=f.APP)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    role = build_account_client(emulator, "iam").create_role(
        RoleName=f"{f.APP}-pipeline-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    build_account_client(emulator, "codepipeline").create_pipeline(pipeline={
        "name": PIPELINE, "roleArn": role["Arn"], "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": f"{f.APP}-artifacts-{BUILD}-{f.REGION}"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "runOrder": 1, "outputArtifacts": [{"name": "SourceOutput"}],
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "configuration": {"RepositoryName": f.APP, "BranchName": "main", "PollForSourceChanges": "false"}}]},
            {"name": "ApproveProduction", "actions": [{
                "name": "Approve", "runOrder": 1,
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
        ],
    })


def succeeded_apply(db, setup):
    applied = f.add_apply(db, setup, f.add_plan(db, setup), status="succeeded")
    applied.detail = f.succeeded_detail(setup, applied)
    db.commit()
    return applied


def shown_push_command(page: str) -> str:
    match = re.search(r'<pre class="copy" aria-label="Command that pushes to the emulator"><code>(.*?)</code>', page, re.S)
    assert match, "no push command on the page"
    return html.unescape(match.group(1))


def test_the_push_command_shown_starts_the_pipeline_in_the_emulator(client, auth, users, db, ready_setup, emulator):
    create_the_pipeline(emulator)
    applied = succeeded_apply(db, ready_setup)
    auth.login("viewer")
    page = client.get(f"/setups/{ready_setup.id}/operations/{applied.id}").get_data(as_text=True)
    command = shown_push_command(page)
    assert shlex.split(command)[:5] == ["curl", "-sS", "-X", "POST", f"{emulator}/_emulator/push"]
    pipelines = build_account_client(emulator, "codepipeline")
    before = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]

    done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30, check=True)
    [started] = json.loads(done.stdout)["pipelineExecutions"]
    assert started["pipelineName"] == PIPELINE
    after = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    # Creating a pipeline starts it once; the push starts it again, from the commit it recorded.
    assert len(after) == len(before) + 1
    execution = pipelines.get_pipeline_execution(pipelineName=PIPELINE,
                                                 pipelineExecutionId=started["pipelineExecutionId"])
    [revision] = execution["pipelineExecution"]["artifactRevisions"]
    assert revision["revisionSummary"] == "Pushed with the portal's command"


def emulator_apply(db, setup, emulator: str):
    """An apply as the worker records it on the emulator: its clone URL is the emulator's git server."""
    applied = succeeded_apply(db, setup)
    clone = f"{emulator}/v1/repos/{f.APP}"
    applied.detail = {**applied.detail, "outputs": {**f.OUTPUTS, "RepositoryCloneUrlHttp": clone},
                      "git_commands": [f"git remote add aws {clone}", "git push aws main"]}
    db.commit()
    return applied


def shown_git_commands(page: str) -> list[str]:
    match = re.search(r'<pre class="copy" aria-label="git commands"><code>(.*?)</code>', page, re.S)
    assert match, "no git commands on the page"
    return html.unescape(match.group(1)).splitlines()


def test_says_it_works_against_the_emulator_and_shows_no_aws_links(client, auth, users, db, ready_setup, emulator):
    applied = emulator_apply(db, ready_setup, emulator)
    auth.login("viewer")
    raw = client.get(f"/setups/{ready_setup.id}/operations/{applied.id}").get_data(as_text=True)
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    assert (f"The portal works against the local AWS emulator at {emulator}: what this apply created exists only "
            "there, not in AWS, so there are no AWS console links here.") in text(page)
    clone = f"{emulator}/v1/repos/{f.APP}"
    assert f"The emulator serves the repository orders-api over git's HTTP protocol at {clone}" in text(page)
    assert shown_git_commands(raw) == [f"git remote add aws {clone}", "git push aws main"]
    assert "does not serve git" not in text(page)
    # The layout the build needs, as the build project's BuildSpec names it.
    buildspec = yaml.load((REPO_ROOT / "templates_cfn" / "build-pipeline.yaml").read_text(), Loader=CfnLoader)[
        "Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"]
    layout = re.search(r'<p[^>]*id="repository-layout".*?</p>', page, re.S)
    assert layout and f"The build runs {buildspec} from the repository's root" in text(layout.group(0))
    # The push shortcut stays, folded away, for someone without a checkout.
    assert "No checkout at hand? The emulator's push shortcut" in text(section(page, "push-shortcut"))
    # The outputs are listed as the emulator reports them (AWS-shaped), but nothing links to AWS.
    assert not re.search(r'href="https://[^"]*amazonaws?\.com', page) and "codecommit::" not in page
    assert 'class="console"' not in page and "Open it in the AWS console" not in page
    assert "Every output of the build stack, as the emulator reports them" in text(page)
    assert f'href="/pipelines/{ready_setup.id}" id="handover-pipeline-link"' in page
    setup_page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert f"Clone URL {clone} the push commands are on the apply's page" in text(setup_page)
    assert "git-codecommit" not in setup_page


def test_commands_recorded_for_aws_are_not_offered_against_the_emulator(client, auth, users, db, ready_setup,
                                                                        emulator):
    """An apply whose commands name a codecommit:: remote (AWS's host) shows only the push shortcut there."""
    applied = succeeded_apply(db, ready_setup)
    auth.login("viewer")
    raw = client.get(f"/setups/{ready_setup.id}/operations/{applied.id}").get_data(as_text=True)
    assert 'aria-label="git commands"' not in raw and "codecommit::" not in raw
    assert shlex.split(shown_push_command(raw))[:5] == ["curl", "-sS", "-X", "POST", f"{emulator}/_emulator/push"]


def test_a_github_source_is_pushed_by_its_owner_and_name(client, auth, users, db, make_setup, emulator):
    connection = f"arn:aws:codeconnections:{f.REGION}:{BUILD}:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    setup = db.get(Setup, make_setup(source_provider="GitHub", connection_arn=connection,
                                     full_repository_id="octo-org/orders-api"))
    applied = f.add_apply(db, setup, f.add_plan(db, setup), status="succeeded")
    applied.detail = {"outputs": {"PipelineName": PIPELINE}, "pipeline_name": PIPELINE}
    db.commit()
    auth.login("viewer")
    command = shlex.split(shown_push_command(client.get(f"/setups/{setup.id}/operations/{applied.id}")
                                             .get_data(as_text=True)))
    page = text(page_of(client, f"/setups/{setup.id}/operations/{applied.id}"))
    assert "The emulator does not emulate GitHub, so a push to octo-org/orders-api does not reach it." in page
    assert json.loads(command[command.index("--data") + 1]) == {
        "repository": "octo-org/orders-api", "branch": "main", "account_id": BUILD, "region": f.REGION,
        "message": "Pushed with the portal's command"}
