"""The benchmark's measurement helpers on synthetic data, with exact expected values (not timed)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from bench import aws, measures, report, scenarios
from bench.collect import WorkerObservation
from bench.deploy_lag import _finite, parse_args
from bench.measures import OperationRun, StackRun
from bench.portal_driver import Batch


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([3.0, 1.0, 2.0, 4.0], 50, 2.5),  # unsorted input, midway between the two middle values
    ([10.0, 20.0, 30.0, 40.0, 50.0], 95, 48.0),  # rank 3.8: 40 + 0.8 * 10
    ([10.0, 20.0, 30.0, 40.0, 50.0], 100, 50.0),
    ([10.0, 20.0, 30.0, 40.0, 50.0], 0, 10.0),
    ([7.0], 95, 7.0),
])
def test_percentile_interpolates_linearly_between_closest_ranks(values, q, expected):
    assert measures.percentile(values, q) == pytest.approx(expected, abs=1e-12)


def test_percentile_of_nothing_is_undefined_not_zero():
    assert math.isnan(measures.percentile([], 50))


def test_percentile_rejects_a_rank_outside_0_to_100():
    with pytest.raises(ValueError, match="0..100"):
        measures.percentile([1.0], 101)


def test_summarise_gives_count_mean_median_p95_and_max():
    summary = measures.summarise([0.5, 1.5, 1.0, 3.0])
    assert summary.as_dict() == {"count": 4, "mean": 1.5, "p50": 1.25, "p95": pytest.approx(2.775), "max": 3.0}


def test_event_lag_is_recorded_minus_timestamp_and_skips_events_before_the_operation():
    events = [(100.0, 101.5), (98.0, 130.0), (102.0, 102.25)]  # the second predates the operation
    assert measures.event_lags(events, since=100.0) == [1.5, 0.25]


def test_completion_lag_of_the_last_stack_runs_to_the_operations_finish():
    deploy = StackRun("1/app-deploy-dependencies", started=0.0, terminal=5.0, terminal_status="CREATE_COMPLETE",
                      seen=5.25, role="deploy")
    build = StackRun("1/app-pipeline", started=6.0, terminal=30.0, terminal_status="CREATE_COMPLETE",
                     seen=30.125, role="build")
    operation = OperationRun(7, finished=30.5, stacks=(deploy, build))
    assert measures.completion_lags(operation) == {"1/app-deploy-dependencies": 0.25, "1/app-pipeline": 0.5}


def test_a_stack_whose_final_event_was_never_stored_has_no_completion_lag():
    lost = StackRun("1/a", 0.0, 5.0, "CREATE_COMPLETE", seen=None)
    last = StackRun("1/b", 6.0, 9.0, "CREATE_COMPLETE", seen=None)  # the operation's finish still counts
    assert measures.completion_lags(OperationRun(1, 10.0, (lost, last))) == {"1/b": 1.0}


def test_peer_completion_lag_is_process_exit_minus_final_event():
    runs = [StackRun("2/p", 0.0, 5.0, "CREATE_COMPLETE", seen=30.5), StackRun("3/q", 0.0, 5.0, "CREATE_COMPLETE", None)]
    assert measures.peer_completion_lags(runs) == {"2/p": 25.5}


def test_calls_per_stack_minute_divides_by_the_stacks_summed_active_minutes():
    stacks = [StackRun("a", 10.0, 40.0, "CREATE_COMPLETE", None), StackRun("b", 0.0, 90.0, "CREATE_COMPLETE", None)]
    minutes = measures.stack_minutes(stacks)
    assert minutes == 2.0
    assert measures.calls_per_stack_minute(50, minutes) == 25.0
    assert math.isnan(measures.calls_per_stack_minute(3, 0.0))


def test_service_calls_sums_one_service_without_the_excluded_actions():
    stats = {"cloudformation": {"DescribeStackEvents": 40, "ExecuteChangeSet": 2, "CreateChangeSet": 2},
             "sts": {"AssumeRole": 3}}
    assert measures.service_calls(stats, "cloudformation") == 44
    assert measures.service_calls(stats, "cloudformation", exclude=["CreateChangeSet"]) == 42
    assert measures.service_calls(stats, "s3") == 0


def test_peak_concurrency_closes_an_interval_before_one_that_starts_at_its_end():
    assert measures.peak_concurrency([(0, 10), (2, 5), (4, 6), (10, 12)]) == 3
    assert measures.peak_concurrency([(0, 5), (5, 10)]) == 1
    assert measures.peak_concurrency([]) == 0


def test_targets_pass_at_their_limits_and_fail_above_or_without_data():
    passing = measures.targets(measures.Summary(10, 1.0, 0.5, 2.0, 3.0), 30.0)
    assert [t.passed for t in passing] == [True, True, True]
    failing = measures.targets(measures.Summary(10, 1.01, 0.5, 2.5, 3.0), math.nan)
    assert [t.passed for t in failing] == [False, False, False]


class FakeCloudFormation:
    """Pages of DescribeStackEvents, newest first, as CloudFormation returns them."""

    def __init__(self, events: list[dict]) -> None:
        self.pages = [{"StackEvents": events[:2]}, {"StackEvents": events[2:]}]

    def get_paginator(self, name: str):
        assert name == "describe_stack_events"
        return self

    def paginate(self, StackName: str):  # noqa: N803 - botocore's parameter name
        return iter(self.pages)


def _event(n: int, logical: str, status: str, rtype: str = "AWS::IAM::Role") -> dict:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=n)
    return {"EventId": f"e{n}", "Timestamp": at, "LogicalResourceId": logical, "ResourceType": rtype,
            "ResourceStatus": status}


def test_latest_operation_starts_at_the_stacks_start_event_not_at_its_review():
    stack = "AWS::CloudFormation::Stack"
    newest_first = [_event(4, "app", "CREATE_COMPLETE", stack), _event(3, "Role", "CREATE_COMPLETE"),
                    _event(2, "Role", "CREATE_IN_PROGRESS"), _event(1, "app", "CREATE_IN_PROGRESS", stack),
                    _event(0, "app", "REVIEW_IN_PROGRESS", stack)]
    history = aws.latest_operation(FakeCloudFormation(newest_first), "arn:stack/app", "app")
    assert [e.event_id for e in history.events] == ["e1", "e2", "e3", "e4"]
    assert history.terminal.timestamp - history.started == 3.0


def test_latest_operation_refuses_a_stack_still_in_progress():
    stack = "AWS::CloudFormation::Stack"
    newest_first = [_event(2, "Role", "CREATE_IN_PROGRESS"), _event(1, "app", "CREATE_IN_PROGRESS", stack)]
    with pytest.raises(aws.HistoryError, match="has not finished"):
        aws.latest_operation(FakeCloudFormation(newest_first), "app", "app")


def _worker_result() -> dict:
    seen = WorkerObservation(emitted=5, missing=["1/app-pipeline: app-pipeline CREATE_COMPLETE"])
    seen.events = [(0.0, 1.0), (5.0, 5.5), (6.0, 7.0), (30.0, 30.5)]
    seen.operations = [OperationRun(9, 31.0, (
        StackRun("1/app-deploy-dependencies", 0.0, 5.0, "CREATE_COMPLETE", 5.5, "deploy"),
        StackRun("1/app-pipeline", 6.0, 30.0, "CREATE_COMPLETE", None, "build"),
    ))]
    apply_stats = {"cloudformation": {"DescribeStackEvents": 20, "ExecuteChangeSet": 2, "DescribeStacks": 2},
                   "sts": {"AssumeRole": 1}}
    plan_stats = {"cloudformation": {"CreateChangeSet": 2, "DescribeChangeSet": 4}}
    return scenarios.worker_result(seen, plan_stats, apply_stats, Batch((8,), 0.0, 3.0), Batch((9,), 100.0, 131.0))


def test_worker_result_combines_lags_calls_and_targets():
    result = _worker_result()
    assert result["completion_lag"]["mean"] == 0.75  # 0.5 (deploy, stored) and 1.0 (build, finished_at)
    assert result["stack_minutes"] == 29 / 60
    assert result["cloudformation_calls"] == 24  # STS calls are not CloudFormation's
    assert result["calls_per_stack_minute"] == pytest.approx(24 / (29 / 60))
    assert result["status_polls_per_stack_minute"] == pytest.approx(20 / (29 / 60))
    assert result["event_lag"]["p50"] == 0.75
    assert result["peak_concurrent_stacks"] == 1
    assert result["plan_cloudformation_calls"] == 6
    assert [t["passed"] for t in result["targets"]] == [True, True, False]


def test_peer_result_counts_waiter_polls_without_the_has_stack_call():
    runs = [StackRun("2/p-deploy-dependencies", 0.0, 6.0, "CREATE_COMPLETE", 30.0, "deploy"),
            StackRun("3/q-deploy-dependencies", 0.0, 6.0, "CREATE_COMPLETE", 31.0, "deploy")]
    stats = {"cloudformation": {"DescribeStacks": 6, "CreateChangeSet": 2, "DescribeChangeSet": 2,
                                "ExecuteChangeSet": 2}}
    result = scenarios.peer_result(runs, stats, 33.0)
    assert result["completion_lag"]["mean"] == 24.5
    assert result["calls_per_stack_minute"] == 12 / 0.2
    assert result["status_polls_per_stack_minute"] == 4 / 0.2
    assert result["event_lag"] is None


def test_report_marks_each_target_pass_or_fail():
    worker = _worker_result()
    runs = [StackRun("2/p-deploy-dependencies", 0.0, 6.0, "CREATE_COMPLETE", 30.0, "deploy")]
    peer = scenarios.peer_result(runs, {"cloudformation": {"DescribeStacks": 3}}, 31.0)
    table = report.scenario_table({"concurrent": 1, "pace": 0.5, "worker": worker, "peer": peer})
    assert "| completion lag mean (s) | ≤ 1 | 0.75 | PASS | 24.00 | FAIL |" in table
    assert "| completion lag p95 (s) | ≤ 2 | 0.97 | PASS | 24.00 | FAIL |" in table
    # 24 calls over 29 s of stacks; awscli's 3 calls over its 6 s stack sit exactly at the limit.
    assert "| CloudFormation calls per stack-minute | ≤ 30 | 49.7 | FAIL | 30.0 | PASS |" in table
    assert f"| — | 0.75 / 1.00 / 1.00 / 0.75 |  | {report.NOT_APPLICABLE} |" in table


def test_result_file_writes_undefined_measures_as_null():
    assert _finite({"a": [math.nan, 1.0], "b": {"c": math.nan}}) == {"a": [None, 1.0], "b": {"c": None}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--stacks", "1,x"], "numbers like 1,50"),
    (["--stacks", "0"], "from 1 to 99"),
    (["--stacks", "5,5"], "each scenario once"),
    (["--pace", "0"], "must be positive"),
])
def test_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err
