"""Account sessions: AssumeRole per account, user-named sessions, renewal, boto3's own config."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from tests.worker.conftest import BOOTSTRAP_ROLE, BUILD, DEFAULT_ACCOUNT, REGION, STAGING, account_client
from worker.sessions import (
    AccessNotConfigured, AccountSessions, AssumeRoleFailed, NoTrustablePrincipal, client_config, fast_timestamp,
    session_name, trust_principal,
)


@pytest.mark.parametrize(("username", "expected"), [
    ("alice", "portal-alice"),
    ("Alice Smith/ops", "portal-Alice-Smith-ops"),
    ("bob@example.com", "portal-bob@example.com"),
    ("", "portal-worker"),
    ("ünïcode", "portal-n-code"),
])
def test_session_name_names_the_user_in_allowed_characters(username, expected):
    assert session_name(username) == expected


def test_session_name_is_cut_to_64_characters():
    assert len(session_name("x" * 200)) == 64


def test_assumed_session_acts_in_the_target_account_as_the_user(aws_env):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE}})

    identity = sessions.client(BUILD, "sts").get_caller_identity()

    assert identity["Account"] == BUILD
    assert identity["Arn"].endswith(f"assumed-role/{BOOTSTRAP_ROLE}/portal-alice")


def test_missing_role_is_reported_as_assume_role_failure(aws_env):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "assume_role", "role_name": "NoSuchRole"}})

    with pytest.raises(AssumeRoleFailed, match="NoSuchRole"):
        sessions.client(BUILD, "sts").get_caller_identity()


def test_external_id_is_sent_when_the_trust_policy_requires_it(aws_env):
    iam = account_client("iam", STAGING)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "s3cret-ext"}}}]}
    iam.create_role(RoleName="PortalAccess", AssumeRolePolicyDocument=json.dumps(trust))

    right = AccountSessions("alice", REGION, {STAGING: {"method": "assume_role", "role_name": "PortalAccess",
                                                         "external_id": "s3cret-ext"}})
    wrong = AccountSessions("alice", REGION, {STAGING: {"method": "assume_role", "role_name": "PortalAccess",
                                                         "external_id": "guess"}})

    assert right.client(STAGING, "sts").get_caller_identity()["Account"] == STAGING
    with pytest.raises(AssumeRoleFailed):
        wrong.client(STAGING, "sts").get_caller_identity()


def test_own_account_without_role_uses_the_workers_credentials(aws_env):
    sessions = AccountSessions("alice", REGION, {})

    assert sessions.plan_for(DEFAULT_ACCOUNT).role_arn is None
    assert sessions.client(DEFAULT_ACCOUNT, "sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT


def test_own_account_with_a_named_role_still_assumes_it(aws_env):
    sessions = AccountSessions("alice", REGION, {DEFAULT_ACCOUNT: {"method": "assume_role", "role_name": "Narrow"}})

    assert sessions.plan_for(DEFAULT_ACCOUNT).role_arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/Narrow"


def test_other_account_without_access_entry_is_refused(aws_env):
    with pytest.raises(AccessNotConfigured, match=BUILD):
        AccountSessions("alice", REGION, {}).plan_for(BUILD)


def test_self_launched_account_without_observer_role_is_refused(aws_env):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "self_launch"}})

    with pytest.raises(AccessNotConfigured, match="observer role"):
        sessions.plan_for(BUILD)


def test_self_launched_account_may_not_be_deployed_to(aws_env):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "self_launch", "role_name": BOOTSTRAP_ROLE}})

    assert not sessions.plan_for(BUILD).can_deploy


def test_unknown_access_method_is_refused(aws_env):
    with pytest.raises(AccessNotConfigured, match="unknown access method"):
        AccountSessions("alice", REGION, {BUILD: {"method": "telepathy"}}).plan_for(BUILD)


def test_credentials_are_renewed_before_they_expire(aws_env):
    now = [datetime.now(timezone.utc)]
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE}},
                               clock=lambda: now[0])
    calls = []
    sessions.base.events.register("before-call.sts.AssumeRole", lambda **kw: calls.append(kw))
    client = sessions.client(BUILD, "s3")

    client.list_buckets()
    client.list_buckets()
    assert len(calls) == 1  # fresh credentials are reused

    now[0] += timedelta(minutes=52)  # within botocore's 10-minute mandatory window of the 1-hour expiry
    client.list_buckets()
    assert len(calls) == 2


def test_client_config_uses_botocore_retry_modes(monkeypatch):
    monkeypatch.setenv("PORTAL_AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("PORTAL_AWS_MAX_ATTEMPTS", "7")

    assert client_config().retries == {"mode": "adaptive", "max_attempts": 7}


def test_client_config_rejects_unknown_retry_mode(monkeypatch):
    monkeypatch.setenv("PORTAL_AWS_RETRY_MODE", "yolo")
    with pytest.raises(ValueError, match="must be standard or adaptive, not 'yolo'"):
        client_config()


def test_endpoint_comes_from_boto3s_standard_configuration(aws_env):
    client = AccountSessions("alice", REGION, {}).client(DEFAULT_ACCOUNT, "cloudformation")
    assert client.meta.endpoint_url == aws_env
    assert boto3.client("cloudformation", region_name=REGION).meta.endpoint_url == aws_env


def test_clients_are_reused_by_the_tasks_of_one_process(aws_env, worker_db, make_setup, make_operation):
    from core.models import Operation, OperationKind, Setup
    from worker import context

    setup_id = make_setup()
    operation_id = make_operation(setup_id, OperationKind.APPLY)
    assumed = []

    def one_task():
        """What each monitor task does: load its rows in a session of its own, then get a client."""
        with worker_db() as session:
            operation = session.get(Operation, operation_id)
            aws = context.for_operation(operation, session.get(Setup, setup_id))
        aws.sessions.base.events.register("before-call.sts.AssumeRole", lambda **kw: assumed.append(kw))
        client = aws.cfn(BUILD)
        client.describe_stacks()
        return client

    assert one_task() is one_task()
    assert len(assumed) == 1  # the second task made no AssumeRole either


@pytest.mark.parametrize("text", ["2026-11-26T04:19:22.123Z", "2026-11-26T04:19:22Z", "2026-11-26T04:19:22.123456+00:00",
                                  "2026-11-26T06:19:22+02:00", "Wed, 26 Nov 2026 04:19:22 GMT", "1795666762",
                                  "2026-11-26T04:19:22"])
def test_response_timestamps_parse_to_the_moment_botocore_parses(text):
    from botocore.utils import parse_timestamp

    parsed, botocores = fast_timestamp(text), parse_timestamp(text)

    assert parsed == botocores and (parsed.tzinfo is None) == (botocores.tzinfo is None)


def test_worker_clients_parse_timestamps_the_fast_way(aws_env):
    client = AccountSessions("alice", REGION, {BUILD: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE}}).client(
        BUILD, "cloudformation")
    client.create_stack(StackName="clock", TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))

    stamp = client.describe_stack_events(StackName="clock")["StackEvents"][0]["Timestamp"]

    assert stamp.tzinfo is timezone.utc  # datetime.fromisoformat's, not dateutil's tzutc()


@pytest.mark.parametrize(("caller", "named"), [
    ("arn:aws:sts::123456789012:assumed-role/portal-worker/i-0abc", "arn:aws:iam::123456789012:role/portal-worker"),
    ("arn:aws-cn:sts::123456789012:assumed-role/w/portal-alice", "arn:aws-cn:iam::123456789012:role/w"),
    ("arn:aws:iam::123456789012:user/ops/portal", "arn:aws:iam::123456789012:user/ops/portal"),
    ("arn:aws:iam::123456789012:role/portal-worker", "arn:aws:iam::123456789012:role/portal-worker"),
])
def test_trust_principal_names_roles_and_users_never_sessions(caller, named):
    assert trust_principal(caller) == named


@pytest.mark.parametrize("caller", ["arn:aws:iam::123456789012:root",
                                    "arn:aws:sts::123456789012:federated-user/bob"])
def test_an_identity_no_trust_policy_can_name_is_refused_clearly(caller):
    with pytest.raises(NoTrustablePrincipal, match="no trust policy can name"):
        trust_principal(caller)


def test_a_worker_running_as_an_assumed_role_is_trusted_by_its_role_arn(aws_env):
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{BUILD}:role/{BOOTSTRAP_ROLE}", RoleSessionName="worker-host")["Credentials"]
    base = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)

    assert AccountSessions("alice", REGION, {}, base_session=base).principal_arn() == \
        f"arn:aws:iam::{BUILD}:role/{BOOTSTRAP_ROLE}"


def test_self_launched_account_is_watched_through_the_applications_observer_role(aws_env):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "self_launch"}},
                               observer_role="orders-api-portal-observer-role")

    plan = sessions.plan_for(BUILD)
    assert plan.role_arn == f"arn:aws:iam::{BUILD}:role/orders-api-portal-observer-role"
    assert not plan.can_deploy
    # Until the admin's stack creates that role, AssumeRole fails: the wait goes on (worker/self_launch.py).
    with pytest.raises(AssumeRoleFailed, match="orders-api-portal-observer-role"):
        sessions.client(BUILD, "cloudformation").describe_stacks()


def test_own_self_launched_account_needs_no_observer_role(aws_env):
    sessions = AccountSessions("alice", REGION, {DEFAULT_ACCOUNT: {"method": "self_launch"}},
                               observer_role="orders-api-portal-observer-role")

    assert sessions.plan_for(DEFAULT_ACCOUNT).role_arn is None


def test_waiting_for_an_observer_role_logs_no_botocore_traceback(aws_env, caplog):
    sessions = AccountSessions("alice", REGION, {BUILD: {"method": "self_launch"}}, observer_role="absent-role")

    with caplog.at_level("WARNING", logger="botocore.credentials"), pytest.raises(AssumeRoleFailed):
        sessions.client(BUILD, "cloudformation").describe_stacks()
    assert [r for r in caplog.records if r.name == "botocore.credentials"] == []


def test_client_config_refuses_botocore_legacy_retry_mode(monkeypatch):
    monkeypatch.setenv("PORTAL_AWS_RETRY_MODE", "legacy")
    with pytest.raises(ValueError, match="must be standard or adaptive, not 'legacy'"):
        client_config()
