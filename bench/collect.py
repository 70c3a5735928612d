"""Gather what the worker stored for a batch of applies, next to what CloudFormation emitted.

CloudFormation (the emulator) is the ground truth for which events a stack operation had and
when; the database says when the worker wrote each one (``StackEvent.recorded_at``) and when it
finished each operation (``Operation.finished_at``). Events the worker never stored are counted,
not silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench import aws
from bench.measures import OperationRun, StackRun
from core.models import Operation, StackEvent, StackRecord


@dataclass
class WorkerObservation:
    operations: list[OperationRun] = field(default_factory=list)
    # (CloudFormation timestamp, recorded_at) of every event of the applies' stack operations.
    events: list[tuple[float, float]] = field(default_factory=list)
    emitted: int = 0
    missing: list[str] = field(default_factory=list)  # "stack: event" never stored
    statuses: dict[str, int] = field(default_factory=dict)  # terminal stack statuses, counted

    @property
    def stacks(self) -> list[StackRun]:
        return [s for op in self.operations for s in op.stacks]


def observe(factory: sessionmaker[Session], operation_ids: tuple[int, ...],
            cfn_for: Callable[[str], Any], executed_only: bool = False) -> WorkerObservation:
    """Join each apply's stack records with their CloudFormation histories.

    ``executed_only``: leave out the records of stacks the apply left unchanged (an update).
    """
    seen = WorkerObservation()
    with factory() as session:
        for operation_id in operation_ids:
            operation = session.get(Operation, operation_id)
            assert operation is not None
            records = [r for r in operation.stacks if not executed_only or r.detail.get("executed")]
            runs = [_stack_run(session, record, cfn_for(record.account_id), seen) for record in records]
            finished = aws.epoch(operation.finished_at) if operation.finished_at else None
            seen.operations.append(OperationRun(operation_id, finished, tuple(runs)))
    return seen


def _stack_run(session: Session, record: StackRecord, cfn: Any, seen: WorkerObservation) -> StackRun:
    history = aws.latest_operation(cfn, record.stack_id or record.stack_name, record.stack_name)
    stored = {row.event_id: aws.epoch(row.recorded_at) for row in session.scalars(
        select(StackEvent).where(StackEvent.stack_record_id == record.id))}
    key = f"{record.account_id}/{record.stack_name}"
    for event in history.events:
        seen.emitted += 1
        if event.event_id in stored:
            seen.events.append((event.timestamp, stored[event.event_id]))
        else:
            seen.missing.append(f"{key}: {event.logical_id} {event.status}")
    terminal = history.terminal
    seen.statuses[terminal.status] = seen.statuses.get(terminal.status, 0) + 1
    return StackRun(key=key, started=history.started, terminal=terminal.timestamp, terminal_status=terminal.status,
                    seen=stored.get(terminal.event_id), role=record.role)


def clients_by_account(endpoint: str) -> Callable[[str], Any]:
    """A CloudFormation client per account, made once (the benchmark's reads, never counted)."""
    clients: dict[str, Any] = {}

    def client(account_id: str) -> Any:
        if account_id not in clients:
            clients[account_id] = aws.cloudformation(endpoint, account_id)
        return clients[account_id]

    return client
