"""Polling cadence: fast when the stack's end is near, steady otherwise, within the call budget."""
from __future__ import annotations

import pytest

from worker import cadence
from worker.cadence import Progress

STACK = "orders-api-pipeline"
STACK_TYPE = "AWS::CloudFormation::Stack"


def fold(*events, start=100.0, gap=1.0):
    """Progress from (logical id, type, status) events, ``gap`` seconds apart from ``start``."""
    return Progress.from_events(STACK, [(*e, start + n * gap) for n, e in enumerate(events)])


def test_resources_in_flight_mean_steady_polling():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"), start=100.0, gap=1.0)
    expected = {"Bucket"} | {f"Topic{n}" for n in range(5)}
    # Five resources to go, two events each, then the stack's: the end is 11 s away.
    assert cadence.next_delay(progress, expected, [], 102.5) == cadence.STEADY_SECONDS


def test_end_due_sooner_than_a_steady_poll_is_looked_at_when_due():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"), ("Key", "AWS::KMS::Key", "CREATE_IN_PROGRESS"),
                    start=100.0, gap=0.5)
    # Key's completion then the stack's own event: due at 101.5 + 2 * 0.5.
    delay = cadence.next_delay(progress, {"Bucket", "Key"}, [], 101.6)
    assert delay == pytest.approx(102.5 + cadence.DUE_MARGIN_SECONDS - 101.6)


def test_every_expected_resource_settled_means_fast_polling():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
                    ("Key", "AWS::KMS::Key", "CREATE_IN_PROGRESS"), ("Key", "AWS::KMS::Key", "CREATE_COMPLETE"))
    assert progress.end_is_near({"Bucket", "Key"})
    # Long past the moment the next event was due: look again soon.
    assert cadence.next_delay(progress, {"Bucket", "Key"}, [], 1000.0) == cadence.FAST_SECONDS


def test_near_the_end_the_next_look_is_when_the_next_event_is_due():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
                    start=100.0, gap=1.5)
    # Events came 1.5 s apart; the latest at 103.0, so the stack's own is due at 104.5.
    delay = cadence.next_delay(progress, {"Bucket"}, [], 103.2)
    assert delay == pytest.approx(104.5 + cadence.DUE_MARGIN_SECONDS - 103.2)


def test_an_expected_resource_not_started_yet_keeps_steady_polling():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"))
    assert not progress.end_is_near({"Bucket", "Key"})


def test_cleanup_phase_is_near_the_end():
    progress = fold((STACK, STACK_TYPE, "UPDATE_IN_PROGRESS"), (STACK, STACK_TYPE, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
                    ("Old", "AWS::SNS::Topic", "DELETE_IN_PROGRESS"))
    assert progress.end_is_near({"Other"})


def test_a_new_stack_operation_forgets_the_previous_one():
    progress = fold((STACK, STACK_TYPE, "DELETE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE"),
                    (STACK, STACK_TYPE, "DELETE_COMPLETE"), (STACK, STACK_TYPE, "REVIEW_IN_PROGRESS"),
                    (STACK, STACK_TYPE, "CREATE_IN_PROGRESS"))
    assert progress.stack_status == "CREATE_IN_PROGRESS"
    assert progress.settled == set() and not progress.end_is_near({"Bucket"})


def test_spent_budget_waits_for_the_window_to_free_a_call():
    now = 1000.0
    calls = [now - 50 + i for i in range(cadence.CALLS_PER_MINUTE - cadence.RESERVED_CALLS)]
    near = fold(("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"))
    delay = cadence.next_delay(near, {"Bucket"}, calls, now)
    assert delay >= cadence.STEADY_SECONDS
    assert now + delay >= min(calls) + cadence.WINDOW_SECONDS


def test_remembered_calls_keep_only_the_last_minute():
    assert cadence.remember_call([1.0, 50.0, 100.0], 120.0) == [100.0, 120.0]


def test_steady_polling_alone_stays_within_budget():
    assert 60 / cadence.STEADY_SECONDS <= cadence.CALLS_PER_MINUTE - cadence.RESERVED_CALLS
