"""AWS::SNS::Subscription on moto's SNS backend."""
from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.models import SNSBackend, sns_backends

from emulator.cfn.resources.hooks import TypeHooks
from emulator.cfn.resources.model import EmulatedResource

# Properties that are subscription attributes, in the order SNS needs them (scope before policy).
ATTRIBUTES = ("FilterPolicyScope", "FilterPolicy", "RawMessageDelivery", "DeliveryPolicy",
              "RedrivePolicy", "SubscriptionRoleArn")


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


class Subscription(EmulatedResource, CloudFormationModel):
    """A topic subscription; Ref is the subscription ARN."""

    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = {"Arn": lambda subscription: subscription.arn}

    def __init__(self, account_id: str, region_name: str, arn: str) -> None:
        super().__init__(account_id, region_name)
        self.arn = arn

    @property
    def backend(self) -> SNSBackend:
        return sns_backends[self.account_id][self.region_name]

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> Subscription:
        properties = cloudformation_json["Properties"]
        backend: SNSBackend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(
            properties["TopicArn"], properties.get("Endpoint", ""), properties["Protocol"])
        model = cls(account_id, region_name, subscription.arn)
        model.apply(properties)
        return model

    def apply(self, properties: dict[str, Any]) -> None:
        for name in ATTRIBUTES:
            if name in properties:
                self.backend.set_subscription_attributes(self.arn, name, _attribute_value(properties[name]))


def _update(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Subscription:
    existing.model.apply(properties)
    return existing.model


def _delete(existing: Any, account_id: str, region: str) -> None:
    sns_backends[account_id][region].unsubscribe(existing.model.arn)


HOOKS = {"AWS::SNS::Subscription": TypeHooks(update=_update, delete=_delete)}
