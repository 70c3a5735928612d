"""The templates' EventBridge and SQS glue: ``AWS::Events::EventBusPolicy``, ``AWS::SQS::QueuePolicy``,
and in-place updates of ``AWS::Events::EventBus`` (moto would delete the bus, and its rules, to update it).
"""
from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.events.models import EventBusPolicyStatement, events_backends
from moto.sqs.models import sqs_backends

from emulator.cfn.resources import register_hooks
from emulator.cfn.resources.hooks import TypeHooks
from emulator.cfn.resources.model import EmulatedResource
from emulator.cfn.resources.policies import SHARED_POLICY_HOOKS, SharedPolicy
from emulator.patches import Kind, Patch


def _bus(account_id: str, region: str, name_or_arn: str) -> Any:
    name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
    return events_backends[account_id][region].describe_event_bus(name or "default")


class EventBusPolicy(EmulatedResource, CloudFormationModel):
    """One statement of an event bus's resource policy; Ref is the statement id."""

    TYPE = "AWS::Events::EventBusPolicy"

    def __init__(self, account_id: str, region_name: str, bus_name: str, statement_id: str) -> None:
        super().__init__(account_id, region_name)
        self.bus_name = bus_name
        self.statement_id = statement_id

    @property
    def physical_resource_id(self) -> str:
        return self.statement_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> EventBusPolicy:
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, properties.get("EventBusName", "default"), properties["StatementId"])
        policy.put(properties)
        return policy

    def put(self, properties: dict[str, Any]) -> None:
        bus = _bus(self.account_id, self.region_name, self.bus_name)
        statement = properties.get("Statement")
        if statement is None:  # the older Action/Principal/Condition form
            statement = {"Effect": "Allow", "Action": properties.get("Action", "events:PutEvents"),
                         "Principal": {"AWS": properties["Principal"]} if properties.get("Principal") != "*" else "*"}
            if properties.get("Condition"):
                condition = properties["Condition"]
                statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
        statement = json.loads(json.dumps(statement))
        statement.setdefault("Resource", bus.arn)
        statement["Sid"] = self.statement_id
        bus._statements[self.statement_id] = EventBusPolicyStatement.from_dict(statement)

    def remove(self) -> None:
        _bus(self.account_id, self.region_name, self.bus_name)._statements.pop(self.statement_id, None)


def _update_bus_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    existing.model.put(properties)
    return existing.model


def _delete_bus_policy(existing: Any, account_id: str, region: str) -> None:
    existing.model.remove()


class QueuePolicy(SharedPolicy, EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SQS::QueuePolicy"
    TARGETS = "Queues"

    def _queues(self, urls: list[str]) -> list[Any]:
        backend = sqs_backends[self.account_id][self.region_name]
        return [backend.get_queue(url.rstrip("/").rsplit("/", 1)[-1]) for url in urls]

    def put(self, document: Any) -> None:
        for queue in self._queues(self.targets):
            queue.policy = document if isinstance(document, str) else json.dumps(document)

    def release(self, targets: list[str]) -> None:
        for queue in self._queues(targets):
            queue.policy = None


def _bus_configured(bus: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
    """Apply what moto's model ignores (it reads only the name)."""
    bus.description = properties.get("Description")
    bus.kms_key_identifier = properties.get("KmsKeyIdentifier")
    bus.dead_letter_config = properties.get("DeadLetterConfig")


def _update_bus(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    _bus_configured(existing.model, properties, account_id, region)
    return existing.model


register_hooks("AWS::Events::EventBusPolicy", TypeHooks(update=_update_bus_policy, delete=_delete_bus_policy))
register_hooks("AWS::SQS::QueuePolicy", SHARED_POLICY_HOOKS)
register_hooks("AWS::Events::EventBus", TypeHooks(after_create=_bus_configured, update=_update_bus,
                                                  attributes={"Name": lambda bus: bus.name}))


def _set_queue_attributes(original: Any, backend: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
    """SetQueueAttributes changes only the attributes it names, as on AWS; moto sets the policy from
    the request every time, so a call naming only VisibilityTimeout erased the queue's policy (and
    EventBridge could no longer deliver). An empty Policy still removes it."""
    kept = backend.get_queue(queue_name).policy
    queue = original(backend, queue_name, attributes)
    if "Policy" not in attributes:
        queue.policy = kept
    return queue


PATCHES = (
    Patch("moto.events.models:EventBus.physical_resource_id", property(lambda bus: bus.name), Kind.ABSENT,
          "Ref of an AWS::Events::EventBus is its name; moto's model has no physical id"),
    Patch("moto.sqs.models:SQSBackend.set_queue_attributes", _set_queue_attributes, Kind.FUNCTION,
          "SetQueueAttributes keeps the attributes it does not name (moto erased the policy)", wraps=True),
)
