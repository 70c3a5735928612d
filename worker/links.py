"""Links and commands shown to people: console pages, quick-create links, CLI and git commands."""
from __future__ import annotations

import shlex
from urllib.parse import quote, urlencode, urlsplit

from core.models import SourceProvider
from worker import settings
from worker.deployer import CAPABILITIES


def console_base(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com"


def stack_console_url(region: str, stack_id: str) -> str:
    return (f"{console_base(region)}/cloudformation/home?region={region}"
            f"#/stacks/stackinfo?stackId={quote(stack_id, safe='')}")


def template_url(template_name: str) -> str:
    """The published copy of a template (see settings.template_base_url), or "" if unpublished."""
    base = settings.template_base_url()
    return f"{base}/{template_name}" if base else ""


def quick_create_url(region: str, stack_name: str, template_name: str, parameters: dict[str, str]) -> str:
    """CloudFormation's quick-create page, pre-filled; "" when the templates are not published."""
    url = template_url(template_name)
    if not url:
        return ""
    query = [("templateURL", url), ("stackName", stack_name)]
    query += [(f"param_{key}", value) for key, value in sorted(parameters.items())]
    return f"{console_base(region)}/cloudformation/home?region={region}#/stacks/quickcreate?{urlencode(query)}"


def deploy_command(region: str, stack_name: str, template_path: str, parameters: dict[str, str],
                   tags: dict[str, str]) -> str:
    """The exact ``aws cloudformation deploy`` command an account admin can run instead."""
    parts = ["aws", "cloudformation", "deploy", "--region", region, "--stack-name", stack_name,
             "--template-file", template_path, "--capabilities", *CAPABILITIES[:2]]
    if parameters:
        parts += ["--parameter-overrides", *(f"{k}={v}" for k, v in sorted(parameters.items()))]
    if tags:
        parts += ["--tags", *(f"{k}={v}" for k, v in sorted(tags.items()))]
    return shlex.join(parts)


def delete_command(region: str, stack_name: str) -> str:
    return shlex.join(["aws", "cloudformation", "delete-stack", "--region", region, "--stack-name", stack_name])


def git_commands(source_provider: str, clone_url_http: str, branch: str, region: str, repository: str) -> list[str]:
    """How to push the application into the pipeline's source repository."""
    if source_provider == SourceProvider.GITHUB:
        return [f"git remote add origin {clone_url_http}", f"git push origin {shlex.quote(branch)}"]
    if not is_aws_codecommit(clone_url_http):
        # codecommit:: remotes reach only AWS's own hosts; any other server (the local emulator's git)
        # takes the HTTPS URL as it is, without credentials.
        return [f"git remote add aws {clone_url_http}", f"git push aws {shlex.quote(branch)}"]
    # git-remote-codecommit signs with the caller's AWS credentials, no Git credentials needed;
    # the HTTPS URL works with the AWS CLI's credential helper.
    return [
        f"git remote add aws codecommit::{region}://{repository}",
        f"git push aws {shlex.quote(branch)}",
        f"# or over HTTPS with the AWS CLI credential helper: git remote add aws {clone_url_http}",
    ]


def is_aws_codecommit(clone_url_http: str) -> bool:
    """Whether the clone URL is AWS CodeCommit's (git-codecommit[-fips].REGION.amazonaws.com[.cn])."""
    host = urlsplit(clone_url_http).hostname or ""
    return host.startswith("git-codecommit") and host.endswith((".amazonaws.com", ".amazonaws.com.cn"))
