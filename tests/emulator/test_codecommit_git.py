"""git's smart HTTP against the emulator's CodeCommit, with plain git over real HTTP."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from emulator.codecommit import clone_urls
from tests.emulator.codepipeline_helpers import PIPELINE, create_contract_pipeline
from tests.emulator.git_helpers import AUTHOR, commit_file, git
from tests.emulator.helpers import REGION, STAGING_ACCOUNT, control

REPOSITORY = "orders-api"


@pytest.fixture
def repository(client):
    return client("codecommit").create_repository(repositoryName=REPOSITORY)["repositoryMetadata"]


def clone(emulator, tmp_path, name="checkout", url=None):
    git(tmp_path, "clone", "-q", url or f"{emulator}/v1/repos/{REPOSITORY}", name)
    return tmp_path / name


def test_the_clone_url_is_the_emulators_own(emulator, repository, client):
    assert repository["cloneUrlHttp"] == f"{emulator}/v1/repos/{REPOSITORY}"
    got = client("codecommit").get_repository(repositoryName=REPOSITORY)["repositoryMetadata"]
    assert got["cloneUrlHttp"] == f"{emulator}/v1/repos/{REPOSITORY}"
    assert got["cloneUrlSsh"] == f"ssh://git-codecommit.{REGION}.amazonaws.com/v1/repos/{REPOSITORY}"


def test_clone_an_empty_repository_push_main_and_read_it_back(emulator, repository, client, tmp_path):
    checkout = clone(emulator, tmp_path)
    commit_id = commit_file(checkout, "main.go", "package main\n", "Add the handler\n\nWith a body.")
    git(checkout, "push", "-q", "origin", "main")

    codecommit = client("codecommit")
    branch = codecommit.get_branch(repositoryName=REPOSITORY, branchName="main")["branch"]
    assert branch == {"branchName": "main", "commitId": commit_id}
    commit = codecommit.get_commit(repositoryName=REPOSITORY, commitId=commit_id)["commit"]
    assert commit["message"] == "Add the handler\n\nWith a body."
    assert commit["treeId"] == git(checkout, "rev-parse", "HEAD^{tree}").stdout.strip()
    assert commit["parents"] == []
    assert commit["author"]["name"] == AUTHOR["GIT_AUTHOR_NAME"]
    assert commit["author"]["email"] == AUTHOR["GIT_AUTHOR_EMAIL"]
    seconds, offset = commit["author"]["date"].split(" ")
    assert seconds == git(checkout, "log", "-1", "--format=%at").stdout.strip() and offset[0] in "+-"
    assert codecommit.list_branches(repositoryName=REPOSITORY)["branches"] == ["main"]
    # The first branch pushed becomes the default one, and a fresh clone checks it out.
    assert codecommit.get_repository(repositoryName=REPOSITORY)["repositoryMetadata"]["defaultBranch"] == "main"
    again = clone(emulator, tmp_path, "again")
    assert (again / "main.go").read_text() == "package main\n"


def test_a_push_over_one_mib_arrives_chunked_and_fetches_back_intact(emulator, repository, client, tmp_path):
    checkout = clone(emulator, tmp_path)
    commit_file(checkout, "README.md", "orders\n", "Start")
    git(checkout, "push", "-q", "origin", "main")
    blob = os.urandom(2 * 1024 * 1024)  # incompressible: the pack is bigger than git's 1 MiB post buffer
    big = commit_file(checkout, "assets/blob.bin", blob, "Add a 2 MiB asset")

    pushed = git(checkout, "push", "origin", "main", GIT_TRACE_CURL="1", GIT_TRACE_CURL_NO_DATA="1")

    assert "Transfer-Encoding: chunked" in pushed.stderr  # the case a naive WSGI body read gets wrong
    assert client("codecommit").get_branch(repositoryName=REPOSITORY, branchName="main")["branch"]["commitId"] == big
    other = clone(emulator, tmp_path, "other")
    commit_file(other, "CHANGELOG.md", "1.0\n", "Changelog")
    git(other, "push", "-q", "origin", "main")
    git(checkout, "fetch", "-q", "origin")
    assert git(checkout, "log", "-1", "--format=%s", "origin/main").stdout.strip() == "Changelog"
    assert (other / "assets/blob.bin").read_bytes() == blob


def test_an_unknown_repository_is_not_found(emulator, tmp_path):
    done = git(tmp_path, "clone", f"{emulator}/v1/repos/nowhere", "x", check=False)
    assert done.returncode != 0
    assert "remote: Repository nowhere does not exist." in done.stderr
    assert "not found" in done.stderr
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{emulator}/v1/repos/nowhere/info/refs?service=git-upload-pack", timeout=10)
    assert refused.value.code == 404


def test_only_the_smart_protocol_is_served(emulator, repository):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{emulator}/v1/repos/{REPOSITORY}/objects/info/packs", timeout=10)
    assert refused.value.code == 404


def test_a_name_in_two_accounts_needs_the_qualified_path(emulator, repository, client, tmp_path):
    client("codecommit", account=STAGING_ACCOUNT).create_repository(repositoryName=REPOSITORY)

    done = git(tmp_path, "clone", f"{emulator}/v1/repos/{REPOSITORY}", "x", check=False)
    assert done.returncode != 0
    assert "Several accounts or regions have a repository named orders-api" in done.stderr
    qualified = f"{emulator}/v1/accounts/{STAGING_ACCOUNT}/regions/{REGION}/repos/{REPOSITORY}"
    assert qualified.removeprefix(emulator) in done.stderr

    checkout = clone(emulator, tmp_path, url=qualified)
    commit_id = commit_file(checkout, "a.txt", "a\n", "Staging only")
    git(checkout, "push", "-q", "origin", "main")
    staging = client("codecommit", account=STAGING_ACCOUNT)
    assert staging.get_branch(repositoryName=REPOSITORY, branchName="main")["branch"]["commitId"] == commit_id
    with pytest.raises(ClientError) as missing:
        client("codecommit").get_branch(repositoryName=REPOSITORY, branchName="main")
    assert missing.value.response["Error"]["Code"] == "BranchDoesNotExistException"
    # A basic-auth user name of 12 digits picks the account too.
    request = urllib.request.Request(f"{emulator}/v1/repos/{REPOSITORY}/info/refs?service=git-upload-pack",
                                     headers={"Authorization": "Basic " + base64.b64encode(
                                         f"{STAGING_ACCOUNT}:x".encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert commit_id.encode() in answer.read()


def test_a_push_tells_eventbridge_what_codecommit_tells_it(emulator, repository, client, tmp_path):
    queue_url = client("sqs").create_queue(QueueName="codecommit-events")["QueueUrl"]
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events = client("events")
    rule_arn = events.put_rule(Name="pushes", EventPattern=json.dumps({
        "source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository["Arn"]], "detail": {"event": ["referenceCreated", "referenceUpdated"]}}))["RuleArn"]
    # As on AWS, EventBridge delivers to a queue only if the queue's policy lets it, for this rule.
    client("sqs").set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
    events.put_targets(Rule="pushes", Targets=[{"Id": "queue", "Arn": queue_arn}])
    checkout = clone(emulator, tmp_path)
    first = commit_file(checkout, "a.txt", "a\n", "One")
    git(checkout, "push", "-q", "origin", "main")
    second = commit_file(checkout, "b.txt", "b\n", "Two")
    git(checkout, "push", "-q", "origin", "main")

    messages = client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    received = [json.loads(m["Body"]) for m in messages]
    assert [e["detail"]["event"] for e in received] == ["referenceCreated", "referenceUpdated"]
    created, updated = received
    assert created["source"] == "aws.codecommit" and created["region"] == REGION
    assert created["account"] == repository["Arn"].split(":")[4]
    assert created["detail-type"] == "CodeCommit Repository State Change"
    assert created["resources"] == [repository["Arn"]]
    assert created["detail"] | {"callerUserArn": "-"} == {
        "event": "referenceCreated", "repositoryName": REPOSITORY, "repositoryId": repository["repositoryId"],
        "referenceType": "branch", "referenceName": "main", "referenceFullName": "refs/heads/main",
        "commitId": first, "callerUserArn": "-"}
    assert (updated["detail"]["commitId"], updated["detail"]["oldCommitId"]) == (second, first)


def test_a_deleted_repository_takes_its_content_along(emulator, repository, client, tmp_path):
    checkout = clone(emulator, tmp_path)
    commit_file(checkout, "a.txt", "a\n", "One")
    git(checkout, "push", "-q", "origin", "main")
    codecommit = client("codecommit")
    codecommit.delete_repository(repositoryName=REPOSITORY)
    codecommit.create_repository(repositoryName=REPOSITORY)

    assert codecommit.list_branches(repositoryName=REPOSITORY)["branches"] == []
    fresh = clone(emulator, tmp_path, "fresh")
    assert git(fresh, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0  # nothing to check out


def test_a_reset_empties_every_repository(emulator, repository, client, tmp_path):
    checkout = clone(emulator, tmp_path)
    commit_file(checkout, "a.txt", "a\n", "One")
    git(checkout, "push", "-q", "origin", "main")
    control(emulator, "reset", {})
    client("codecommit").create_repository(repositoryName=REPOSITORY)

    assert client("codecommit").list_branches(repositoryName=REPOSITORY)["branches"] == []


@pytest.mark.parametrize(("operation", "params", "code"), [
    ("get_branch", {"repositoryName": "nowhere", "branchName": "main"}, "RepositoryDoesNotExistException"),
    ("get_branch", {"repositoryName": REPOSITORY, "branchName": "main"}, "BranchDoesNotExistException"),
    ("get_branch", {"repositoryName": REPOSITORY}, "BranchNameRequiredException"),
    ("get_commit", {"repositoryName": REPOSITORY, "commitId": "abc"}, "InvalidCommitIdException"),
    ("get_commit", {"repositoryName": REPOSITORY, "commitId": "a" * 40}, "CommitIdDoesNotExistException"),
    ("list_branches", {"repositoryName": "bad name!"}, "InvalidRepositoryNameException"),
])
def test_codecommit_reads_refuse_bad_input_with_its_errors(repository, client, operation, params, code):
    with pytest.raises(ClientError) as refused:
        getattr(client("codecommit"), operation)(**params)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_push_shortcut_makes_a_real_commit(emulator, repository, client, tmp_path):
    checkout = clone(emulator, tmp_path)
    pushed = commit_file(checkout, "a.txt", "a\n", "One")
    git(checkout, "push", "-q", "origin", "main")

    result = control(emulator, "push", {"repository": REPOSITORY, "message": "Rebuild"})

    git(checkout, "pull", "-q", "origin", "main")
    assert git(checkout, "log", "--format=%H %s").stdout.split("\n")[:2] == [
        f"{result['commitId']} Rebuild", f"{pushed} One"]
    assert (checkout / "a.txt").read_text() == "a\n"  # the tree is unchanged
    commit = client("codecommit").get_commit(repositoryName=REPOSITORY, commitId=result["commitId"])["commit"]
    assert commit["parents"] == [pushed] and commit["message"] == "Rebuild"


def test_a_git_push_starts_the_pipeline_watching_its_branch(emulator, client, tmp_path):
    pipelines = create_contract_pipeline(client)  # creates the repository orders-api too
    created = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    checkout = clone(emulator, tmp_path)
    commit_file(checkout, "a.txt", "a\n", "Work in progress")
    git(checkout, "push", "-q", "origin", "main:feature")
    assert len(pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]) == len(created)

    commit_id = commit_file(checkout, "b.txt", "b\n", "Ship it")
    git(checkout, "push", "-q", "origin", "HEAD:main")

    latest, *older = pipelines.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    assert len(older) == len(created)
    assert latest["trigger"]["triggerType"] == "CloudWatchEvent"
    [revision] = latest["sourceRevisions"]
    assert (revision["revisionId"], revision["revisionSummary"]) == (commit_id, "Ship it")


def test_the_public_url_setting_names_the_clone_url(monkeypatch, client):
    monkeypatch.setenv("EMULATOR_PUBLIC_URL", "http://localhost:14566/")
    created = client("codecommit").create_repository(repositoryName="published")["repositoryMetadata"]
    assert created["cloneUrlHttp"] == "http://localhost:14566/v1/repos/published"


def test_a_wildcard_listening_address_is_reported_as_the_loopback_one(monkeypatch):
    monkeypatch.delenv("EMULATOR_PUBLIC_URL", raising=False)
    monkeypatch.setattr(clone_urls, "_listening", None)  # restored after the test, for the session's server
    clone_urls.set_listening("http://0.0.0.0:4566")
    assert clone_urls.http_clone_url("orders-api", "https://aws") == "http://127.0.0.1:4566/v1/repos/orders-api"


def test_without_git_on_the_host_git_and_the_push_shortcut_say_so(emulator, repository, monkeypatch, tmp_path):
    # A host without git cannot be produced otherwise: the server thread shares this process's PATH.
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{emulator}/v1/repos/{REPOSITORY}/info/refs?service=git-upload-pack", timeout=10)
    assert refused.value.code == 500
    assert "git is not installed" in refused.value.read().decode()
    with pytest.raises(urllib.error.HTTPError) as failed:
        control(emulator, "push", {"repository": REPOSITORY, "message": "x"})
    assert failed.value.code == 500
    assert "git is not installed" in json.loads(failed.value.read())["error"]
