"""Following stacks from the setup's event queue, against the emulator's EventBridge and SQS.

Each test deploys a setup once (which makes its bus and queue), then runs an operation with a
real reader thread consuming the queue beside the monitors. Whatever the events do (arrive,
come twice, late, never, or the queue goes away), the stored history must be exactly what
CloudFormation's DescribeStackEvents holds for that operation, each event once.
"""
from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from core.models import OperationKind, OperationStatus, StackEvent, StackRecord
from core.times import as_utc
from tests.waiting import wait_for
from tests.worker.conftest import BUILD, STAGING, account_client, by_stack, control
from tests.worker.helpers import change_setup
from worker import event_consumer, event_flow, tasks
from worker.event_consumer import Reader, handle
from worker.event_store import from_bus
from worker.events import fetch_new_events

APP = "events-api"
BUILD_STACK = f"{BUILD}/{APP}-pipeline"
STAGING_STACK = f"{STAGING}/{APP}-deploy-dependencies"

pytestmark = pytest.mark.slow


@pytest.fixture
def deployed(aws_env, make_setup, run_plan, run_apply, worker_db):
    """A setup applied once (quickly), so its queue exists; then events paced to be followed."""
    setup_id = make_setup(name=APP)
    control(aws_env, "pace", {"seconds": 0.01})
    plan = run_plan(setup_id)
    first = run_apply(setup_id, plan.id)
    assert first.status == OperationStatus.SUCCEEDED.value, first.error
    control(aws_env, "pace", {"seconds": 0.05})
    with worker_db() as session:
        source = event_flow.source(session, setup_id)
    assert source is not None and source.queue_url.endswith(f"/{APP}-events")
    return setup_id, first, source


@pytest.fixture
def reader(worker_db, driver):
    """Start a reader thread on a source (hand-overs go to the test's driver); stopped after the test."""
    started: list[Reader] = []
    event_consumer.forget_clients()  # the emulator was reset: its credentials of an earlier test are gone

    def start(source, **kwargs):
        kwargs.setdefault("send", lambda follows: [driver.schedule(f) for f in follows])
        started.append(Reader(worker_db, source, wait=1, **kwargs).start())
        return started[-1]

    yield start
    for one in started:
        one.stop(join=True)
    event_consumer.forget_clients()


class Gate:
    """A TCP hop between the readers and the emulator that the test can shut or silence. Shut,
    the queue's endpoint refuses connections and the one a long poll holds is reset, as when the
    network to SQS goes away; silenced, it takes connections and requests and never answers, as
    a black hole does. Real sockets, so botocore meets a real connection error or timeout."""

    def __init__(self, target: str) -> None:
        parsed = urlparse(target)
        self.target = (parsed.hostname, parsed.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open, self.silent = True, False
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.links.append(client)
            if self.silent:
                continue  # held open, never answered
            upstream = socket.create_connection(self.target)
            self.links.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def silence(self) -> None:
        self.silent = True

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.silent:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for one in (source, sink):
                try:
                    one.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def shut(self) -> None:
        self.open = False
        self.listener.close()
        for link in self.links:
            try:
                link.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def queue_events_stored(worker_db, apply_id, count):
    """Whether the build stack of the apply has at least ``count`` events stored from the queue."""
    with worker_db() as session:
        return session.scalar(select(func.count()).select_from(StackEvent).join(StackRecord).where(
            StackRecord.operation_id == apply_id, StackRecord.role == "build",
            StackEvent.event_id.startswith("evb:"))) >= count


def newest_stored(operation, key):
    events = by_stack(operation)[key].events
    return max(events, key=lambda e: e.timestamp).event_id if events else ""


def assert_same_history_as_cloudformation(record, after_event_id=""):
    """The record's stored events are CloudFormation's for this operation, each once, under its ids."""
    truth = fetch_new_events(account_client("cloudformation", record.account_id), record.stack_id, after_event_id)
    stored = [(as_utc(e.timestamp), e.event_id, e.logical_id, e.status, e.reason) for e in record.events]
    assert len({s[1] for s in stored}) == len(stored), "an event was stored twice"
    assert not [s for s in stored if from_bus(s[1])], "an event kept the queue's id after the final read"
    assert sorted(stored) == sorted((e.timestamp, e.event_id, e.logical_id, e.status, e.reason) for e in truth)
    assert truth, "the operation has events"


def describe_events_calls(cfn_calls, stack_name):
    return [c for c in cfn_calls.calls if c[1] == "DescribeStackEvents" and stack_name in c[2]]


def update_build_stack(worker_db, run_plan, run_apply, setup_id, branch="release"):
    change_setup(worker_db, setup_id, branch=branch)
    plan = run_plan(setup_id)
    assert plan.status == OperationStatus.SUCCEEDED.value, plan.error
    return run_apply(setup_id, plan.id)


def test_update_followed_from_events_stores_cloudformations_history_with_two_looks(
        deployed, reader, worker_db, run_plan, run_apply, cfn_calls):
    setup_id, first, source = deployed
    reader(source)

    cfn_calls.reset()
    applied = update_build_stack(worker_db, run_plan, run_apply, setup_id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert record.stack_status == "UPDATE_COMPLETE"
    # The marker before the execute and the final read: no look while the events came
    # (the test's polling cadence alone looks every 0.3 s).
    assert len(describe_events_calls(cfn_calls, f"{APP}-pipeline")) == 2
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))
    # The events arrived as they happened: stored well before the stack's end.
    stamps = sorted(e.timestamp for e in record.events)
    assert max(e.recorded_at - e.timestamp for e in record.events).total_seconds() < 2.0, stamps


