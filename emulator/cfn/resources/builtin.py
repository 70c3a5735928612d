"""Hooks for the resource types moto already models, where its CloudFormation support falls short.

moto's "update" for most of these deletes and recreates the resource (a new KMS key id, a
bucket without its objects, a role without its attached policies); these update in place,
and apply properties moto's creation ignores.
"""
from __future__ import annotations

import json
from typing import Any

from moto.events.models import events_backends
from moto.iam.models import Role, iam_backends
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.s3.cloud_formation import cfn_to_api_encryption
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from emulator.cfn.resources import aws_managed
from emulator.cfn.resources.hooks import TypeHooks, tag_dict


class InvalidPropertyError(Exception):
    """A property value AWS would reject."""


def _json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


# ---- AWS::S3::Bucket --------------------------------------------------------------------
def _configure_bucket(name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
    backend = s3_backends[account_id][get_partition(region)]
    if "BucketEncryption" in properties:
        backend.put_bucket_encryption(name, cfn_to_api_encryption(properties["BucketEncryption"]))
    else:
        backend.delete_bucket_encryption(name)
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(name, versioning["Status"])
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(name, {k: str(v).lower() == "true" for k, v in block.items()})
    elif backend.get_bucket(name).public_access_block is not None:
        backend.delete_public_access_block(name)
    rules = (properties.get("OwnershipControls") or {}).get("Rules") or []
    if rules:
        backend.put_bucket_ownership_controls(name, rules[0]["ObjectOwnership"])
    tags = tag_dict(properties.get("Tags"))
    if tags:
        backend.put_bucket_tagging(name, tags)
    else:
        backend.delete_bucket_tagging(name)


def _bucket_created(model: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
    _configure_bucket(model.name, properties, account_id, region)


def _update_bucket(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    _configure_bucket(existing.model.name, properties, account_id, region)
    return existing.model


# ---- AWS::KMS::Key / AWS::KMS::Alias ------------------------------------------------------
def _default_key_policy(account_id: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*",
        }],
    })


def _prepare_key(properties: dict[str, Any], account_id: str, region: str) -> None:
    # AWS gives a key without KeyPolicy the default policy; moto requires one, as a string.
    properties["KeyPolicy"] = _json(properties.get("KeyPolicy") or _default_key_policy(account_id))


