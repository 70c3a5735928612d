"""Polling cadence: a look when the stack's end is due, few before it, within a whole-life call budget."""
from __future__ import annotations

import pytest

from worker import cadence
from worker.cadence import Budget, Limits, Progress

STACK = "orders-api-pipeline"
STACK_TYPE = "AWS::CloudFormation::Stack"
LIMITS = Limits()  # the production defaults, whatever the test environment says


def fold(*events, start=100.0, gap=1.0):
    """Progress from (logical id, type, status) events, ``gap`` seconds apart from ``start``."""
    return Progress.from_events(STACK, [(*e, start + n * gap) for n, e in enumerate(events)])


def serial_stack(resources, pace):
    """The events of a stack creating ``resources`` resources one after another, as the emulator
    paces them: three per resource (in progress, initiated, complete), ``pace`` seconds apart from 0."""
    names = [f"Res{n}" for n in range(resources)]
    events = [(STACK, STACK_TYPE, "CREATE_IN_PROGRESS")]
    for name in names:
        events += [(name, "AWS::SNS::Topic", "CREATE_IN_PROGRESS")] * 2 + [(name, "AWS::SNS::Topic", "CREATE_COMPLETE")]
    events.append((STACK, STACK_TYPE, "CREATE_COMPLETE"))
    return [(*e, n * pace) for n, e in enumerate(events)], set(names)


def follow(resources, pace, calls_before=0):
    """Follow a serial stack executed at 0 with the cadence; return (calls, seconds from its final
    event to the look that saw it). ``calls_before``: calls made for it before the execute."""
    timed, expected = serial_stack(resources, pace)
    budget = Budget(calls_before).spend(0.0)  # the execute
    now = LIMITS.first_look
    while True:
        budget = budget.spend(now)
        progress = Progress.from_events(STACK, [e for e in timed if e[3] <= now])
        if progress.stack_status == "CREATE_COMPLETE":
            return budget.calls + 1, now - timed[-1][3]  # + the DescribeStacks for its outputs
        now += cadence.next_delay(progress, expected, budget, now, LIMITS)


def test_resources_in_flight_spread_the_affordable_polls_until_the_end():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"), start=100.0, gap=1.0)
    expected = {"Bucket"} | {f"Topic{n}" for n in range(20)}
    # Twenty resources to go, two events each as Bucket had, then the stack's: the end is due at 143.
    assert progress.expected_end(expected) == 143.0
    budget = Budget(2, since=100.0)  # the execute and this poll
    delay = cadence.next_delay(progress, expected, budget, 102.5, LIMITS)
    # 43 s at two thirds of 30 a minute is 14.3 calls: 2 made, 2 kept for the end, 10 polls to spread.
    assert delay == pytest.approx((143.0 + cadence.DUE_MARGIN_SECONDS - 102.5) / 11)


def test_a_stack_that_cannot_afford_polls_is_looked_at_when_its_end_is_due():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"), start=100.0, gap=1.0)
    expected = {"Bucket"} | {f"Topic{n}" for n in range(5)}
    # Due at 113: 13 s buy 4.3 calls, all spent or kept for the end.
    delay = cadence.next_delay(progress, expected, Budget(2, since=100.0), 102.5, LIMITS)
    assert delay == pytest.approx(113.0 + cadence.DUE_MARGIN_SECONDS - 102.5)


def test_end_due_sooner_than_a_steady_poll_is_looked_at_when_due():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"), ("Key", "AWS::KMS::Key", "CREATE_IN_PROGRESS"),
                    start=100.0, gap=0.5)
    # Key's completion then the stack's own event: due at 101.5 + 2 * 0.5.
    delay = cadence.next_delay(progress, {"Bucket", "Key"}, Budget(2, since=100.0), 101.6, LIMITS)
    assert delay == pytest.approx(102.5 + cadence.DUE_MARGIN_SECONDS - 101.6)


