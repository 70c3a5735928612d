"""CloudFormation request handlers the emulator replaces on moto's CloudFormationResponse.

moto's handlers drop parameters the engine needs (OnFailure, DisableRollback, StackName of a
change set) or report hard-coded resource states; these read the request fully and answer
from the stack's timeline.
"""
from __future__ import annotations

import threading
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from emulator.cfn.backend import EmulatedCloudFormationBackend
from emulator.cfn.stack import EmulatedStack
from emulator.cfn.templates import InsufficientCapabilitiesError, check_capabilities, parse
from emulator.cfn.transforms import TransformError, expand, processed_body, require_auto_expand, transform_names
from emulator.patches import Kind, Patch, methods


def _backend(self: CloudFormationResponse) -> EmulatedCloudFormationBackend:
    return self.cloudformation_backend  # type: ignore[return-value]


def _template_body(self: CloudFormationResponse, stack: EmulatedStack | None) -> str:
    body, url = self._get_param("TemplateBody"), self._get_param("TemplateURL")
    use_previous = self._get_bool_param("UsePreviousTemplate", False)
    if use_previous and (body or url):
        raise ValidationError(message="You cannot specify both usePreviousTemplate and Template Body/Template URL.")
    if use_previous:
        if stack is None:
            raise ValidationError(message="UsePreviousTemplate can only be used with an existing stack")
        return stack.submitted_template  # a transform runs again, with the new parameters
    if url:
        return self._get_stack_from_s3_url(url)
    if not body:
        raise ValidationError(message="Either Template URL or Template Body must be specified.")
    return body


def _parameters(self: CloudFormationResponse, stack: EmulatedStack | None) -> dict[str, Any]:
    """Request parameters, with UsePreviousValue taken from the stack's current values."""
    values: dict[str, Any] = {}
    previous = dict(stack.resource_map.resolved_parameters) if stack is not None else {}
    previous.update(stack.parameters if stack is not None else {})
    for parameter in self._get_param("Parameters", []):
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue"):
            if parameter.get("ParameterValue") is not None:
                raise ValidationError(message=(
                    f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as true "
                    "and non empty value for a parameter"))
            if key not in previous:
                raise ValidationError(message=(
                    f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as true "
                    "for a parameter key not in the previous template"))
            value = previous[key]
            values[key] = ",".join(map(str, value)) if isinstance(value, list) else value
        else:
            values[key] = parameter.get("ParameterValue", "")
    return values


def _capabilities(self: CloudFormationResponse) -> list[str]:
    return self._get_param("Capabilities", [])


def _expanded(self: CloudFormationResponse, template: dict[str, Any], parameters: dict[str, Any]) -> str:
    backend = _backend(self)
    return processed_body(expand(template, parameters, backend.account_id, backend.region_name))


def _direct(self: CloudFormationResponse, body: str, parameters: dict[str, Any]) -> tuple[str, str | None]:
    """CreateStack/UpdateStack: the body to run and the submitted one, if a transform processed it.

    :raise InsufficientCapabilitiesError: for what the request does not acknowledge.
    :raise ValidationError: when a transform refuses the template.
    """
    template = parse(body)
    if not transform_names(template):
        check_capabilities(template, _capabilities(self))
        return body, None
    require_auto_expand(template, _capabilities(self))
    try:
        processed = _expanded(self, template, parameters)
    except TransformError as err:
        raise ValidationError(message=err.reason) from err
    check_capabilities(parse(processed), _capabilities(self))
    return processed, body


def _for_change_set(self: CloudFormationResponse, body: str,
                    parameters: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """CreateChangeSet: the body to run, the submitted one and the failure, if a transform ran.

    AWS processes a transform after answering the request (CAPABILITY_AUTO_EXPAND has no effect
    on change sets), so what goes wrong with it fails the change set rather than the request.
    """
    template = parse(body)
    if not transform_names(template):
        check_capabilities(template, _capabilities(self))
        return body, None, None
    try:
        processed = _expanded(self, template, parameters)
        check_capabilities(parse(processed), _capabilities(self))
    except TransformError as err:
        return body, body, err.reason
    except InsufficientCapabilitiesError as err:
        return body, body, err.message
    return processed, body, None


def _tags(self: CloudFormationResponse) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in self._get_param("Tags", [])}


def create_stack(self: CloudFormationResponse) -> ActionResult:
    on_failure = self._get_param("OnFailure") or (
        "DO_NOTHING" if self._get_bool_param("DisableRollback", False) else "ROLLBACK")
    parameters = _parameters(self, None)
    body, original = _direct(self, _template_body(self, None), parameters)
    stack = _backend(self).create_stack(
        name=self._get_param("StackName"), template=body, original_template=original,
        parameters=parameters, notification_arns=self._get_param("NotificationARNs", []),
        tags=_tags(self), role_arn=self._get_param("RoleARN"),
        enable_termination_protection=self._get_param("EnableTerminationProtection"),
        timeout_in_mins=self._get_param("TimeoutInMinutes"),
        stack_policy_body=self._get_param("StackPolicyBody"), on_failure=on_failure,
    )
    return ActionResult({"StackId": stack.stack_id})