@pytest.mark.parametrize("fault", ["duplicate", "reorder", "drop"])
def test_faulty_event_delivery_still_stores_the_history_once(deployed, reader, worker_db, run_plan, run_apply,
                                                              aws_env, fault):
    setup_id, first, source = deployed
    reader(source)
    control(aws_env, "failures", {"type": "event", "fault": fault, "source": "aws.cloudformation", "count": 6})

    applied = update_build_stack(worker_db, run_plan, run_apply, setup_id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert record.stack_status == "UPDATE_COMPLETE"
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))


def test_rolled_back_update_from_events_is_failed_with_its_root_cause(deployed, reader, worker_db, run_plan,
                                                                      run_apply, aws_env):
    setup_id, first, source = deployed
    reader(source)
    control(aws_env, "failures", {"type": "resource", "logical_id": "Pipeline", "operation": "UPDATE", "count": 1,
                                  "reason": "Stage name is invalid"})

    failed = update_build_stack(worker_db, run_plan, run_apply, setup_id)

    assert failed.status == OperationStatus.FAILED.value
    record = by_stack(failed)[BUILD_STACK]
    assert record.stack_status == "UPDATE_ROLLBACK_COMPLETE" and "rolled back" in record.status_reason
    assert failed.root_cause["resource"] == "Pipeline"
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))


def test_created_stack_followed_partly_from_events_stores_its_whole_history(deployed, reader, worker_db,
                                                                            run_plan, run_apply):
    """A deploy stack deleted behind the portal's back is created again; its forwarding rule is one
    of its resources, so its first events never reach the queue and the final read adds them."""
    setup_id, first, source = deployed
    cfn = account_client("cloudformation", STAGING)
    cfn.delete_stack(StackName=f"{APP}-deploy-dependencies")
    wait_for(lambda: cfn.describe_stacks(StackName=by_stack(first)[STAGING_STACK].stack_id)["Stacks"][0]
             ["StackStatus"] == "DELETE_COMPLETE", 30, "the staging stack to be deleted")
    reader(source)

    plan = run_plan(setup_id)
    assert by_stack(plan)[STAGING_STACK].action == "create"
    applied = run_apply(setup_id, plan.id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[STAGING_STACK]
    assert record.stack_status == "CREATE_COMPLETE"
    assert_same_history_as_cloudformation(record)


def test_teardown_follows_the_build_stack_from_events_until_its_queue_goes(deployed, reader, make_operation,
                                                                           driver):
    setup_id, first, source = deployed
    reader(source)

    teardown_id = make_operation(setup_id, OperationKind.TEARDOWN)
    tasks.teardown_setup(teardown_id)
    done = driver.run(teardown_id)

    assert done.status == OperationStatus.SUCCEEDED.value, done.error
    record = by_stack(done)[BUILD_STACK]
    assert record.stack_status == "DELETE_COMPLETE"
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))


def start_update(worker_db, run_plan, make_operation, driver, aws_env, setup_id):
    """Plan an update of the build stack, apply it until its change set is executed; its events
    then come every 0.4 s (7 of them), so the test acts while the stack runs."""
    change_setup(worker_db, setup_id, branch="release")
    plan = run_plan(setup_id)
    control(aws_env, "pace", {"seconds": 0.4})
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    driver.run(apply_id, until=lambda op: by_stack(op)[BUILD_STACK].detail.get("executed"))
    wait_for(lambda: queue_events_stored(worker_db, apply_id, 2), 10, "two of the update's queued events")
    return apply_id


