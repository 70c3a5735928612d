"""Links and commands shown to people, and publishing the templates for quick-create links."""
from __future__ import annotations

import boto3
import pytest

from tests.worker.conftest import REGION
from worker import links, templates
from worker.publish import PublishError, main, publish


def test_stack_console_url_encodes_the_stack_id():
    url = links.stack_console_url("eu-west-1", "arn:aws:cloudformation:eu-west-1:1:stack/a/b")
    assert url == ("https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1"
                   "#/stacks/stackinfo?stackId=arn%3Aaws%3Acloudformation%3Aeu-west-1%3A1%3Astack%2Fa%2Fb")


def test_quick_create_link_needs_published_templates(monkeypatch):
    monkeypatch.delenv("PORTAL_TEMPLATE_BASE_URL", raising=False)
    assert links.quick_create_url(REGION, "s", "deploy-dependencies.yaml", {"A": "1"}) == ""


def test_quick_create_link_carries_every_parameter(monkeypatch):
    monkeypatch.setenv("PORTAL_TEMPLATE_BASE_URL", "https://b.s3.us-east-1.amazonaws.com/t/")
    url = links.quick_create_url(REGION, "app-deploy-dependencies", "deploy-dependencies.yaml",
                                 {"ApplicationName": "app", "BuildRegion": ""})
    assert url.endswith("#/stacks/quickcreate?templateURL=https%3A%2F%2Fb.s3.us-east-1.amazonaws.com%2Ft%2F"
                        "deploy-dependencies.yaml&stackName=app-deploy-dependencies&param_ApplicationName=app"
                        "&param_BuildRegion=")


def test_deploy_command_quotes_values_with_spaces():
    command = links.deploy_command(REGION, "s", "templates_cfn/x.yaml", {"Email": "a b@example.com"}, {"team": "x y"})
    assert "'Email=a b@example.com'" in command and "'team=x y'" in command


@pytest.mark.parametrize(("provider", "clone", "expected"), [
    ("GitHub", "https://github.com/o/r.git", ["git remote add origin https://github.com/o/r.git", "git push origin main"]),
    ("CodeCommit", "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/repo",
     ["git remote add aws codecommit::us-east-1://repo", "git push aws main"]),
    ("CodeCommit", "https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/repo",
     ["git remote add aws codecommit::us-east-1://repo", "git push aws main"]),
    # Any other host (the emulator's git server) is pushed to over its HTTPS URL as it is.
    ("CodeCommit", "http://127.0.0.1:4566/v1/repos/repo",
     ["git remote add aws http://127.0.0.1:4566/v1/repos/repo", "git push aws main"]),
    ("CodeCommit", "https://git-codecommit.us-east-1.amazonaws.com.example.org/v1/repos/repo",
     ["git remote add aws https://git-codecommit.us-east-1.amazonaws.com.example.org/v1/repos/repo", "git push aws main"]),
])
def test_git_commands_follow_the_source_provider_and_host(provider, clone, expected):
    commands = links.git_commands(provider, clone, "main", REGION, "repo")
    assert commands[:2] == expected
    # The HTTPS alternative is offered only beside a codecommit:: remote.
    assert any(c.startswith("#") for c in commands) is ("codecommit::" in commands[0])


def test_publish_uploads_both_templates_and_prints_the_base_url(aws_env, capsys):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lpp-public-templates")

    main(["s3://lpp-public-templates/v1", "--region", REGION])

    assert capsys.readouterr().out.strip() == \
        "PORTAL_TEMPLATE_BASE_URL=https://lpp-public-templates.s3.us-east-1.amazonaws.com/v1"
    body = s3.get_object(Bucket="lpp-public-templates", Key="v1/build-pipeline.yaml")["Body"].read().decode()
    assert body == templates.load(templates.BUILD_TEMPLATE).body


def test_publish_rejects_a_destination_that_is_not_s3():
    with pytest.raises(PublishError, match="s3://bucket/prefix"):
        publish(None, "https://example.com/x", REGION)