def update_stack(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    stack = backend.get_stack(self._get_param("StackName"))
    tags = _tags(self) or None  # no Tags in the request keeps the stack's tags
    parameters = _parameters(self, stack)
    body, original = _direct(self, _template_body(self, stack), parameters)
    stack = backend.update_stack(
        name=self._get_param("StackName"), template=body, original_template=original,
        role_arn=self._get_param("RoleARN"), parameters=parameters, tags=tags,
        disable_rollback=self._get_bool_param("DisableRollback", False),
    )
    return ActionResult({"StackId": stack.stack_id})


def create_change_set(self: CloudFormationResponse) -> ActionResult:
    backend = _backend(self)
    change_set_type = self._get_param("ChangeSetType", "CREATE")
    stack = None
    if change_set_type == "UPDATE":
        stack = backend.get_stack(self._get_param("StackName"))
    parameters = _parameters(self, stack)
    body, original, failure = _for_change_set(self, _template_body(self, stack), parameters)
    change_set_id, stack_id = backend.create_change_set(
        stack_name=self._get_param("StackName"), change_set_name=self._get_param("ChangeSetName"),
        template=body, original_template=original, failure=failure, parameters=parameters,
        description=self._get_param("Description"), change_set_type=change_set_type,
        notification_arns=self._get_param("NotificationARNs", []), tags=_tags(self),
        role_arn=self._get_param("RoleARN"), capabilities=self._get_param("Capabilities", []),
        on_stack_failure=self._get_param("OnStackFailure"),
    )
    return ActionResult({"Id": change_set_id, "StackId": stack_id})


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    return ActionResult(_backend(self).describe_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName")))


def delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    _backend(self).delete_change_set(self._get_param("ChangeSetName"), self._get_param("StackName"))
    return EmptyResult()


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    _backend(self).execute_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName"),
        disable_rollback=self._get_bool_param("DisableRollback", False),
    )
    return EmptyResult()


def list_change_sets(self: CloudFormationResponse) -> ActionResult:
    return ActionResult({"Summaries": _backend(self).list_change_sets_of(self._get_param("StackName"))})


def get_template(self: CloudFormationResponse) -> ActionResult:
    """The Original (as submitted) or Processed (transforms applied, the default) template."""
    backend = _backend(self)
    stage = self._get_param("TemplateStage") or "Processed"
    change_set_name = self._get_param("ChangeSetName")
    if change_set_name:
        change_set = backend.find_change_set(change_set_name, self._get_param("StackName"))
        original, processed = change_set.submitted_template, change_set.template
        stages = ["Original", "Processed"] if change_set.processed_available else ["Original"]
    else:
        stack = backend.get_stack(self._get_param("StackName"))
        original, processed, stages = stack.submitted_template, stack.template, ["Original", "Processed"]
    body = processed if stage == "Processed" and "Processed" in stages else original
    return ActionResult({"TemplateBody": body, "StagesAvailable": stages})


def _resource(stack: EmulatedStack, event: Any, timestamp_key: str) -> dict[str, Any]:
    return {
        "StackName": stack.name, "StackId": stack.stack_id,
        "LogicalResourceId": event.logical_resource_id,
        "PhysicalResourceId": event.physical_resource_id or None,
        "ResourceType": event.resource_type, timestamp_key: event.timestamp,
        "ResourceStatus": event.resource_status, "ResourceStatusReason": event.resource_status_reason,
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    }


def list_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack, events = _backend(self).resource_states(self._get_param("StackName"))
    return ActionResult({"StackResourceSummaries": [_resource(stack, e, "LastUpdatedTimestamp") for e in events]})


def describe_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack, events = _backend(self).resource_states(self._get_param("StackName"))
    logical_id = self._get_param("LogicalResourceId")
    chosen = [e for e in events if logical_id in (None, e.logical_resource_id)]
    return ActionResult({"StackResources": [_resource(stack, e, "Timestamp") for e in chosen]})


def describe_stack_resource(self: CloudFormationResponse) -> ActionResult:
    stack_name, logical_id = self._get_param("StackName"), self._get_param("LogicalResourceId")
    stack, events = _backend(self).resource_states(stack_name)
    for event in events:
        if event.logical_resource_id == logical_id:
            return ActionResult({"StackResourceDetail": _resource(stack, event, "LastUpdatedTimestamp")})
    raise ValidationError(message=f"Resource {logical_id} does not exist for stack {stack_name}")


# The server answers from several threads; one CloudFormation request at a time keeps a stack's
# engine run, its timeline and moto's backends consistent. Lock order: this lock, then any
# extension's own lock, then STATE.lock.
REQUEST_LOCK = threading.RLock()


def call_action_serialised(original: Any, self: CloudFormationResponse) -> Any:
    with REQUEST_LOCK:
        return original(self)


_RESPONSE = "moto.cloudformation.responses:CloudFormationResponse"

PATCHES = (
    *methods(_RESPONSE, Kind.FUNCTION, "read the request fully and answer from the stack's timeline",
             create_stack=create_stack, update_stack=update_stack, create_change_set=create_change_set,
             describe_change_set=describe_change_set, delete_change_set=delete_change_set,
             execute_change_set=execute_change_set, list_change_sets=list_change_sets,
             list_stack_resources=list_stack_resources, describe_stack_resources=describe_stack_resources,
             describe_stack_resource=describe_stack_resource, get_template=get_template),
    # Inherited from BaseResponse: the patch puts it on CloudFormationResponse alone.
    Patch(f"{_RESPONSE}.call_action", call_action_serialised, Kind.FUNCTION,
          "one CloudFormation request at a time", wraps=True),
)