def assert_ended_after(record, moment):
    """The stack's own final event came after ``moment``: what the test did happened mid-apply."""
    final = max((e for e in record.events if e.logical_id == record.stack_name), key=lambda e: e.timestamp)
    assert as_utc(final.timestamp).timestamp() > moment, "the stack had ended before the queue went"


def test_queue_deleted_mid_apply_falls_back_to_polling(deployed, reader, worker_db, run_plan, make_operation,
                                                       driver, aws_env):
    setup_id, first, source = deployed
    reader(source)
    apply_id = start_update(worker_db, run_plan, make_operation, driver, aws_env, setup_id)
    gone_at = time.time()
    account_client("sqs", BUILD).delete_queue(QueueUrl=source.queue_url)
    with worker_db() as session:
        wait_for(lambda: event_flow.stack_events_flowing(session, setup_id) is None or session.expire_all(),
                 10, "the reader to find the queue gone")
    applied = driver.run(apply_id)

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert_ended_after(record, gone_at)
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))
    with worker_db() as session:
        applied_detail = session.get(type(first), source.operation_id).detail["events"]
    assert "does not exist" in applied_detail["error"] or "NonExistentQueue" in applied_detail["error"]


def test_queue_unreachable_mid_apply_falls_back_to_polling_at_once(
        deployed, reader, worker_db, run_plan, make_operation, driver, aws_env, monkeypatch, cfn_calls):
    """The network to SQS goes away mid-apply (connection refused, the held long poll reset): the
    failure is recorded within seconds, the monitor polls at once instead of sleeping out the
    flow window, and the stored history is CloudFormation's, each event once."""
    setup_id, first, source = deployed
    gate = Gate(aws_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", gate.url)  # boto3's own per-service endpoint setting
    reader(source)
    apply_id = start_update(worker_db, run_plan, make_operation, driver, aws_env, setup_id)
    looks_before = len(describe_events_calls(cfn_calls, f"{APP}-pipeline"))
    shut_at = time.time()
    gate.shut()
    with worker_db() as session:
        wait_for(lambda: (session.expire_all() or event_flow.stack_events_flowing(session, setup_id)) is None,
                 10, "the reader to record the queue unreachable")
    applied = driver.run(apply_id)
    took = time.time() - shut_at

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert_ended_after(record, shut_at)
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))
    # Polled, not left asleep until the flow window (30 s) ran out: several looks, within seconds.
    assert len(describe_events_calls(cfn_calls, f"{APP}-pipeline")) - looks_before >= 2
    assert took < 15, took
    with worker_db() as session:
        error = session.get(type(first), source.operation_id).detail["events"]["error"]
    assert "Could not connect" in error or "Connection" in error, error


def test_queue_silent_mid_apply_counts_as_stopped_and_polling_takes_over(
        deployed, reader, worker_db, run_plan, make_operation, driver, aws_env, monkeypatch):
    """The queue's endpoint takes requests and never answers: no error comes (the receive waits
    for its read timeout), so the flow counts as stopped once no event came for the flow window,
    and the monitor polls the stack to its end; the history is CloudFormation's, each event once."""
    setup_id, first, source = deployed
    gate = Gate(aws_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", gate.url)
    reader(source)
    try:
        apply_id = start_update(worker_db, run_plan, make_operation, driver, aws_env, setup_id)
        silent_at = time.time()
        gate.silence()
        applied = driver.run(apply_id, timeout=event_flow.FLOW_SECONDS + 30)
        took = time.time() - silent_at
    finally:
        gate.shut()  # the reader's held receive fails now, so it stops with the test

    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    record = by_stack(applied)[BUILD_STACK]
    assert_ended_after(record, silent_at)
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))
    assert took < event_flow.FLOW_SECONDS + 10, took


def test_an_ended_stack_is_settled_by_the_consumer_without_a_task(deployed, reader, worker_db, run_plan,
                                                                   make_operation, driver, aws_env):
    """The reader's own settlers run the monitor's step for a stack whose final event came: the
    operation succeeds while the driver (the broker) runs nothing."""
    setup_id, first, source = deployed
    reader(source, send=event_consumer.Settlers())
    apply_id = start_update(worker_db, run_plan, make_operation, driver, aws_env, setup_id)
    ran = driver.ran

    applied = wait_for(lambda: (lambda op: op if op.status == OperationStatus.SUCCEEDED.value else None)(
        driver.operation(apply_id)), 20, "the consumer to settle the stack and finish the apply")

    assert driver.ran == ran
    record = by_stack(applied)[BUILD_STACK]
    assert record.stack_status == "UPDATE_COMPLETE" and record.phase == "done"
    assert_same_history_as_cloudformation(record, newest_stored(first, BUILD_STACK))