def test_events_per_resource_are_learnt_from_the_resources_that_settled():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Role", "AWS::IAM::Role", "CREATE_IN_PROGRESS"),
                    ("Role", "AWS::IAM::Role", "CREATE_IN_PROGRESS"), ("Role", "AWS::IAM::Role", "CREATE_COMPLETE"),
                    ("Key", "AWS::KMS::Key", "CREATE_IN_PROGRESS"), start=0.0, gap=0.5)
    assert progress.events_per_resource() == 3
    # Key: two more events; Alias: three; then the stack's own.
    assert progress.events_to_come({"Role", "Key", "Alias"}) == 6
    assert progress.expected_end({"Role", "Key", "Alias"}) == pytest.approx(2.0 + 6 * 0.5)


def test_before_a_resource_settled_a_created_one_is_assumed_to_emit_three_events():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Role", "AWS::IAM::Role", "CREATE_IN_PROGRESS"),
                    start=0.0, gap=2.0)
    # Role: two more events; Key and Alias: three each; then the stack's own.
    assert progress.events_to_come({"Role", "Key", "Alias"}) == 9
    updating = fold((STACK, STACK_TYPE, "UPDATE_IN_PROGRESS"), ("Role", "AWS::IAM::Role", "UPDATE_IN_PROGRESS"))
    assert updating.events_to_come({"Role", "Key"}) == 1 + 2 + 1


def test_every_expected_resource_settled_means_fast_polling():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
                    ("Key", "AWS::KMS::Key", "CREATE_IN_PROGRESS"), ("Key", "AWS::KMS::Key", "CREATE_COMPLETE"))
    assert progress.end_is_near({"Bucket", "Key"})
    # Long past the moment the next event was due: look again soon.
    assert cadence.next_delay(progress, {"Bucket", "Key"}, Budget(3, since=100.0), 1000.0, LIMITS) == cadence.FAST_SECONDS


def test_near_the_end_the_next_look_is_when_the_next_event_is_due():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
                    start=100.0, gap=1.5)
    # Events came 1.5 s apart; the latest at 103.0, so the stack's own is due at 104.5.
    delay = cadence.next_delay(progress, {"Bucket"}, Budget(2, since=100.0), 103.2, LIMITS)
    assert delay == pytest.approx(104.5 + cadence.DUE_MARGIN_SECONDS - 103.2)


def test_an_end_that_does_not_come_is_looked_for_within_the_limit():
    progress = fold(("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"))
    late = Budget(cadence.FLOOR_CALLS + cadence.LATE_END_LOOKS - 1, since=100.0)
    # Two more calls (a look, the describe) would be 7 at 105: over the floor and over 30 a minute
    # (2.5 calls by then); the next look waits until 7 calls are 30 a minute of the stack's life.
    delay = cadence.next_delay(progress, {"Bucket"}, late, 105.0, LIMITS)
    assert 105.0 + delay == pytest.approx(100.0 + 60 * (late.calls + 2) / cadence.CALLS_PER_MINUTE)


def test_without_an_estimate_polls_are_steady_within_the_planned_rate():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"))  # one event: no pace known yet
    assert cadence.next_delay(progress, {"Bucket"}, Budget(2, since=100.0), 102.0, LIMITS) == cadence.STEADY_SECONDS
    spent = Budget(10, since=100.0)
    delay = cadence.next_delay(progress, {"Bucket"}, spent, 130.0, LIMITS)
    assert 130.0 + delay == pytest.approx(100.0 + 60 * 12 / LIMITS.planned_per_minute)


def test_a_running_stack_is_looked_at_now_and_then_whatever_the_budget_says():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"))
    overspent = Budget(40, since=100.0)  # 40 calls in 30 s: the budget alone would wait a minute
    delay = cadence.next_delay(progress, {"Bucket"}, overspent, 130.0, LIMITS)
    assert delay == cadence.STEADY_SECONDS * cadence.LONGEST_WAIT_STEADIES


