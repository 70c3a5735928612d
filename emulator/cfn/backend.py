"""moto's CloudFormation backend with the emulator's engine behind stacks and change sets."""
from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, cloudformation_backends
from moto.core.base_backend import backend_lock
from moto.cloudformation.utils import generate_changeset_id, generate_stack_id, validate_create_change_set

from emulator.cfn import templates
from emulator.cfn.template_diff import plan_changes, resolved_parameters
from emulator.cfn.changesets import ChangeSetNotFoundError, EmulatedChangeSet
from emulator.cfn.engine import Engine
from emulator.cfn.stack import EmulatedStack
from emulator.patches import Kind, Patch

logger = logging.getLogger(__name__)

UPDATABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED",
             "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")


def validate_template(template: dict[str, Any]) -> None:
    """Reject what CloudFormation rejects before touching any resource.

    :raise ValidationError: with CloudFormation's wording.
    """
    resources = template.get("Resources")
    if not resources or not isinstance(resources, dict):
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise ValidationError(message=(
                f"Template format error: [/Resources/{logical_id}] Every Resources object must contain "
                "a Type member."))
    templates.check_references(template)
    templates.dependency_order(resources, resources)


def check_updatable(stack: EmulatedStack) -> None:
    if stack.status not in UPDATABLE:
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


