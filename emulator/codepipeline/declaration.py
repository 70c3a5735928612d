"""Pipeline declarations: AWS's defaults and the structural checks CreatePipeline makes.

moto checks little, so a template with a broken pipeline would deploy in the emulator and
fail on AWS. These checks catch the usual mistakes: wrong role trust, a source action outside
the first stage, an input artifact nothing produced, duplicate names.
"""
from __future__ import annotations

import json
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends

from emulator.codepipeline.errors import InvalidStructureException
from emulator.sts import ROLE_ARN, trust_allows_service

SERVICE_PRINCIPAL = "codepipeline.amazonaws.com"
EXECUTION_MODES = ("QUEUED", "SUPERSEDED", "PARALLEL")


def with_defaults(declaration: dict[str, Any]) -> dict[str, Any]:
    """Fill in what AWS fills in, so GetPipeline shows the same declaration."""
    declaration.setdefault("pipelineType", "V1")
    declaration.setdefault("executionMode", "SUPERSEDED")
    for stage in declaration.get("stages", []):
        for action in stage.get("actions", []):
            action.setdefault("runOrder", 1)
            action.setdefault("configuration", {})
            action.setdefault("inputArtifacts", [])
            action.setdefault("outputArtifacts", [])
    return declaration


def validate(declaration: dict[str, Any], partition: str = "aws") -> None:
    """Raise InvalidStructureException where CreatePipeline/UpdatePipeline would reject."""
    _check_role(str(declaration.get("roleArn", "")), partition)
    stages = declaration.get("stages") or []
    if len(stages) < 2:
        raise InvalidStructureException(
            f"Pipeline has only {len(stages)} stage(s). There should be a minimum of 2 stages in a pipeline"
        )
    _check_unique([s["name"] for s in stages], "stage", "pipeline")
    mode = declaration.get("executionMode", "SUPERSEDED")
    if mode not in EXECUTION_MODES:
        raise InvalidStructureException(f"Execution mode {mode} is not one of {', '.join(EXECUTION_MODES)}")
    if mode != "SUPERSEDED" and declaration.get("pipelineType") != "V2":
        raise InvalidStructureException(f"Execution mode {mode} requires pipeline type V2")
    for index, stage in enumerate(stages):
        actions = stage.get("actions") or []
        if not actions:
            raise InvalidStructureException(f"Stage {stage['name']} has no actions")
        _check_unique([a["name"] for a in actions], "action", f"stage {stage['name']}")
        for action in actions:
            is_source = action["actionTypeId"]["category"] == "Source"
            if index == 0 and not is_source:
                raise InvalidStructureException(
                    f"Stage {stage['name']} is the first stage, so it may contain only source actions; "
                    f"{action['name']} is not one"
                )
            if index > 0 and is_source:
                raise InvalidStructureException(
                    f"Source action {action['name']} may only appear in the first stage, not in {stage['name']}"
                )
    _check_artifacts(stages)


def _check_role(role_arn: str, partition: str) -> None:
    match = ROLE_ARN.match(role_arn)
    denied = InvalidStructureException(
        f"CodePipeline is not authorized to perform AssumeRole on role {role_arn}"
    )
    if match is None:
        raise denied
    try:
        role = iam_backends[match.group(2)][partition].get_role_by_arn(role_arn)
    except NotFoundException:
        raise denied from None
    document = role.assume_role_policy_document
    if not trust_allows_service(json.loads(document) if isinstance(document, str) else document,
                                SERVICE_PRINCIPAL):
        raise denied


def _check_unique(names: list[str], kind: str, where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidStructureException(f"The {kind} name {name} is used more than once in {where}")
        seen.add(name)


def _check_artifacts(stages: list[dict[str, Any]]) -> None:
    """Inputs must come from an earlier action (earlier stage or lower run order); outputs are unique."""
    produced: set[str] = set()
    for stage in stages:
        actions = sorted(stage["actions"], key=lambda a: int(a.get("runOrder") or 1))
        for order in sorted({int(a.get("runOrder") or 1) for a in actions}):
            group = [a for a in actions if int(a.get("runOrder") or 1) == order]
            for action in group:
                for artifact in action.get("inputArtifacts") or []:
                    if artifact["name"] not in produced:
                        raise InvalidStructureException(
                            f"Input artifact {artifact['name']} of action {action['name']} in stage "
                            f"{stage['name']} is not the output of any earlier action"
                        )
            for action in group:
                for artifact in action.get("outputArtifacts") or []:
                    if artifact["name"] in produced:
                        raise InvalidStructureException(
                            f"Output artifact {artifact['name']} of action {action['name']} is "
                            "already produced by another action"
                        )
                    produced.add(artifact["name"])