def test_a_delete_is_followed_by_the_resources_it_removes():
    progress = fold((STACK, STACK_TYPE, "DELETE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "DELETE_IN_PROGRESS"),
                    ("Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE"), start=0.0, gap=0.5)
    # Key and Role: two events each, as Bucket had; then the stack's DELETE_COMPLETE.
    assert progress.expected_end({"Bucket", "Key", "Role"}) == pytest.approx(1.0 + 5 * 0.5)


def test_a_rollback_has_no_estimate():
    progress = fold((STACK, STACK_TYPE, "CREATE_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "CREATE_FAILED"),
                    (STACK, STACK_TYPE, "ROLLBACK_IN_PROGRESS"), ("Bucket", "AWS::S3::Bucket", "DELETE_IN_PROGRESS"))
    assert progress.expected_end({"Bucket", "Key"}) is None


def test_an_expected_resource_not_started_yet_is_not_the_end():
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


def test_the_stack_events_reason_is_kept():
    progress = Progress.from_events(STACK, [(STACK, STACK_TYPE, "DELETE_IN_PROGRESS", 1.0, ""),
                                            (STACK, STACK_TYPE, "DELETE_FAILED", 2.0, "Bucket is not empty")])
    assert (progress.stack_status, progress.stack_reason) == ("DELETE_FAILED", "Bucket is not empty")


@pytest.mark.parametrize("pace", [0.5, 2.0, 10.0])
def test_a_short_and_a_long_stack_together_stay_within_thirty_calls_per_stack_minute(pace):
    # A setup's deploy stack (3 resources), then its build stack (15 resources, its change set
    # checked before the apply started), as the benchmark runs them.
    short_calls, short_lag = follow(3, pace)
    long_calls, long_lag = follow(15, pace, calls_before=1)
    minutes = (10 * pace + 46 * pace) / 60
    assert (short_calls + long_calls) / minutes <= cadence.CALLS_PER_MINUTE
    # Each final event is seen one margin after it appears.
    assert short_lag == pytest.approx(cadence.DUE_MARGIN_SECONDS)
    assert long_lag == pytest.approx(cadence.DUE_MARGIN_SECONDS)


def test_a_short_stack_costs_only_the_floor():
    calls, _ = follow(3, 0.5)  # 5 s: execute, first look, the look at its end, describe
    assert calls == cadence.FLOOR_CALLS


def test_a_long_stack_spends_at_most_the_planned_rate():
    calls, lag = follow(15, 10.0)  # 7.7 minutes
    assert calls / (46 * 10.0 / 60) <= LIMITS.planned_per_minute
    assert lag == pytest.approx(cadence.DUE_MARGIN_SECONDS)


def test_budget_is_kept_in_the_record_detail_and_reads_older_records():
    budget = Budget().spend(10.0).spend(12.0)
    assert Budget.from_detail(budget.as_detail()) == Budget(2, since=10.0)
    # An older worker kept the times of the last minute's calls.
    assert Budget.from_detail({"calls": [5.0, 7.5, 9.0]}) == Budget(3, since=5.0)
    assert Budget.from_detail({}) == Budget(0, since=None)


def test_steady_polling_alone_stays_within_the_planned_rate():
    assert 60 / cadence.STEADY_SECONDS <= LIMITS.planned_per_minute < cadence.CALLS_PER_MINUTE


def test_while_events_flow_a_stack_is_looked_at_only_by_the_safety_net():
    from worker.cadence import EVENTS_SLOW_SECONDS, with_events

    executed = 1000.0
    # Events flowing for 30 s more: wait (no call) until the slow look or the flow's end, whichever first.
    assert with_events(executed + 30, executed, executed + 2) == pytest.approx(28)
    assert with_events(executed + 100, executed, executed + 2) == pytest.approx(EVENTS_SLOW_SECONDS - 2)
    # The safety net's look is due, or the events stopped: look now (today's cadence from there).
    assert with_events(executed + 100, executed, executed + EVENTS_SLOW_SECONDS) is None
    assert with_events(None, executed, executed + 2) is None
    assert with_events(executed + 1, executed, executed + 2) is None
