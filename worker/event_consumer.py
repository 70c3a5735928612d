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
own final event arrived is settled at once by the consumer itself (``Settlers``: a small pool
running the monitor's step, ``worker.follow_stack``'s body, with the record's current lease
token): it reads the final events and outputs and settles the record, and the operation moves on.
Not through the broker: a hand-over queued there waited behind every step already queued (50
ExecuteChangeSet steps of 0.3 s at 50 stacks: 14 s p95 completion lag). The lease keeps it from
running beside the monitor's own step, as between two workers. A queue that cannot be read is
recorded as such (monitors go back to the polling cadence) and retried every ``RETRY_SECONDS``.

Why threads and not a Celery task per queue: a long poll holds its caller for up to 20 s, and a
task doing it would hold a pool slot as long (with ``--pool solo``, the whole worker: every
monitor step would wait). A thread per queue, not one thread for all: a thread parked in a long
poll costs no CPU, while one thread serving N queues must short-poll them in turn, N calls per
round for the same latency. What a round costs is kept small instead: the SQS client is kept per
(account, role) for ``CLIENT_SECONDS`` (its assumed-role credentials renew themselves), an empty
answer touches the database only to note that the queue answers, and the queues are matched to
the setups by the consumer's own thread in one query, off the worker's event loop. Several
workers each reading the same queue are competing SQS consumers: each message goes to one of
them at a time, and a redelivery is stored once.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.config import Config
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
from worker.sessions import client_config

logger = logging.getLogger(__name__)

WAIT_SECONDS = 20
BATCH = 10
RETRY_SECONDS = 5.0
# How often the readers are matched to the deployed setups' queues.
DISCOVER_SECONDS = 5.0
# How long a reader keeps its SQS client before asking again how the account is reached (an
# edited access entry takes effect then); the credentials inside renew themselves before expiry.
CLIENT_SECONDS = 300.0
# Stacks settled at once by the consumer: each is two or three calls and a commit.
SETTLERS = 2
# Attempts per receive: the reader itself tries again every RETRY_SECONDS.
READER_ATTEMPTS = 2
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


def followed_records(session: Session, setup_id: int) -> list[int]:
    """The stack records the setup's running operations follow now (executing or deleting)."""
    return list(session.scalars(select(StackRecord.id).join(Operation).where(
        Operation.setup_id == setup_id, Operation.status.in_(ACTIVE), StackRecord.phase.in_(FOLLOWED))))


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


def _settle(follow: Follow) -> None:
    from worker import tasks  # the tasks module imports the app, which starts these readers

    try:
        # The task's body, here: the monitor step, the operation's next wave or its outcome, and
        # the follow-ups queued; a failure is recorded on the operation as the task records it.
        tasks.follow_stack(follow.record_id, follow.token)
    except Exception:  # noqa: BLE001 - recorded on the operation already; a settler outlives it
        logger.warning("settling stack record %s from its events failed", follow.record_id, exc_info=True)


class Settlers:
    """A small pool that settles ended stacks in the consumer, beside the readers."""

    def __init__(self, workers: int = SETTLERS, settle: Callable[[Follow], None] = _settle) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="events-settle")
        self.settle = settle

    def __call__(self, follows: list[Follow]) -> None:
        for follow in follows:
            self.pool.submit(self.settle, follow)

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


_clients: dict[tuple[Any, ...], tuple[float, Any]] = {}
_clients_lock = threading.Lock()


def _reader_config() -> Config:
    """Few attempts and a read timeout just over the long poll: a queue that cannot be reached is
    recorded within seconds (the monitors then poll), not after botocore's ten backed-off tries."""
    return client_config(read_timeout=WAIT_SECONDS + 10, connect_timeout=5).merge(
        Config(retries={"mode": settings.retry_mode(), "max_attempts": READER_ATTEMPTS}))


def sqs_client(factory: sessionmaker[Session], source: Source) -> tuple[tuple[Any, ...], Any]:
    """The SQS client of the source's build account, shared by the readers reaching it the same way,
    and its key in the cache.

    Each setup has its own sessions (worker/context.py keys them by setup), but the readers of a
    hundred setups in one account reach it through one role: one client, one AssumeRole.
    """
    with factory() as session:
        setup = session.get(Setup, source.setup_id)
        assert setup is not None
        aws = context.for_user(READER, setup)
    plan = aws.access(source.account_id)
    key = (source.account_id, source.region, plan.role_arn, plan.external_id)
    now = time.monotonic()
    with _clients_lock:
        cached = _clients.get(key)
        if cached is None or now - cached[0] > CLIENT_SECONDS:
            sqs = aws.sessions.session(source.account_id).client("sqs", region_name=source.region,
                                                                 config=_reader_config())
            cached = (now, sqs)
            _clients[key] = cached
        return key, cached[1]


