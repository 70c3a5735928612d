"""Follow stacks and pipelines from their events: one long-polling reader per setup's queue.

Each deployed setup whose build stack made an event queue (worker/event_flow.py) gets a reader
thread in the worker's main process (``EventConsumers``, a bootstep beside the resume sweep). A
reader long-polls ``ReceiveMessage`` (up to 10 messages, ``WAIT_SECONDS``) through the build
account's session, and hands each batch to ``handle``, which in ONE transaction:

- stores each stack event under the stack record its apply or teardown follows
  (worker/event_store.py, shared key with polling; events before the record's operation started
  are not its own), and sets the record's ``stack_status`` from the stored events in time order,
  so a reordered event never moves it backwards;
- applies each pipeline event to the stored snapshot (worker/pipeline_events.py);
- notes the answer in the setup's flow state, which slows the monitors' polling.

Only after that commit is the batch deleted; a reader killed in between leaves the messages to
come back after the queue's visibility timeout, and storing them again is a no-op. A stack whose
own final event arrived is handed to its monitor at once (``follow_stack`` with the record's
current lease token, countdown 0), which reads its final events and outputs and settles it, so
the end is as prompt as the event. A queue that cannot be read is recorded as such (monitors go
back to the polling cadence) and retried every ``RETRY_SECONDS``.

Why threads and not a Celery task per queue: a long poll holds its caller for up to 20 s, and a
task doing it would hold a pool slot as long (with ``--pool solo``, the whole worker: every
monitor step would wait). Tasks stay the short steps they are; the readers only wait on the
network, and each batch is a few milliseconds of database work. Several workers each reading the
same queue are competing SQS consumers: each message goes to one of them at a time, and a
redelivery is stored once.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError
from celery import bootsteps
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, PipelineSnapshot, Setup, StackRecord
from core.models.operations import StackPhase
from worker import context, db, event_flow, pipeline_events, settings
from worker.event_flow import Source
from worker.event_intake import BadEvent, PipelineChange, StackChange, parse
from worker.event_store import store_bus_events
from worker.lifecycle import ACTIVE
from worker.monitor import Follow
from worker.polling import read_progress, settled

logger = logging.getLogger(__name__)

WAIT_SECONDS = 20
BATCH = 10
RETRY_SECONDS = 5.0
# How often the readers are matched to the deployed setups' queues.
DISCOVER_SECONDS = 5.0
# An event this much older than the record's first call belongs to an earlier stack operation.
BEFORE_START_SECONDS = 2.0
# The reader's user: CloudTrail shows RoleSessionName portal-events.
READER = "events"
FOLLOWED = (StackPhase.EXECUTING.value, StackPhase.DELETING.value)


def _record_for(session: Session, setup_id: int, change: StackChange) -> StackRecord | None:
    """The stack record a running operation of the setup follows for this stack, if any."""
    return session.scalar(select(StackRecord).join(Operation).where(
        Operation.setup_id == setup_id, Operation.status.in_(ACTIVE), StackRecord.phase.in_(FOLLOWED),
        StackRecord.account_id == change.account_id, StackRecord.region == change.region,
        or_(StackRecord.stack_id == change.stack_id,
            (StackRecord.stack_id == "") & (StackRecord.stack_name == change.event.stack_name)),
    ).order_by(StackRecord.id.desc()).limit(1))


def _own(record: StackRecord, change: StackChange) -> bool:
    since = record.detail.get("calls_since")
    return since is None or change.event.timestamp.timestamp() >= float(since) - BEFORE_START_SECONDS


def handle(factory: sessionmaker[Session], source: Source, bodies: list[str],
           now: float | None = None) -> list[int]:
    """Store what a batch of message bodies says, commit; return the records whose end came."""
    now = time.time() if now is None else now
    stack_changes: list[StackChange] = []
    pipeline_changes: list[PipelineChange] = []
    for body in bodies:
        try:
            change = parse(body)
        except BadEvent as err:
            logger.warning("dropping a message of queue %s: %s", source.queue_url, err)
            continue
        if isinstance(change, StackChange):
            stack_changes.append(change)
        elif isinstance(change, PipelineChange):
            pipeline_changes.append(change)
    ended: list[int] = []
    with factory() as session:
        by_record: dict[int, tuple[StackRecord, list[Any]]] = {}
        for change in stack_changes:
            record = _record_for(session, source.setup_id, change)
            if record is not None and _own(record, change):
                by_record.setdefault(record.id, (record, []))[1].append(change.event)
        for record, events in by_record.values():
            if store_bus_events(session, record, events):
                progress = read_progress(session, record)
                if progress.stack_status:
                    record.stack_status = progress.stack_status
                if settled(progress.stack_status):
                    ended.append(record.id)
        if pipeline_changes:
            _apply_pipeline(session, source.setup_id, pipeline_changes, now)
        event_flow.record(session, source.operation_id, now, stack_events=len(stack_changes),
                          pipeline_events=len(pipeline_changes))
        session.commit()
    return ended


def _apply_pipeline(session: Session, setup_id: int, changes: list[PipelineChange], now: float) -> None:
    row = session.scalar(select(PipelineSnapshot).where(PipelineSnapshot.setup_id == setup_id))
    if row is None:
        return
    moment = datetime.fromtimestamp(now, timezone.utc)
    for change in sorted(changes, key=lambda c: c.at):
        pipeline_events.apply(row, change, moment)


def nudges(factory: sessionmaker[Session], record_ids: list[int]) -> list[Follow]:
    """Follow-ups that hand ended stacks to their monitors now, holding the current lease token."""
    with factory() as session:
        rows = session.execute(select(StackRecord.id, StackRecord.lease_token)
                               .where(StackRecord.id.in_(record_ids))).all()
    return [Follow(record_id, token, 0.0) for record_id, token in rows]


def _send(follows: list[Follow]) -> None:
    from worker import tasks  # the tasks module imports the app, which starts these readers

    tasks.dispatch(follows)


class Reader:
    """One queue's reader: receive, handle, delete, hand ended stacks on; until stopped."""

    def __init__(self, factory: sessionmaker[Session], source: Source,
                 send: Callable[[list[Follow]], None] = _send, wait: int = WAIT_SECONDS) -> None:
        self.factory, self.source, self.send, self.wait = factory, source, send, wait
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"events-{source.setup_id}", daemon=True)

    def _client(self) -> Any:
        with self.factory() as session:
            setup = session.get(Setup, self.source.setup_id)
            assert setup is not None
            return context.for_user(READER, setup).sessions.client(self.source.account_id, "sqs")

    def once(self) -> int:
        """One receive, its batch stored and deleted; return how many messages it held."""
        sqs = self._client()
        try:
            answer = sqs.receive_message(QueueUrl=self.source.queue_url, MaxNumberOfMessages=BATCH,
                                         WaitTimeSeconds=self.wait)
        except (ClientError, BotoCoreError) as err:
            self._failed(err)
            raise
        messages = answer.get("Messages") or []
        ended = handle(self.factory, self.source, [m.get("Body", "") for m in messages])
        if messages:
            self._delete(sqs, messages)
        if ended:
            self.send(nudges(self.factory, ended))
        return len(messages)

    def _delete(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        try:
            failed = sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries).get("Failed") or []
        except (ClientError, BotoCoreError) as err:
            # Stored already: the messages come back after the visibility timeout and are no-ops then.
            logger.warning("cannot delete %d message(s) of %s: %s", len(entries), self.source.queue_url, err)
            return
        for failure in failed:
            logger.warning("message %s of %s not deleted: %s", failure.get("Id"), self.source.queue_url,
                           failure.get("Message"))

    def _failed(self, err: Exception) -> None:
        logger.warning("cannot read event queue %s (setup %s, account %s): %s", self.source.queue_url,
                       self.source.setup_id, self.source.account_id, err)
        with self.factory() as session:
            event_flow.record(session, self.source.operation_id, time.time(), error=str(err)[:500])
            session.commit()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.once()
            except Exception:  # noqa: BLE001 - a reader must outlive a bad batch or an outage
                logger.debug("event reader of setup %s failed a round", self.source.setup_id, exc_info=True)
                self.stopping.wait(RETRY_SECONDS)

    def start(self) -> "Reader":
        self.thread.start()
        return self

    def stop(self, join: bool = False) -> None:
        self.stopping.set()
        if join and self.thread.is_alive():
            self.thread.join()


