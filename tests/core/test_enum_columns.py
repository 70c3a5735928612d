"""Status, kind and role columns hold their enum's values: read back as members, anything else refused loudly.

The columns stay plain VARCHARs (test_migrations_match_the_models holds the schema to the
migrations), so the refusal is the Python side's: these tests are what stands between a typo and a
row nobody can read.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import StatementError

from core.db import session_scope
from core.models import (
    Operation,
    OperationKind,
    OperationStatus,
    PipelineRequest,
    PipelineRequestKind,
    Role,
    Setup,
    SetupStatus,
    SourceProvider,
    StackRecord,
    StackRole,
    User,
)
from core.models.operations import StackAction, StackPhase


def add_operation(session, **columns) -> Operation:
    setup = Setup(name="orders-api")
    session.add(setup)
    session.flush()
    operation = Operation(**{"setup_id": setup.id, "kind": OperationKind.APPLY, "requested_by": "alice", **columns})
    session.add(operation)
    session.flush()
    return operation


def add_stack(session, operation: Operation, **columns) -> StackRecord:
    record = StackRecord(**{"operation_id": operation.id, "role": StackRole.BUILD, "account_id": "111111111111",
                            "region": "us-east-1", "stack_name": "orders-api-pipeline", **columns})
    session.add(record)
    session.flush()
    return record


def test_values_come_back_as_members_that_print_as_their_values(db_session_factory):
    with session_scope(db_session_factory) as session:
        operation = add_operation(session, status="waiting")  # a plain string of a member is accepted
        add_stack(session, operation)
        session.add(User(username="alice", password_hash="x"))
    with session_scope(db_session_factory) as session:
        operation = session.scalars(select(Operation)).one()
        record, user = operation.stacks[0], session.scalars(select(User)).one()
        setup = session.get(Setup, operation.setup_id)
        assert operation.status is OperationStatus.WAITING and operation.kind is OperationKind.APPLY
        assert f"{operation.kind} #{operation.id} is {operation.status}" == f"apply #{operation.id} is waiting"
        assert (record.role, record.phase, record.action) == (StackRole.BUILD, StackPhase.PENDING,
                                                              StackAction.UNDECIDED)
        assert record.action is StackAction.UNDECIDED and record.action == "" and not record.action
        assert (setup.status, setup.source_provider, user.role) == (SetupStatus.DRAFT, SourceProvider.CODECOMMIT,
                                                                   Role.VIEWER)
        assert type(setup.source_provider) is SourceProvider and str(setup.source_provider) == "CodeCommit"


def test_the_stored_values_are_the_enum_values(db_session_factory):
    """Raw SQL (the partial indexes' predicates, the migrations) reads the values, not the member names."""
    with session_scope(db_session_factory) as session:
        record = add_stack(session, add_operation(session, status=OperationStatus.SUCCEEDED),
                           phase=StackPhase.CHANGE_SET, action=StackAction.SELF_LAUNCH)
        session.add(PipelineRequest(setup_id=record.operation.setup_id, kind=PipelineRequestKind.RETRY,
                                    requested_by="alice"))
    with session_scope(db_session_factory) as session:
        assert session.execute(text("SELECT kind, status FROM operations")).one() == ("apply", "succeeded")
        assert session.execute(text("SELECT role, phase, action FROM stacks")).one() == (
            "build", "change_set", "self_launch")
        assert session.execute(text("SELECT kind, status FROM pipeline_requests")).one() == ("retry", "pending")
        assert session.execute(text("SELECT status, source_provider FROM setups")).one() == ("draft", "CodeCommit")


@pytest.mark.parametrize("column, value", [
    ("status", "finished"),
    ("status", "RUNNING"),  # a member's name is not its value
    ("kind", "deploy"),
])
def test_an_operation_with_a_value_outside_its_enum_is_refused(db_session_factory, column, value):
    with pytest.raises(StatementError) as raised:
        with session_scope(db_session_factory) as session:
            add_operation(session, **{column: value})
    assert isinstance(raised.value.orig, LookupError)
    assert f"'{value}' is not among the defined enum values" in str(raised.value)
    with session_scope(db_session_factory) as session:
        assert session.scalars(select(Operation)).all() == []


@pytest.mark.parametrize("model, column, value", [
    (StackRecord, "phase", "complete"),
    (StackRecord, "action", "replace"),
    (StackRecord, "role", "staging"),
    (PipelineRequest, "status", "accepted"),
    (PipelineRequest, "kind", "approve"),
    (Setup, "status", "deployed"),
    (Setup, "source_provider", "github"),  # the value is "GitHub": case matters
    (User, "role", "superuser"),
])
def test_an_update_to_a_value_outside_its_enum_is_refused(db_session_factory, model, column, value):
    with session_scope(db_session_factory) as session:
        record = add_stack(session, add_operation(session))
        session.add(PipelineRequest(setup_id=record.operation.setup_id, kind=PipelineRequestKind.RELEASE,
                                    requested_by="alice"))
        session.add(User(username="alice", password_hash="x"))
    with pytest.raises(StatementError) as raised:
        with session_scope(db_session_factory) as session:
            setattr(session.scalars(select(model)).one(), column, value)
    assert isinstance(raised.value.orig, LookupError)
    with pytest.raises(StatementError) as raised:  # a bulk UPDATE goes through the same type
        with session_scope(db_session_factory) as session:
            session.execute(update(model).values({column: value}))
    assert isinstance(raised.value.orig, LookupError)


def test_a_row_holding_a_value_outside_its_enum_cannot_be_read_as_if_it_were_fine(db_session_factory):
    with session_scope(db_session_factory) as session:
        add_operation(session, status=OperationStatus.RUNNING)
    with session_scope(db_session_factory) as session:
        session.execute(text("UPDATE operations SET status = 'finished'"))
    with session_scope(db_session_factory) as session:
        with pytest.raises(LookupError, match="'finished' is not among the defined enum values"):
            session.scalars(select(Operation)).one()