def test_batch_stored_but_not_deleted_comes_back_and_is_stored_once(deployed, worker_db, make_operation, driver,
                                                                     run_plan, aws_env):
    """A worker killed between the commit and the delete: the messages come back after the
    visibility timeout, and storing them again adds nothing."""
    setup_id, first, source = deployed
    sqs = account_client("sqs", BUILD)
    while True:  # the first apply's events: not this test's
        old = sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=0).get("Messages") or []
        if not old:
            break
        sqs.delete_message_batch(QueueUrl=source.queue_url,
                                 Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(old)])
    change_setup(worker_db, setup_id, branch="release")
    plan = run_plan(setup_id)
    apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan.id)
    tasks.apply_setup(apply_id)
    # Executed, and no look since: whatever is stored next comes from the queue.
    driver.run(apply_id, until=lambda op: by_stack(op)[BUILD_STACK].detail.get("executed"))

    def receive():
        # Received as the reader does, with a visibility timeout of 1 s instead of the queue's 60 s.
        return wait_for(lambda: sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10,
                                                    WaitTimeSeconds=1, VisibilityTimeout=1).get("Messages"),
                        10, "queued events", output=lambda: str(control(aws_env, "events")["counts"]))

    first_batch = receive()
    handle(worker_db, source, [m["Body"] for m in first_batch])  # committed; the worker dies before deleting
    with worker_db() as session:
        record_id = session.scalar(select(StackRecord.id).where(StackRecord.operation_id == apply_id,
                                                                 StackRecord.role == "build"))
        count = session.scalar(select(func.count()).select_from(StackEvent).where(StackEvent.stack_record_id == record_id))
        assert session.scalar(select(func.count()).select_from(StackEvent).where(
            StackEvent.stack_record_id == record_id, StackEvent.event_id.startswith("evb:"))) > 0
    first_ids = {f["MessageId"] for f in first_batch}
    # Back once the visibility timeout passes (no delete came): received again, not only after a fixed sleep.
    again = wait_for(lambda: [m for m in receive() if m["MessageId"] in first_ids], 15,
                     "the undeleted messages to come back", interval=0.2)
    handle(worker_db, source, [m["Body"] for m in again])
    with worker_db() as session:
        assert session.scalar(select(func.count()).select_from(StackEvent)
                              .where(StackEvent.stack_record_id == record_id)) == count
    applied = driver.run(apply_id)
    assert applied.status == OperationStatus.SUCCEEDED.value, applied.error
    assert_same_history_as_cloudformation(by_stack(applied)[BUILD_STACK], newest_stored(first, BUILD_STACK))


def test_setup_applied_without_an_event_queue_is_polled_as_before(aws_env, make_setup, run_plan, run_apply,
                                                                  worker_db):
    setup_id = make_setup(name=APP)
    control(aws_env, "pace", {"seconds": 0.01})
    applied = run_apply(setup_id, run_plan(setup_id).id)
    with worker_db() as session:
        build = session.scalar(select(StackRecord).where(StackRecord.operation_id == applied.id,
                                                          StackRecord.role == "build"))
        build.outputs = {k: v for k, v in build.outputs.items() if k != event_flow.QUEUE_OUTPUT}
        session.commit()
        assert event_flow.source(session, setup_id) is None
        assert event_flow.sources(session) == []


def test_the_readers_follow_the_deployed_setups_queues(deployed, worker_db, driver):
    """One query lists every deployed setup's queue, as ``source`` finds it for one setup; the
    readers start one reader for it and stop it with themselves."""
    setup_id, first, source = deployed
    with worker_db() as session:
        assert event_flow.sources(session) == [source] == [event_flow.source(session, setup_id)]
    event_consumer.forget_clients()
    readers = event_consumer.Readers(worker_db, wait=1,
                                     send=lambda follows: [driver.schedule(f) for f in follows])
    try:
        readers.discover()
        started = dict(readers.readers)
        assert list(started) == [source] and started[source].thread.is_alive()
    finally:
        readers.stop()
        event_consumer.forget_clients()
    assert readers.readers == {}
    started[source].thread.join(5)
    assert not started[source].thread.is_alive()
