"""AWS::S3::BucketPolicy and AWS::SNS::TopicPolicy: policies really set on moto's resources."""
from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from emulator.cfn.resources.hooks import TypeHooks


def _document(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


class BucketPolicy(CloudFormationModel):
    """The policy document of one bucket; Ref is the bucket name."""

    def __init__(self, account_id: str, region_name: str, bucket: str) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.bucket = bucket

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

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


class TopicPolicy(CloudFormationModel):
    """One policy document applied to several topics; Ref is a generated id."""

    def __init__(self, account_id: str, region_name: str, policy_id: str, topics: list[str]) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.policy_id = policy_id
        self.topics = topics

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.policy_id
        raise UnformattedGetAttTemplateException()

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
