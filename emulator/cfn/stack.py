"""The emulator's stack: moto's Stack whose status, events and outputs come from a timeline."""
from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import UnsupportedAttribute, ValidationError
from moto.cloudformation.models import Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap, parse_condition, resource_class_from_type

from emulator.cfn.pacing import STACK_TYPE, Step, Timeline
from emulator.cfn.resources import HOOKS
from emulator.cfn.resources.apigateway import emulator_urls
from emulator.cfn.resources.hooks import AttributeView
from emulator.cfn.templates import check_parameters, parse
from emulator.state import STATE

logger = logging.getLogger(__name__)


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return not isinstance(value, bool)


def _number(value: Any) -> int | float:
    try:
        return int(str(value))
    except ValueError:
        return float(str(value))


class NotCreatedError(ValidationError):
    """A resource was referenced before the emulator created it (an emulator ordering bug)."""


class EmulatedResourceMap(ResourceMap):
    """moto's ResourceMap without lazy creation: the engine creates resources in order."""

    def __getitem__(self, key: str) -> Any:
        if key in self._parsed_resources:
            value = self._parsed_resources[key]
            resource_json = self._resource_json_map.get(key)
            hooks = HOOKS.get(resource_json.get("Type")) if isinstance(resource_json, dict) else None
            return AttributeView(value, hooks.attributes) if hooks and hooks.attributes else value
        resource_json = self._resource_json_map.get(key)
        if resource_json is None:
            raise KeyError(key)
        condition = resource_json.get("Condition")
        if condition and not self.lazy_condition_map[condition]:
            return None
        raise NotCreatedError(message=f"Template error: resource {key} is referenced before it exists")

    def load_parameters(self) -> None:
        declared = self._template.get("Parameters") or {}
        unknown = [name for name in self.input_parameters if name not in declared]
        if unknown:
            raise ValidationError(message=f"Parameters: [{', '.join(unknown)}] do not exist in the template")
        missing = [name for name, spec in declared.items()
                   if "Default" not in spec and name not in self.input_parameters]
        if missing:
            raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
        for name, value in self.input_parameters.items():
            if declared[name].get("Type") == "Number" and not _is_number(value):
                raise ValidationError(message=f"Parameter '{name}' must be a number.")
        super().load_parameters()
        for name, spec in declared.items():
            # moto reads given Number values as numbers; a default (a string, as CloudFormation
            # reads it) is read the same way, so Ref gives one type whichever supplied the value.
            value = self.resolved_parameters.get(name)
            if name not in self.input_parameters and spec.get("Type") == "Number" and _is_number(value):
                self.resolved_parameters[name] = self._parsed_resources[name] = _number(value)
        check_parameters(self._template, self.resolved_parameters)

    def load(self) -> None:
        super().load()
        self.check_rules()

    def check_rules(self) -> None:
        """Evaluate the template's Rules; a failed assertion is a ValidationError, as in AWS."""
        for name, rule in (self._template.get("Rules") or {}).items():
            condition = rule.get("RuleCondition")
            if condition is not None and not parse_condition(condition, self._parsed_resources,
                                                             self.lazy_condition_map):
                continue
            for assertion in rule.get("Assertions") or []:
                if not parse_condition(assertion["Assert"], self._parsed_resources, self.lazy_condition_map):
                    raise ValidationError(message=assertion.get("AssertDescription") or
                                          f"Template error: rule {name} failed")

    def validate_outputs(self) -> None:
        """Check GetAtt in Outputs like CloudFormation; unsupported types fail later, at creation."""
        for output in (self._template.get("Outputs") or {}).values():
            if "Condition" in output and not self.lazy_condition_map[output["Condition"]]:
                continue
            value = output.get("Value")
            if not isinstance(value, dict) or "Fn::GetAtt" not in value:
                continue
            name, attribute = value["Fn::GetAtt"][0], value["Fn::GetAtt"][1]
            resource = self._resource_json_map.get(name)
            if resource is None:
                raise ValidationError(message=(
                    f"Template format error: Unresolved resource dependencies [{name}] "
                    "in the Outputs block of the template"))
            condition = resource.get("Condition")
            if condition and not self.lazy_condition_map[condition]:
                raise ValidationError(message=(
                    f"Unresolved resource dependencies [{name}] in the Outputs block of the template"))
            model = resource_class_from_type(resource["Type"])
            hooks = HOOKS.get(resource["Type"])
            if hooks and attribute in hooks.attributes:
                continue
            if model is not None and not model.has_cfn_attr(attribute):
                raise UnsupportedAttribute(resource=resource["Type"].rsplit(":", 1)[-1], attr=attribute)

    def load_context(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        """Point the map at a template and parameters (for an update or its rollback)."""
        self._template = template
        self._resource_json_map = template.get("Resources") or {}
        self.input_parameters = parameters
        self.resolved_parameters = {}
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self.check_rules()

    def active_resources(self) -> list[str]:
        """Logical ids whose Condition (if any) holds, in template order."""
        return [
            logical_id for logical_id, resource in self._resource_json_map.items()
            if not resource.get("Condition") or self.lazy_condition_map[resource["Condition"]]
        ]


@dataclass
class ExistingResource:
    """A resource the stack currently owns, as the engine created it."""

    logical_id: str
    resource_type: str
    name: str  # the name moto was given at creation (kept across in-place updates)
    definition: dict[str, Any]  # the template's resource entry, unresolved
    properties: dict[str, Any]  # the resolved Properties it was created/updated with
    model: Any

    @property
    def physical_id(self) -> str:
        return str(getattr(self.model, "physical_resource_id", "") or "")


class EmulatedStack(Stack):
    """A stack whose visible state is read from its timeline at the time of the request."""

    class Meta:
        # moto maps "StackName" to ``name`` through the class name "Stack"; a subclass needs it said.
        serialization_aliases = {
            "Parameters": "parameter_list", "StackName": "name", "StackStatus": "status",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.timeline = Timeline()
        self.existing: dict[str, ExistingResource] = {}
        self._base_status = "CREATE_PENDING"
        self.last_updated_time: datetime.datetime | None = None
        self.deletion_time: datetime.datetime | None = None
        # The template as submitted when a transform processed it into ``template``; else None.
        self.original_template: str | None = None
        super().__init__(*args, **kwargs)

    @property
    def submitted_template(self) -> str:
        """The template as the user sent it (GetTemplate's Original stage, UsePreviousTemplate)."""
        return self.original_template if self.original_template is not None else self.template

    def _parse_template(self) -> None:
        self.template_dict = parse(self.template)

    def _create_resource_map(self) -> EmulatedResourceMap:
        resource_map = EmulatedResourceMap(
            self.stack_id, self.name, self.parameters, self.tags,
            account_id=self.account_id, region_name=self.region_name,
            template=self.template_dict, cross_stack_resources=self.cross_stack_resources,
        )
        resource_map.load()
        return resource_map

    # Status, events and outputs are what the timeline shows now; moto's writes are absorbed.
    @property  # type: ignore[override]
    def status(self) -> str:
        event = self.timeline.last_stack_event()
        return event.resource_status if event else self._base_status

    @status.setter
    def status(self, value: str) -> None:
        self._base_status = value

    @property  # type: ignore[override]
    def events(self) -> list[Any]:
        return self.timeline.visible_events()

    @events.setter
    def events(self, value: list[Any]) -> None:
        if value:
            raise AttributeError("stack events come from the timeline")

    @property
    def parameter_list(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Parameters as DescribeStacks shows them: lists comma-joined, NoEcho values masked."""
        no_echo = set(getattr(self.resource_map, "no_echo_parameter_keys", []))
        return [
            {"ParameterKey": key,
             "ParameterValue": "****" if key in no_echo else
             (",".join(map(str, value)) if isinstance(value, list) else str(value))}
            for key, value in self.resource_map.resolved_parameters.items()
        ]

    @property
    def stack_status_reason(self) -> str | None:
        event = self.timeline.last_stack_event()
        return event.resource_status_reason if event else None

    @property  # type: ignore[override]
    def outputs(self) -> list[dict[str, Any]] | None:
        operation = self.timeline.latest_done()
        return operation.outputs if operation else None

    def compute_outputs(self, template: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
        """Evaluate a template's Outputs (default: the stack's) against the resources as they are now."""
        self.output_map = OutputMap(self.resource_map, template if template is not None else self.template_dict,
                                    self.stack_id)
        outputs = Stack.outputs.fget(self)  # type: ignore[attr-defined]
        for output in outputs or []:
            if isinstance(output.get("OutputValue"), str):
                output["OutputValue"] = emulator_urls(output["OutputValue"], self.account_id)
        return outputs

    def _add_stack_event(self, resource_status: str, resource_status_reason: str | None = None,
                         resource_properties: str | None = None) -> None:
        """moto calls this for REVIEW_IN_PROGRESS; it becomes a one-event operation."""
        step = Step(self.name, STACK_TYPE, resource_status, resource_status_reason, self.stack_id)
        self.timeline.schedule(self, "REVIEW", [step], 0.0, None)

    @property
    def busy(self) -> bool:
        return self.timeline.busy()

    def schedule(self, kind: str, steps: list[Step], outputs: list[dict[str, Any]] | None) -> Any:
        """Put an operation's events on the timeline at the current pace."""
        with STATE.lock:
            pace = STATE.pace
        operation = self.timeline.schedule(self, kind, steps, pace, outputs)
        logger.info("stack %s (%s): %s scheduled, %d events over %.1f s, ends %s",
                    self.name, self.account_id, kind, len(steps), pace * (len(steps) - 1),
                    operation.final_status)
        return operation