class Readers:
    """The readers of a process, matched to the deployed setups' queues every ``DISCOVER_SECONDS``."""

    def __init__(self, factory: sessionmaker[Session] | None = None,
                 send: Callable[[list[Follow]], None] = _send) -> None:
        self.factory = factory or db.session_factory()
        self.send = send
        self.readers: dict[Source, Reader] = {}

    def discover(self) -> None:
        try:
            with self.factory() as session:
                wanted = set(event_flow.sources(session))
        except Exception:  # noqa: BLE001 - the database may be restarting; the next round tries again
            logger.warning("cannot list the event queues", exc_info=True)
            return
        for gone in set(self.readers) - wanted:
            self.readers.pop(gone).stop()
        for source in wanted - set(self.readers):
            logger.info("reading events of setup %s from %s", source.setup_id, source.queue_url)
            self.readers[source] = Reader(self.factory, source, self.send).start()

    def stop(self) -> None:
        for reader in self.readers.values():
            reader.stop()
        self.readers.clear()


class EventConsumers(bootsteps.StartStopStep):
    """Start the readers with the worker and match them to the queues on its timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None
        self.readers: Readers | None = None

    def start(self, worker: Any) -> None:
        if not settings.events_enabled():
            logger.info("PORTAL_EVENTS=off: no event queue is read; every stack is polled")
            return
        self.readers = Readers()
        self.readers.discover()
        self.tref = worker.timer.call_repeatedly(DISCOVER_SECONDS, self.readers.discover, priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
        if self.readers is not None:
            self.readers.stop()