class EmulatedCloudFormationBackend(CloudFormationBackend):
    """Stacks are EmulatedStacks; their operations go through the engine and the timeline."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.change_sets: dict[str, EmulatedChangeSet] = {}  # type: ignore[assignment]

    @property
    def _url_module(self) -> Any:
        # moto finds a backend's URL routes next to the backend's module; ours are moto's.
        from moto.cloudformation import urls

        return urls

    # ---- bookkeeping -------------------------------------------------------------------
    def settle(self) -> None:
        """Move stacks whose deletion has finished (as the timeline shows now) to deleted_stacks."""
        for stack_id, stack in list(self.stacks.items()):
            if isinstance(stack, EmulatedStack) and stack.status == "DELETE_COMPLETE":
                stack.deletion_time = stack.timeline.operations[-1].ends_at
                self.deleted_stacks[stack_id] = self.stacks.pop(stack_id)
                for cs_id in [k for k, cs in self.change_sets.items() if cs.stack is stack]:
                    del self.change_sets[cs_id]

    def _by_name(self, name: str) -> EmulatedStack | None:
        for stack in self.stacks.values():
            if stack.name == name or stack.stack_id == name:
                return stack  # type: ignore[return-value]
        return None

    def _refresh_exports(self, stack: EmulatedStack, keep: bool) -> None:
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        if keep:
            for export in stack.exports:
                self.exports[export.name] = export

    def _after(self, stack: EmulatedStack, operation: Any) -> Any:
        self._refresh_exports(stack, operation.final_status in ("CREATE_COMPLETE", "UPDATE_COMPLETE",
                                                                 "UPDATE_ROLLBACK_COMPLETE"))
        return operation

    # ---- stacks ------------------------------------------------------------------------
    def create_stack(self, name: str, template: str, parameters: dict[str, Any],  # type: ignore[override]
                     notification_arns: list[str] | None = None, tags: dict[str, str] | None = None,
                     role_arn: str | None = None, enable_termination_protection: bool | None = False,
                     timeout_in_mins: int | None = None, stack_policy_body: str | None = None,
                     on_failure: str = "ROLLBACK", original_template: str | None = None) -> EmulatedStack:
        self.settle()
        if self._by_name(name) is not None:
            raise AlreadyExistsException(f"Stack [{name}] already exists")
        validate_template(templates.parse(template))  # before moto's Stack reads the template
        stack = EmulatedStack(
            stack_id=generate_stack_id(name, self.region_name, self.account_id), name=name,
            template=template, parameters=parameters, account_id=self.account_id,
            region_name=self.region_name, notification_arns=notification_arns, tags=tags,
            role_arn=role_arn, cross_stack_resources=self.exports,
            enable_termination_protection=enable_termination_protection,
            timeout_in_mins=timeout_in_mins, stack_policy_body=stack_policy_body,
        )
        stack.disable_rollback = on_failure == "DO_NOTHING"
        stack.original_template = original_template
        self.stacks[stack.stack_id] = stack
        self._after(stack, Engine(stack).create(on_failure))
        return stack

    def update_stack(self, name: str, template: str, role_arn: str | None,  # type: ignore[override]
                     parameters: dict[str, Any], tags: dict[str, str] | None,
                     disable_rollback: bool = False, original_template: str | None = None) -> EmulatedStack:
        stack = self.get_stack(name)
        check_updatable(stack)
        new_template = templates.parse(template)
        validate_template(new_template)
        if new_template == stack.template_dict and \
                resolved_parameters(stack, new_template, parameters) == stack.resource_map.resolved_parameters:
            raise ValidationError(message="No updates are to be performed.")
        if role_arn:
            stack.role_arn = role_arn
        if tags is not None:
            stack.tags = tags
        operation = Engine(stack).update(template, parameters, disable_rollback, original_template)
        stack.last_updated_time = operation.starts_at
        self._after(stack, operation)
        for change_set in self.change_sets.values():
            if change_set.stack is stack:
                change_set.make_obsolete()
        return stack

    def delete_stack(self, name_or_stack_id: str) -> None:
        self.settle()
        stack = self._by_name(name_or_stack_id)
        if stack is None:
            return  # deleting a stack that does not exist succeeds, as in AWS
        last = stack.timeline.operations[-1] if stack.timeline.operations else None
        if last is not None and last.kind == "DELETE" and last.final_status == "DELETE_COMPLETE":
            return  # already being deleted
        self._after(stack, Engine(stack).delete())

    def get_stack(self, name_or_stack_id: str) -> EmulatedStack:
        self.settle()
        return super().get_stack(name_or_stack_id)  # type: ignore[return-value]

    def describe_stacks(self, name_or_stack_id: str) -> list[Any]:
        self.settle()
        return super().describe_stacks(name_or_stack_id)

    def list_stacks(self, status_filter: list[str] | None = None) -> list[Any]:
        self.settle()
        return super().list_stacks(status_filter)

    def resource_states(self, name_or_stack_id: str) -> tuple[EmulatedStack, list[Any]]:
        """The stack and the latest visible event of each of its resources."""
        stack = self.get_stack(name_or_stack_id)
        return stack, list(stack.timeline.resource_states().values())

    # ---- change sets ---------------------------------------------------------------------
    def create_change_set(self, stack_name: str, change_set_name: str, template: str,  # type: ignore[override]
                          parameters: dict[str, Any], description: str, change_set_type: str,
                          notification_arns: list[str] | None = None, tags: dict[str, str] | None = None,
                          role_arn: str | None = None, capabilities: list[str] | None = None,
                          on_stack_failure: str | None = None, original_template: str | None = None,
                          failure: str | None = None) -> tuple[str, str]:
        """A change set; ``template`` is processed, ``original_template`` the submitted one if they differ.

        A template with a transform is checked after processing, as AWS does it, asynchronously:
        what is wrong with it (``failure``, or a validation error) makes the change set FAILED
        with that reason instead of refusing the request.
        """
        self.settle()
        validate_create_change_set(change_set_name)
        stack = self._by_name(stack_name)
        if change_set_type == "CREATE":
            if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
                raise AlreadyExistsException(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{change_set_name}].")
        elif stack is None or stack.status == "REVIEW_IN_PROGRESS":
            raise ValidationError(message=f"Stack [{stack_name}] does not exist")
        else:
            check_updatable(stack)
        for cs_id, existing in list(self.change_sets.items()):
            if existing.change_set_name == change_set_name and existing.stack_name == stack_name:
                if existing.operation is None:
                    raise AlreadyExistsException(f"ChangeSet [{change_set_name}] already exists")
                del self.change_sets[cs_id]  # an executed change set does not hold on to its name
        new_stack = stack is None
        if stack is None:
            stack = EmulatedStack(
                stack_id=generate_stack_id(stack_name, self.region_name, self.account_id), name=stack_name,
                template={}, parameters={}, account_id=self.account_id, region_name=self.region_name,
                notification_arns=notification_arns, tags=tags, role_arn=role_arn,
                cross_stack_resources=self.exports,
            )
        changes: list[Any] = []
        resolved: dict[str, Any] = {}
        empty = False
        try:
            if failure is None:
                new_template = templates.parse(template)
                validate_template(new_template)
                changes = plan_changes(stack, new_template, parameters)  # validates before the stack exists
                resolved = resolved_parameters(stack, new_template, parameters)
                empty = change_set_type == "UPDATE" and new_template == stack.template_dict \
                    and resolved == stack.resource_map.resolved_parameters
        except ValidationError as err:
            if original_template is None:
                raise
            failure = err.message
        if new_stack:
            self.stacks[stack.stack_id] = stack
            stack._add_stack_event("REVIEW_IN_PROGRESS", "User Initiated")
        change_set = EmulatedChangeSet(
            change_set_type=change_set_type,
            change_set_id=generate_changeset_id(change_set_name, self.region_name, self.account_id),
            change_set_name=change_set_name, stack=stack, template=template, parameters=parameters,
            resolved_parameters=resolved, description=description, changes=changes, empty=empty,
            notification_arns=notification_arns or [], tags=tags or {}, role_arn=role_arn,
            capabilities=capabilities or [], on_stack_failure=on_stack_failure,
            original_template=original_template, failure=failure,
        )
        self.change_sets[change_set.change_set_id] = change_set
        logger.info("change set %s on %s (%s): %s, %d changes", change_set_name, stack_name,
                    self.account_id, change_set.status, len(changes))
        return change_set.change_set_id, stack.stack_id

    def find_change_set(self, change_set_name: str, stack_name: str | None = None) -> EmulatedChangeSet:
        """By ARN, or by name within the named stack. :raise ChangeSetNotFoundError:"""
        self.settle()
        if change_set_name in self.change_sets:
            return self.change_sets[change_set_name]
        for change_set in self.change_sets.values():
            if change_set.change_set_name == change_set_name and \
                    (stack_name is None or stack_name in (change_set.stack_name, change_set.stack_id)):
                return change_set
        raise ChangeSetNotFoundError(change_set_name)

    def describe_change_set(self, change_set_name: str, stack_name: str | None = None) -> EmulatedChangeSet:  # type: ignore[override]
        return self.find_change_set(change_set_name, stack_name)

    def delete_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:  # type: ignore[override]
        change_set = self.find_change_set(change_set_name, stack_name)
        if change_set.execution_status == "EXECUTE_IN_PROGRESS":
            raise ValidationError(message=(
                f"Cannot delete ChangeSet [{change_set.change_set_id}] while it is being executed"))
        del self.change_sets[change_set.change_set_id]

    def list_change_sets_of(self, stack_name: str) -> list[EmulatedChangeSet]:
        self.settle()
        return [cs for cs in self.change_sets.values() if stack_name in (cs.stack_name, cs.stack_id)]

    def execute_change_set(self, change_set_name: str, stack_name: str | None = None,  # type: ignore[override]
                           disable_rollback: bool = False) -> None:
        change_set = self.find_change_set(change_set_name, stack_name)
        change_set.check_executable()
        stack = change_set.stack
        if change_set.change_set_type == "CREATE":
            if stack.status != "REVIEW_IN_PROGRESS":
                check_updatable(stack)
            new_template = templates.parse(change_set.template)
            stack.template, stack.template_dict = change_set.template, new_template
            stack.original_template = change_set.original_template
            stack.parameters = change_set.input_parameters
            stack.description = new_template.get("Description")
            stack.resource_map.load_context(new_template, change_set.input_parameters)
            on_failure = change_set.on_stack_failure or ("DO_NOTHING" if disable_rollback else "ROLLBACK")
            stack.disable_rollback = on_failure == "DO_NOTHING"
            operation = Engine(stack).create(on_failure)
        else:
            check_updatable(stack)
            operation = Engine(stack).update(change_set.template, change_set.input_parameters,
                                             disable_rollback or change_set.on_stack_failure == "DO_NOTHING",
                                             change_set.original_template)
            stack.last_updated_time = operation.starts_at
        change_set.operation = self._after(stack, operation)
        # AWS deletes the stack's other change sets: they no longer describe the stack.
        for cs_id in [k for k, other in self.change_sets.items() if other.stack is stack and other is not change_set]:
            del self.change_sets[cs_id]


def forget_account_backends() -> None:
    """Drop the accounts' backends built so far: they are instances of the class just swapped out."""
    with backend_lock:
        cloudformation_backends.clear()


PATCHES = (
    Patch("moto.cloudformation.models:cloudformation_backends.backend", EmulatedCloudFormationBackend,
          Kind.CLASS, "new accounts get the emulator's backend: stacks run through the engine",
          on_change=forget_account_backends),
)
