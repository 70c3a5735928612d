"""AWS::S3::BucketPolicy and AWS::SNS::TopicPolicy: policies really set on moto's resources."""
from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from emulator.cfn.resources.hooks import TypeHooks
from emulator.cfn.resources.model import EmulatedResource


def _document(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


class BucketPolicy(EmulatedResource, CloudFormationModel):
    """The policy document of one bucket; Ref is the bucket name."""

    TYPE = "AWS::S3::BucketPolicy"

    def __init__(self, account_id: str, region_name: str, bucket: str) -> None:
        super().__init__(account_id, region_name)
        self.bucket = bucket

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> BucketPolicy:
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, properties["Bucket"])
        policy.put(properties["PolicyDocument"])
        return policy

    def put(self, document: Any) -> None:
        backend = s3_backends[self.account_id][get_partition(self.region_name)]
        backend.put_bucket_policy(self.bucket, _document(document).encode())


def _update_bucket_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> BucketPolicy:
    existing.model.put(properties["PolicyDocument"])
    return existing.model


def _delete_bucket_policy(existing: Any, account_id: str, region: str) -> None:
    s3_backends[account_id][get_partition(region)].delete_bucket_policy(existing.model.bucket)


class SharedPolicy:
    """One policy document set on several resources (``TARGETS`` names the property); Ref is a generated id.

    A mixin before ``EmulatedResource`` (``class X(SharedPolicy, EmulatedResource, CloudFormationModel)``,
    which moto needs to find the type). Subclasses say how a document is set on their resources and how a resource gets its policy
    back when the policy stops naming it; updating and deleting are the same for all.
    """

    TARGETS = ""
    ATTRIBUTES = {"Id": lambda policy: policy.policy_id}

    def __init__(self, account_id: str, region_name: str, policy_id: str, targets: list[str]) -> None:
        super().__init__(account_id, region_name)  # type: ignore[call-arg]  # EmulatedResource's
        self.policy_id = policy_id
        self.targets = targets

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> SharedPolicy:
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, resource_name, list(properties[cls.TARGETS]))
        policy.put(properties["PolicyDocument"])
        return policy

    def put(self, document: Any) -> None:
        raise NotImplementedError

    def release(self, targets: list[str]) -> None:
        """Give ``targets`` back the policy they had without this resource."""
        raise NotImplementedError


def _update_shared_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> SharedPolicy:
    policy: SharedPolicy = existing.model
    targets = list(properties[policy.TARGETS])
    policy.release([t for t in policy.targets if t not in targets])
    policy.targets = targets
    policy.put(properties["PolicyDocument"])
    return policy


def _delete_shared_policy(existing: Any, account_id: str, region: str) -> None:
    existing.model.release(existing.model.targets)


SHARED_POLICY_HOOKS = TypeHooks(update=_update_shared_policy, delete=_delete_shared_policy)


class TopicPolicy(SharedPolicy, EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"
    TARGETS = "Topics"

    def put(self, document: Any) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for topic_arn in self.targets:
            backend.get_topic(topic_arn).policy = _document(document)

    def release(self, targets: list[str]) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for topic_arn in targets:
            if topic_arn in backend.topics:
                topic = backend.topics[topic_arn]
                topic._policy_json = topic._create_default_topic_policy(
                    self.region_name, self.account_id, topic.name)


HOOKS = {
    "AWS::S3::BucketPolicy": TypeHooks(update=_update_bucket_policy, delete=_delete_bucket_policy),
    "AWS::SNS::TopicPolicy": SHARED_POLICY_HOOKS,
}