def forget_clients(*keys: tuple[Any, ...]) -> None:
    """Drop these cached clients (all without keys): the next receive builds them again."""
    with _clients_lock:
        for key in keys or list(_clients):
            _clients.pop(key, None)


class Reader:
    """One queue's reader: receive, handle, delete, hand ended stacks on; until stopped."""

    def __init__(self, factory: sessionmaker[Session], source: Source,
                 send: Callable[[list[Follow]], None] | None = None, wait: int = WAIT_SECONDS) -> None:
        self.factory, self.source, self.wait = factory, source, wait
        self.send = send or Settlers(1)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"events-{source.setup_id}", daemon=True)
        self._sqs: Any = None
        self._sqs_key: tuple[Any, ...] = ()
        self._sqs_until = 0.0
        # When this reader last noted an answer of the queue; an empty answer within a third of
        # the flow window adds nothing (worker/event_flow.py record), so it skips the database.
        self._noted_at = 0.0
        self._failing = True

    def _client(self) -> Any:
        if self._sqs is None or time.monotonic() >= self._sqs_until:
            self._sqs_key, self._sqs = sqs_client(self.factory, self.source)
            self._sqs_until = time.monotonic() + CLIENT_SECONDS
        return self._sqs

    def once(self) -> int:
        """One receive, its batch stored and deleted; return how many messages it held."""
        sqs = self._client()
        try:
            answer = sqs.receive_message(QueueUrl=self.source.queue_url, MaxNumberOfMessages=BATCH,
                                         WaitTimeSeconds=self.wait)
        except (ClientError, BotoCoreError) as err:
            # Revoked credentials, an edited access entry: the next round asks again how to reach it.
            self._sqs = None
            forget_clients(self._sqs_key)
            self._failed(err)
            raise
        messages = answer.get("Messages") or []
        now = time.time()
        if not messages and not self._failing and now - self._noted_at < event_flow.FLOW_SECONDS / 3:
            return 0
        ended = handle(self.factory, self.source, [m.get("Body", "") for m in messages], now)
        self._noted_at, self._failing = now, False
        if messages:
            self._delete(sqs, messages)
        if ended:
            self.send(nudges(self.factory, ended))
        return len(messages)

    def _delete(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        try:
            answer = sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as err:
            # Stored already: the messages come back after the visibility timeout and are no-ops then.
            logger.warning("cannot delete %d message(s) of %s: %s", len(entries), self.source.queue_url, err)
            return
        for failure in answer.get("Failed") or []:
            logger.warning("message %s of %s not deleted: %s", failure.get("Id"), self.source.queue_url,
                           failure.get("Message"))

    def _failed(self, err: Exception) -> None:
        logger.warning("cannot read event queue %s (setup %s, account %s): %s", self.source.queue_url,
                       self.source.setup_id, self.source.account_id, err)
        first = not self._failing
        self._failing = True
        with self.factory() as session:
            event_flow.record(session, self.source.operation_id, time.time(), error=str(err)[:500])
            session.commit()
            followed = followed_records(session, self.source.setup_id) if first else []
        if followed:
            # Their monitors sleep while events flow; woken now, they see the failure and poll.
            self.send(nudges(self.factory, followed))

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
    """The readers of a process, matched to the deployed setups' queues every ``DISCOVER_SECONDS``
    by a thread of their own (a query that must not hold up the worker's event loop)."""

    def __init__(self, factory: sessionmaker[Session] | None = None,
                 send: Callable[[list[Follow]], None] | None = None, wait: int = WAIT_SECONDS) -> None:
        self.factory, self.wait = factory or db.session_factory(), wait
        self.settlers = Settlers() if send is None else None
        self.send = send or self.settlers
        self.readers: dict[Source, Reader] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="events-discover", daemon=True)

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
            if self.stopping.is_set():
                return
            logger.info("reading events of setup %s from %s", source.setup_id, source.queue_url)
            self.readers[source] = Reader(self.factory, source, self.send, self.wait).start()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.discover()
            self.stopping.wait(DISCOVER_SECONDS)

    def start(self) -> "Readers":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(DISCOVER_SECONDS)  # a round under way may still start a reader
        for reader in list(self.readers.values()):
            reader.stop()
        self.readers.clear()
        if self.settlers is not None:
            self.settlers.stop()


class EventConsumers(bootsteps.StartStopStep):
    """Start the readers with the worker, stop them with it."""

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.readers: Readers | None = None

    def start(self, worker: Any) -> None:
        if not settings.events_enabled():
            logger.info("PORTAL_EVENTS=off: no event queue is read; every stack is polled")
            return
        self.readers = Readers().start()

    def stop(self, worker: Any) -> None:
        if self.readers is not None:
            self.readers.stop()