def _update_key(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = kms_backends[account_id][region]
    key = existing.model
    backend.put_key_policy(key.id, _json(properties.get("KeyPolicy") or _default_key_policy(account_id)))
    backend.update_key_description(key.id, properties.get("Description", ""))
    key.key_rotation_status = bool(properties.get("EnableKeyRotation", False))
    key.enabled = bool(properties.get("Enabled", True))
    key.key_state = "Enabled" if key.enabled else "Disabled"
    backend.tagger.delete_all_tags_for_resource(key.id)
    backend.tag_resource(key.id, tag_dict(properties.get("Tags")))
    return key


def _delete_key(existing: Any, account_id: str, region: str) -> None:
    # CloudFormation schedules the deletion; the key lingers as PendingDeletion.
    window = int(existing.properties.get("PendingWindowInDays", 30))
    kms_backends[account_id][region].schedule_key_deletion(existing.model.id, window)


def _prepare_alias(properties: dict[str, Any], account_id: str, region: str) -> None:
    name = properties.get("AliasName", "")
    if not name.startswith("alias/") or name.startswith("alias/aws/"):
        raise InvalidPropertyError(
            f"Alias must start with the prefix \"alias/\" and not \"alias/aws/\": {name}")


def _update_alias(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    return kms_backends[account_id][region].update_alias(properties["TargetKeyId"], properties["AliasName"])


# ---- AWS::IAM::Role / Policy / ManagedPolicy -----------------------------------------------
def _iam(account_id: str, region: str) -> Any:
    return iam_backends[account_id][get_partition(region)]


def _attach_role_policies(role_name: str, wanted: list[str], current: list[str], account_id: str,
                          region: str) -> None:
    backend = _iam(account_id, region)
    for arn in current:
        if arn not in wanted:
            backend.detach_role_policy(arn, role_name)
    for arn in wanted:
        if arn not in current:
            aws_managed.ensure(arn, account_id, region)
            backend.attach_role_policy(arn, role_name)


def _role_created(model: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
    _attach_role_policies(model.name, properties.get("ManagedPolicyArns", []), [], account_id, region)


def _update_role(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = _iam(account_id, region)
    role = existing.model
    backend.update_assume_role_policy(role.name, _json(properties["AssumeRolePolicyDocument"]))
    backend.update_role(role.name, properties.get("Description", ""), properties.get("MaxSessionDuration", 3600))
    wanted = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])}
    for policy_name in [n for n in existing.properties.get("Policies", []) if n["PolicyName"] not in wanted]:
        backend.delete_role_policy(role.name, policy_name["PolicyName"])
    for policy_name, document in wanted.items():
        backend.put_role_policy(role.name, policy_name, _json(document))
    _attach_role_policies(role.name, properties.get("ManagedPolicyArns", []),
                          existing.properties.get("ManagedPolicyArns", []), account_id, region)
    if properties.get("PermissionsBoundary"):
        backend.put_role_permissions_boundary(role.name, properties["PermissionsBoundary"])
    else:
        role.permissions_boundary_arn = None
    role.tags = []
    backend.tag_role(role.name, properties.get("Tags", []))
    return role


def _delete_role(existing: Any, account_id: str, region: str) -> None:
    _attach_role_policies(existing.model.name, [], existing.properties.get("ManagedPolicyArns", []),
                          account_id, region)
    Role.delete_from_cloudformation_json(existing.model.name, {"Properties": existing.properties},
                                         account_id, region)


def _update_inline_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    return type(existing.model).update_from_cloudformation_json(
        existing.model, existing.model.name, {"Properties": properties}, account_id, region)


_ATTACHMENTS = (("Roles", "role"), ("Users", "user"), ("Groups", "group"))


def _attach_managed_policy(arn: str, wanted: dict[str, Any], current: dict[str, Any], account_id: str,
                           region: str) -> None:
    backend = _iam(account_id, region)
    for prop, kind in _ATTACHMENTS:
        want, have = wanted.get(prop, []), current.get(prop, [])
        for name in have:
            if name not in want:
                getattr(backend, f"detach_{kind}_policy")(arn, name)
        for name in want:
            if name not in have:
                getattr(backend, f"attach_{kind}_policy")(arn, name)


def _update_managed_policy(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = _iam(account_id, region)
    policy = existing.model
    if len(policy.versions) >= 5:
        oldest = next(v for v in policy.versions if not v.is_default)
        backend.delete_policy_version(policy.arn, oldest.version_id)
    backend.create_policy_version(policy.arn, _json(properties["PolicyDocument"]), set_as_default=True)
    _attach_managed_policy(policy.arn, properties, existing.properties, account_id, region)
    return policy


def _delete_managed_policy(existing: Any, account_id: str, region: str) -> None:
    policy = existing.model
    _attach_managed_policy(policy.arn, {}, existing.properties, account_id, region)
    backend = _iam(account_id, region)
    for version in [v for v in policy.versions if not v.is_default]:
        backend.delete_policy_version(policy.arn, version.version_id)
    backend.delete_policy(policy.arn)


# ---- AWS::SNS::Topic, AWS::Logs::LogGroup, AWS::Events::Rule -------------------------------
def _topic_created(model: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
    sns_backends[account_id][region].tag_resource(model.arn, tag_dict(properties.get("Tags")))


def _update_topic(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = sns_backends[account_id][region]
    topic = existing.model
    topic.display_name = properties.get("DisplayName", "")
    topic.kms_master_key_id = properties.get("KmsMasterKeyId", "")
    topic._tags = tag_dict(properties.get("Tags"))
    wanted = {(s["Protocol"], s["Endpoint"]) for s in properties.get("Subscription", [])}
    had = {(s["Protocol"], s["Endpoint"]) for s in existing.properties.get("Subscription", [])}
    for protocol, endpoint in had - wanted:
        subscription = backend._find_subscription(topic.arn, endpoint, protocol)
        if subscription is not None:
            backend.unsubscribe(subscription.arn)
    for protocol, endpoint in wanted - had:
        backend.subscribe(topic.arn, endpoint, protocol)
    return topic


def _update_log_group(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = logs_backends[account_id][region]
    group = existing.model
    if properties.get("RetentionInDays"):
        backend.put_retention_policy(group.name, int(properties["RetentionInDays"]))
    else:
        backend.delete_retention_policy(group.name)
    group.kms_key_id = properties.get("KmsKeyId")
    old_tags = tag_dict(existing.properties.get("Tags"))
    if old_tags:
        backend.untag_log_group(group.name, list(old_tags))
    backend.tag_log_group(group.name, tag_dict(properties.get("Tags")))
    return group


def _update_rule(existing: Any, properties: dict[str, Any], account_id: str, region: str) -> Any:
    backend = events_backends[account_id][region]
    rule = existing.model
    pattern = properties.get("EventPattern")
    rule = backend.put_rule(
        rule.name, description=properties.get("Description"),
        event_bus_arn=properties.get("EventBusName", "default"),
        event_pattern=_json(pattern) if pattern is not None else None,
        role_arn=properties.get("RoleArn"), scheduled_expression=properties.get("ScheduleExpression"),
        state=properties.get("State"), tags=properties.get("Tags"),
    )
    rule.remove_targets([t["Id"] for t in list(rule.targets)])
    rule.put_targets(properties.get("Targets", []))
    return rule


HOOKS = {
    "AWS::S3::Bucket": TypeHooks(after_create=_bucket_created, update=_update_bucket),
    "AWS::KMS::Key": TypeHooks(prepare=_prepare_key, update=_update_key, delete=_delete_key),
    "AWS::KMS::Alias": TypeHooks(prepare=_prepare_alias, update=_update_alias),
    "AWS::IAM::Role": TypeHooks(after_create=_role_created, update=_update_role, delete=_delete_role),
    "AWS::IAM::Policy": TypeHooks(update=_update_inline_policy),
    "AWS::IAM::ManagedPolicy": TypeHooks(update=_update_managed_policy, delete=_delete_managed_policy),
    "AWS::SNS::Topic": TypeHooks(after_create=_topic_created, update=_update_topic,
                                 attributes={"TopicArn": lambda topic: topic.arn}),
    # AWS's Arn of a log group ends in ":*"; moto's does not.
    "AWS::Logs::LogGroup": TypeHooks(update=_update_log_group,
                                     attributes={"Arn": lambda group: f"{group.arn}:*"}),
    "AWS::Events::Rule": TypeHooks(update=_update_rule),
}
