"""Change sets: planned from the stack's real state, executed by the engine, failing like AWS."""
from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.core.common_models import BaseModel
from moto.core.utils import utcnow

from emulator.cfn.template_diff import ResourceChange
from emulator.cfn.pacing import Operation

EMPTY_REASON = ("The submitted information didn't contain changes. "
                "Submit different information to create a change set.")
SUCCEEDED = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


class InvalidChangeSetStatusError(CloudFormationError):
    code = "InvalidChangeSetStatusException"


class ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFoundException"

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


class EmulatedChangeSet(BaseModel):
    """Attribute names follow botocore's DescribeChangeSet/ChangeSetSummary shapes."""

    def __init__(self, *, change_set_type: str, change_set_id: str, change_set_name: str, stack: Any,
                 template: str, parameters: dict[str, Any], resolved_parameters: dict[str, Any],
                 description: str | None, changes: list[ResourceChange], empty: bool,
                 notification_arns: list[str], tags: dict[str, str], role_arn: str | None,
                 capabilities: list[str], on_stack_failure: str | None,
                 original_template: str | None = None, failure: str | None = None) -> None:
        self.change_set_type = change_set_type
        self.change_set_id = change_set_id
        self.change_set_name = change_set_name
        self.stack = stack
        self.template = template  # processed: what executing it deploys
        # As submitted, when a transform processed it; a failed transform leaves no processed template.
        self.original_template = original_template
        self.processed_available = failure is None
        self.input_parameters = parameters
        self.resolved_parameters = resolved_parameters
        self.description = description
        self.changes = changes
        self.notification_arns = notification_arns
        self.tag_dict = tags
        self.role_arn = role_arn
        self.capabilities = capabilities
        self.on_stack_failure = on_stack_failure
        self.creation_time = utcnow()
        failed = empty or failure is not None
        self.status = "FAILED" if failed else "CREATE_COMPLETE"
        self.status_reason = failure if failure is not None else EMPTY_REASON if empty else None
        self._execution_status = "UNAVAILABLE" if failed else "AVAILABLE"
        self.operation: Operation | None = None
        self.include_nested_stacks = False

    @property
    def submitted_template(self) -> str:
        return self.original_template if self.original_template is not None else self.template

    @property
    def stack_id(self) -> str:
        return self.stack.stack_id

    @property
    def stack_name(self) -> str:
        return self.stack.name

    @property
    def parameters(self) -> dict[str, Any]:
        # A dict: moto's DescribeChangeSet transformer turns it into [{ParameterKey, ParameterValue}].
        no_echo = set(getattr(self.stack.resource_map, "no_echo_parameter_keys", []))
        return {k: ("****" if k in no_echo else (",".join(v) if isinstance(v, list) else str(v)))
                for k, v in self.resolved_parameters.items()}

    @property
    def tags(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tag_dict.items()]

    @property
    def execution_status(self) -> str:
        if self.operation is None:
            return self._execution_status
        if not self.operation.done(utcnow()):
            return "EXECUTE_IN_PROGRESS"
        return "EXECUTE_COMPLETE" if self.operation.final_status in SUCCEEDED else "EXECUTE_FAILED"

    def make_obsolete(self) -> None:
        if self.operation is None and self._execution_status == "AVAILABLE":
            self._execution_status = "OBSOLETE"

    def check_executable(self) -> None:
        """:raise InvalidChangeSetStatusError: unless the change set can run, worded as AWS does."""
        if self.status != "CREATE_COMPLETE":
            raise InvalidChangeSetStatusError(
                f"ChangeSet [{self.change_set_id}] cannot be executed in its current status of [{self.status}]")
        if self.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatusError(
                f"ChangeSet [{self.change_set_id}] cannot be executed in its current execution status "
                f"of [{self.execution_status}]")
