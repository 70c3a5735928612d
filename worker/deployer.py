"""Change-set based stack deployment, in the shape of awscli's cloudformation deployer.

The Deployer takes a CloudFormation client from outside and offers the steps (has_stack,
create_change_set, describe_change_set, execute_change_set, delete_stack); following a running
stack is worker/events.py's job. Results are small named tuples; errors are this module's own
classes, raised from the ClientError they stand for.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from worker import aws_errors
from worker.stack_status import StackState, classify
from worker.staging import INLINE_LIMIT_BYTES, TemplateStaging
from worker.templates import Template

logger = logging.getLogger(__name__)

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
FINGERPRINT_PREFIX = "portal fingerprint "


class DeployerError(Exception):
    """A CloudFormation step failed."""


class ChangeSetEmpty(DeployerError):
    """The template and parameters match the stack: it is up to date (not an error for callers)."""

    def __init__(self, stack_name: str) -> None:
        super().__init__(f"stack {stack_name} is up to date: the change set contains no changes")
        self.stack_name = stack_name


class ChangeSetNotFound(DeployerError):
    def __init__(self, stack_name: str, change_set: str) -> None:
        super().__init__(f"change set {change_set} of stack {stack_name} no longer exists")


class ChangeSetFailed(DeployerError):
    def __init__(self, stack_name: str, change_set: str, reason: str) -> None:
        super().__init__(f"change set {change_set} of stack {stack_name} failed: {reason}")
        self.reason = reason


class StackNotReady(DeployerError):
    """The stack is in a state where no change set can be made (busy, stuck or needs recreating)."""

    def __init__(self, stack_name: str, status: str, hint: str) -> None:
        super().__init__(f"stack {stack_name} is {status}: {hint}")
        self.status = status


class TemplateTooLarge(DeployerError):
    def __init__(self, template: Template) -> None:
        super().__init__(f"{template.name} is {template.size} bytes, over CloudFormation's "
                         f"{INLINE_LIMIT_BYTES}-byte inline limit, and no S3 staging is configured")


class Stack(NamedTuple):
    stack_id: str
    name: str
    status: str
    state: StackState
    reason: str
    outputs: dict[str, str]
    parameters: dict[str, str]


class ChangeSetRef(NamedTuple):
    change_set_id: str
    name: str
    stack_id: str
    change_set_type: str  # CREATE | UPDATE
    reused: bool


class ResourceChange(NamedTuple):
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    physical_id: str
    resource_type: str
    replacement: str  # True | False | Conditional | "" (not a Modify)

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "logical_id": self.logical_id, "physical_id": self.physical_id,
                "type": self.resource_type, "replacement": self.replacement}


class ChangeSet(NamedTuple):
    change_set_id: str
    stack_id: str
    status: str  # CREATE_PENDING | CREATE_IN_PROGRESS | CREATE_COMPLETE | FAILED | DELETE_*
    execution_status: str  # UNAVAILABLE | AVAILABLE | EXECUTE_IN_PROGRESS | EXECUTE_COMPLETE | ...
    reason: str
    description: str
    changes: list[ResourceChange]

    @property
    def is_ready(self) -> bool:
        return self.status == "CREATE_COMPLETE"

    @property
    def is_pending(self) -> bool:
        return self.status in ("CREATE_PENDING", "CREATE_IN_PROGRESS")

    @property
    def is_empty(self) -> bool:
        """CloudFormation marks a change set without changes FAILED; that means "up to date"."""
        return self.status == "FAILED" and aws_errors.is_no_changes_reason(self.reason)


def fingerprint(template: Template, parameters: dict[str, str], tags: dict[str, str], change_set_type: str) -> str:
    """Identify what a change set was made from, so an identical one can be reused."""
    material = json.dumps([template.sha256, parameters, tags, change_set_type], sort_keys=True)
    return FINGERPRINT_PREFIX + hashlib.sha256(material.encode()).hexdigest()


class Deployer:
    def __init__(self, cfn_client: Any, staging: TemplateStaging | None = None) -> None:
        self.cfn = cfn_client
        self.staging = staging

    def describe_stack(self, stack: str) -> Stack | None:
        """Return the stack named (or with the id) ``stack``, or None when CloudFormation has none."""
        try:
            found = self.cfn.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as err:
            if aws_errors.is_stack_missing(err):
                return None
            raise DeployerError(f"cannot describe stack {stack}: {err}") from err
        if not found:
            return None
        data = found[0]
        return Stack(
            stack_id=data["StackId"], name=data["StackName"], status=data["StackStatus"],
            state=classify(data["StackStatus"]), reason=data.get("StackStatusReason", ""),
            outputs={o["OutputKey"]: o.get("OutputValue", "") for o in data.get("Outputs") or []},
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in data.get("Parameters") or []},
        )

    def has_stack(self, stack_name: str) -> bool:
        """Whether a stack exists that a change set would UPDATE.

        REVIEW_IN_PROGRESS means only an unexecuted CREATE change set exists: no stack yet.
        ROLLBACK_COMPLETE is reported as StackNotReady: such a stack can only be deleted and
        created again, which the caller must decide (and show) explicitly.
        """
        stack = self.describe_stack(stack_name)
        if stack is None or stack.state is StackState.ABSENT:
            return False
        if stack.state is StackState.NEEDS_RECREATE:
            raise StackNotReady(stack_name, stack.status, "a failed creation left it empty; delete and recreate it")
        if stack.state is StackState.IN_PROGRESS:
            raise StackNotReady(stack_name, stack.status, "an operation is running on it; try again when it ends")
        if stack.state is StackState.FAILED:
            raise StackNotReady(stack_name, stack.status, "it needs manual repair in the CloudFormation console")
        return True

    def template_argument(self, template: Template) -> dict[str, str]:
        """TemplateBody when it fits inline, else TemplateURL of a staged copy in S3."""
        if template.size <= INLINE_LIMIT_BYTES:
            return {"TemplateBody": template.body}
        if self.staging is None:
            raise TemplateTooLarge(template)
        return {"TemplateURL": self.staging.url_for(template, prefix="change-sets")}

    def create_change_set(
        self, stack_name: str, change_set_name: str, template: Template,
        parameters: dict[str, str], tags: dict[str, str],
    ) -> ChangeSetRef:
        """Create (or reuse an identical) change set; raise ChangeSetEmpty when up to date."""
        change_set_type = "UPDATE" if self.has_stack(stack_name) else "CREATE"
        wanted = fingerprint(template, parameters, tags, change_set_type)
        existing = self._find_change_set(stack_name, change_set_name)
        if existing is not None:
            if existing.description == wanted and existing.status != "FAILED":
                logger.info("reusing change set %s of %s", change_set_name, stack_name)
                return ChangeSetRef(existing.change_set_id, change_set_name, existing.stack_id, change_set_type, True)
            if existing.is_empty and existing.description == wanted:
                raise ChangeSetEmpty(stack_name)
            self.delete_change_set(stack_name, change_set_name)
        try:
            created = self.cfn.create_change_set(
                StackName=stack_name, ChangeSetName=change_set_name, ChangeSetType=change_set_type,
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                Capabilities=CAPABILITIES, Description=wanted,
                **self.template_argument(template),
            )
        except ClientError as err:
            if aws_errors.is_empty_change_set(err):
                raise ChangeSetEmpty(stack_name) from err
            raise DeployerError(f"cannot create change set {change_set_name} for {stack_name}: {err}") from err
        logger.info("created %s change set %s for %s", change_set_type, change_set_name, stack_name)
        return ChangeSetRef(created["Id"], change_set_name, created.get("StackId", ""), change_set_type, False)

    def describe_change_set(self, stack_name: str, change_set: str) -> ChangeSet:
        """Describe a change set, following NextToken through every page of Changes."""
        changes: list[ResourceChange] = []
        first: dict[str, Any] | None = None
        try:
            for page in self.cfn.get_paginator("describe_change_set").paginate(
                StackName=stack_name, ChangeSetName=change_set
            ):
                first = first or page
                changes.extend(_resource_change(c) for c in page.get("Changes") or [] if c.get("Type") == "Resource")
        except ClientError as err:
            if aws_errors.is_change_set_missing(err):
                raise ChangeSetNotFound(stack_name, change_set) from err
            raise DeployerError(f"cannot describe change set {change_set} of {stack_name}: {err}") from err
        assert first is not None
        return ChangeSet(
            change_set_id=first["ChangeSetId"], stack_id=first.get("StackId", ""), status=first.get("Status", ""),
            execution_status=first.get("ExecutionStatus", ""), reason=first.get("StatusReason", ""),
            description=first.get("Description", ""), changes=changes,
        )

    def check_change_set(self, stack_name: str, change_set: str) -> ChangeSet:
        """Describe a change set; raise ChangeSetEmpty when it found nothing to change, ChangeSetFailed
        when it failed otherwise. A pending or ready change set is returned."""
        described = self.describe_change_set(stack_name, change_set)
        if described.is_empty:
            raise ChangeSetEmpty(stack_name)
        if described.status == "FAILED":
            raise ChangeSetFailed(stack_name, change_set, described.reason)
        return described

    def execute_change_set(self, stack_name: str, change_set: str) -> bool:
        """Execute; return False when it had been executed already (a re-run after a crash)."""
        try:
            self.cfn.execute_change_set(StackName=stack_name, ChangeSetName=change_set)
        except ClientError as err:
            if aws_errors.is_change_set_already_executed(err):
                logger.info("change set %s of %s was already executed", change_set, stack_name)
                return False
            if aws_errors.is_change_set_missing(err):
                raise ChangeSetNotFound(stack_name, change_set) from err
            raise DeployerError(f"cannot execute change set {change_set} of {stack_name}: {err}") from err
        logger.info("executing change set %s of %s", change_set, stack_name)
        return True

    def delete_change_set(self, stack_name: str, change_set: str) -> None:
        try:
            self.cfn.delete_change_set(StackName=stack_name, ChangeSetName=change_set)
        except ClientError as err:
            if not aws_errors.is_change_set_missing(err):
                raise DeployerError(f"cannot delete change set {change_set} of {stack_name}: {err}") from err

    def template_body(self, stack: str) -> str:
        """The template the stack was last deployed with, as text."""
        try:
            body = self.cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        except ClientError as err:
            raise DeployerError(f"cannot read the template of stack {stack}: {err}") from err
        # boto3 parses a JSON template into a dict; YAML stays text.
        return body if isinstance(body, str) else json.dumps(body)

    def delete_stack(self, stack: str) -> None:
        """Start deleting ``stack`` (name or id); deleting a missing stack is not an error."""
        try:
            self.cfn.delete_stack(StackName=stack)
        except ClientError as err:
            raise DeployerError(f"cannot delete stack {stack}: {err}") from err
        logger.info("deleting stack %s", stack)

    def _find_change_set(self, stack_name: str, change_set: str) -> ChangeSet | None:
        try:
            return self.describe_change_set(stack_name, change_set)
        except ChangeSetNotFound:
            return None


def _resource_change(change: dict[str, Any]) -> ResourceChange:
    rc = change.get("ResourceChange") or {}
    return ResourceChange(
        action=rc.get("Action", ""), logical_id=rc.get("LogicalResourceId", ""),
        physical_id=rc.get("PhysicalResourceId", ""), resource_type=rc.get("ResourceType", ""),
        replacement=rc.get("Replacement", "") if rc.get("Action") == "Modify" else "",
    )
