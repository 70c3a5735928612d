"""Stack events: paged until the last seen, stored once, root cause from the first failure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import func, select

from core.models import OperationKind, StackEvent, StackRecord
from tests.worker.conftest import REGION, STAGING, control
from tests.worker.helpers import topics_template, wait_for_stack
from worker.deployer import Deployer
from worker.event_store import store_events
from worker.events import Event, fetch_new_events, newest_event_id
from worker.root_cause import is_cancellation, root_cause

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def raw(n: int, status: str = "CREATE_COMPLETE", logical_id: str | None = None, reason: str = "") -> dict:
    return {"StackId": "arn:stack", "StackName": "app", "EventId": f"e{n}", "LogicalResourceId": logical_id or f"R{n}",
            "ResourceType": "AWS::SNS::Topic", "Timestamp": T0 + timedelta(seconds=n), "ResourceStatus": status,
            "ResourceStatusReason": reason}


def event(n: int, status: str = "CREATE_COMPLETE", logical_id: str | None = None, reason: str = "",
          resource_type: str = "AWS::SNS::Topic") -> Event:
    return Event(f"e{n}", "arn:stack", "app", T0 + timedelta(seconds=n), logical_id or f"R{n}", "", resource_type,
                 status, reason)


def stubbed_cfn():
    return boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


def test_pages_only_until_the_last_seen_event_and_returns_oldest_first():
    # Stubber: the emulator answers in a single page, so NextToken paging is shown here.
    cfn = stubbed_cfn()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_events", {"StackEvents": [raw(9), raw(8)], "NextToken": "p2"},
                          {"StackName": "app"})
        stub.add_response("describe_stack_events", {"StackEvents": [raw(7), raw(6), raw(5)], "NextToken": "p3"},
                          {"StackName": "app", "NextToken": "p2"})
        new = fetch_new_events(cfn, "app", last_event_id="e6")
        stub.assert_no_pending_responses()  # page three was never asked for

    assert [e.event_id for e in new] == ["e7", "e8", "e9"]


def test_duplicate_event_ids_across_pages_are_returned_once():
    cfn = stubbed_cfn()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_events", {"StackEvents": [raw(3), raw(2)], "NextToken": "p2"},
                          {"StackName": "app"})
        stub.add_response("describe_stack_events", {"StackEvents": [raw(2), raw(1)]},
                          {"StackName": "app", "NextToken": "p2"})
        new = fetch_new_events(cfn, "app")

    assert [e.event_id for e in new] == ["e1", "e2", "e3"]


def test_events_of_a_real_stack_after_a_marker(aws_env):
    cfn = boto3.client("cloudformation", region_name=REGION)
    deployer = Deployer(cfn)
    deployer.create_change_set("app", "cs-1", topics_template("Alpha"), {}, {})
    deployer.execute_change_set("app", "cs-1")
    wait_for_stack(cfn, "app")
    marker = newest_event_id(cfn, "app")
    deployer.create_change_set("app", "cs-2", topics_template("Alpha", "Beta"), {}, {})
    deployer.execute_change_set("app", "cs-2")
    wait_for_stack(cfn, "app")

    new = fetch_new_events(cfn, "app", marker)

    assert new[0].is_stack_event and new[0].status == "UPDATE_IN_PROGRESS"
    assert new[-1].is_stack_event and new[-1].status == "UPDATE_COMPLETE"
    assert {e.logical_id for e in new if not e.is_stack_event} == {"Beta"}
    assert [e.timestamp for e in new] == sorted(e.timestamp for e in new)


def test_newest_event_of_a_missing_stack_is_empty(aws_env):
    assert newest_event_id(boto3.client("cloudformation", region_name=REGION), "nope") == ""


@pytest.fixture
def record(worker_db, make_setup, make_operation):
    operation_id = make_operation(make_setup(), OperationKind.APPLY)
    with worker_db() as session:
        rec = StackRecord(operation_id=operation_id, role="deploy", account_id=STAGING, region=REGION,
                          stack_name="app")
        session.add(rec)
        session.commit()
        return rec.id


def count_events(factory, record_id):
    with factory() as session:
        return session.scalar(select(func.count()).select_from(StackEvent).where(StackEvent.stack_record_id == record_id))


@pytest.mark.both_databases
def test_storing_events_twice_keeps_one_copy(worker_db, record):
    with worker_db() as session:
        rec = session.get(StackRecord, record)
        assert store_events(session, rec, [event(1), event(2)]) == 2
        session.commit()
    with worker_db() as session:
        rec = session.get(StackRecord, record)
        assert store_events(session, rec, [event(2), event(3)]) == 1
        session.commit()
        assert rec.last_event_id == "e3"

    assert count_events(worker_db, record) == 3


@pytest.mark.both_databases
def test_two_sessions_storing_the_same_page_do_not_conflict(worker_db, record):
    first, second = worker_db(), worker_db()
    try:
        store_events(first, first.get(StackRecord, record), [event(1), event(2)])
        first.commit()
        store_events(second, second.get(StackRecord, record), [event(1), event(2)])
        second.commit()
    finally:
        first.close()
        second.close()
    assert count_events(worker_db, record) == 2


@pytest.mark.both_databases
def test_root_cause_is_the_first_failure_ignoring_cancellations(worker_db, record):
    with worker_db() as session:
        rec = session.get(StackRecord, record)
        store_events(session, rec, [
            event(1, "CREATE_IN_PROGRESS", "Bucket"),
            event(2, "CREATE_FAILED", "Topic", "Resource creation cancelled"),
            event(3, "CREATE_FAILED", "Key", "Key policy is invalid"),
            event(4, "CREATE_FAILED", "Role", "Role already exists"),
            event(5, "ROLLBACK_IN_PROGRESS", "app", "The following resource(s) failed to create: [Key, Role].",
                  "AWS::CloudFormation::Stack"),
        ])
        session.commit()
        cause = root_cause(session, [rec])

    assert cause["resource"] == "Key"
    assert cause["type"] == "AWS::SNS::Topic"
    assert cause["reason"] == "Key policy is invalid"
    assert cause["stack"] == "app" and cause["account"] == STAGING


def test_no_failure_means_no_root_cause(worker_db, record):
    with worker_db() as session:
        rec = session.get(StackRecord, record)
        store_events(session, rec, [event(1)])
        assert root_cause(session, [rec]) is None


def test_cancellation_wording():
    assert is_cancellation("Resource creation cancelled")
    assert is_cancellation("Resource update cancelled")
    assert not is_cancellation("Resource handler returned message: Access denied")


def test_injected_failure_appears_as_root_cause(aws_env, worker_db, record):
    control(aws_env, "failures", {"type": "resource", "logical_id": "Beta", "reason": "Limit exceeded for topics"})
    cfn = boto3.client("cloudformation", region_name=REGION)
    deployer = Deployer(cfn)
    deployer.create_change_set("app", "cs-1", topics_template("Alpha", "Beta"), {}, {})
    deployer.execute_change_set("app", "cs-1")
    assert wait_for_stack(cfn, "app") == "ROLLBACK_COMPLETE"

    with worker_db() as session:
        rec = session.get(StackRecord, record)
        store_events(session, rec, fetch_new_events(cfn, "app"))
        cause = root_cause(session, [rec])

    assert (cause["resource"], cause["type"]) == ("Beta", "AWS::SNS::Topic")
    assert "Limit exceeded for topics" in cause["reason"]
