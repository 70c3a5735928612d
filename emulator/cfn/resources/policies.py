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


class TopicPolicy(EmulatedResource, CloudFormationModel):
    """One policy document applied to several topics; Ref is a generated id."""

    TYPE = "AWS::SNS::TopicPolicy"
    ATTRIBUTES = {"Id": lambda policy: policy.policy_id}

    def __init__(self, account_id: str, region_name: str, policy_id: str, topics: list[str]) -> None:
        super().__init__(account_id, region_name)
        self.policy_id = policy_id
        self.topics = topics

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> TopicPolicy:
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, resource_name, list(properties["Topics"]))
        policy.put(properties["PolicyDocument"])
        return policy

    def put(self, document: Any) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for topic_arn in self.topics:
            backend.get_topic(topic_arn).policy = _document(document)

    def remove(self, topics: list[str]) -> None:
        """Give topics back their default policy, as deleting the resource does."""
        backend = sns_backends[self.account_id][self.region_name]
        for topic_arn in topics:
            if topic_arn in backend.topics:
                topic = backend.topics[topic_arn]
                topic._policy_json = topic._create_default_topic_policy(
                    self.region_name, self.account_id, topic.name)


def _update_topic_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> TopicPolicy:
    policy: TopicPolicy = existing.model
    new_topics = list(properties["Topics"])
    policy.remove([t for t in policy.topics if t not in new_topics])
    policy.topics = new_topics
    policy.put(properties["PolicyDocument"])
    return policy


def _delete_topic_policy(existing: Any, account_id: str, region: str) -> None:
    existing.model.remove(existing.model.topics)


HOOKS = {
    "AWS::S3::BucketPolicy": TypeHooks(update=_update_bucket_policy, delete=_delete_bucket_policy),
    "AWS::SNS::TopicPolicy": TypeHooks(update=_update_topic_policy, delete=_delete_topic_policy),
}
