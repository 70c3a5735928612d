"""The shared models and their migrations, on SQLite and on the real PostgreSQL server."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core.db import make_engine, session_scope
from core.models import (
    ONE_AT_A_TIME,
    AuditEntry,
    AuditLogIsAppendOnly,
    Base,
    Operation,
    OperationKind,
    OperationStatus,
    Setup,
    StackEvent,
    StackRecord,
    User,
    utcnow,
)


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_audit_entries_cannot_be_changed_or_deleted(db_session_factory):
    with session_scope(db_session_factory) as session:
        session.add(AuditEntry(actor="alice", action="login", outcome="success"))
    with pytest.raises(AuditLogIsAppendOnly):
        with session_scope(db_session_factory) as session:
            entry = session.scalars(select(AuditEntry)).one()
            entry.outcome = "failed"
    with pytest.raises(AuditLogIsAppendOnly):
        with session_scope(db_session_factory) as session:
            session.delete(session.scalars(select(AuditEntry)).one())
    with session_scope(db_session_factory) as session:
        assert session.scalars(select(AuditEntry.outcome)).all() == ["success"]


def test_setup_name_is_unique_per_build_account_and_region(db_session_factory):
    with session_scope(db_session_factory) as session:
        session.add(Setup(name="orders", build_account_id="111111111111", region="eu-west-1"))
        session.add(Setup(name="orders", build_account_id="111111111111", region="us-east-1"))
        session.add(Setup(name="orders", build_account_id="222222222222", region="eu-west-1"))
    with pytest.raises(IntegrityError):
        with session_scope(db_session_factory) as session:
            session.add(Setup(name="orders", build_account_id="111111111111", region="eu-west-1"))


def test_drafts_without_accounts_do_not_collide(db_session_factory):
    with session_scope(db_session_factory) as session:
        session.add_all([Setup(name="orders"), Setup(name="orders")])
    with session_scope(db_session_factory) as session:
        assert len(session.scalars(select(Setup)).all()) == 2


def test_concurrent_setup_edits_are_detected(db_session_factory):
    with session_scope(db_session_factory) as session:
        session.add(Setup(name="orders"))
    first, second = db_session_factory(), db_session_factory()
    mine, theirs = first.scalars(select(Setup)).one(), second.scalars(select(Setup)).one()
    mine.branch = "develop"
    first.commit()
    theirs.branch = "release"
    with pytest.raises(StaleDataError):
        second.commit()
    first.close()
    second.close()


@pytest.mark.parametrize(
    ("build", "staging", "production", "distinct", "deploy"),
    [
        ("111111111111", "222222222222", "333333333333",
         ["111111111111", "222222222222", "333333333333"], ["222222222222", "333333333333"]),
        ("111111111111", "222222222222", "222222222222",
         ["111111111111", "222222222222"], ["222222222222"]),
        ("111111111111", "111111111111", "111111111111", ["111111111111"], ["111111111111"]),
    ],
)
def test_setup_lists_each_account_once(build, staging, production, distinct, deploy):
    setup = Setup(build_account_id=build, staging_account_id=staging, production_account_id=production)
    assert setup.distinct_accounts() == distinct
    assert setup.deploy_accounts() == deploy


def test_an_event_is_stored_once_per_stack(db_session_factory):
    with session_scope(db_session_factory) as session:
        user = User(username="op", password_hash="x", role="operator")
        setup = Setup(name="orders")
        session.add_all([user, setup])
        session.flush()
        operation = Operation(setup_id=setup.id, kind="apply", requested_by="op")
        session.add(operation)
        session.flush()
        stack = StackRecord(operation_id=operation.id, role="build", account_id="111111111111",
                            region="us-east-1", stack_name="orders-pipeline")
        session.add(stack)
        session.flush()
        stack_id = stack.id
        session.add(StackEvent(stack_record_id=stack_id, event_id="e1", timestamp=utcnow(),
                               logical_id="Bucket", resource_type="AWS::S3::Bucket",
                               status="CREATE_COMPLETE"))
    with pytest.raises(IntegrityError):
        with session_scope(db_session_factory) as session:
            session.add(StackEvent(stack_record_id=stack_id, event_id="e1", timestamp=utcnow(),
                                   logical_id="Bucket", resource_type="AWS::S3::Bucket",
                                   status="CREATE_COMPLETE"))


@pytest.mark.parametrize("rule", [ONE_AT_A_TIME[OperationKind.APPLY], ONE_AT_A_TIME[OperationKind.PLAN]],
                         ids=lambda rule: rule.index)
def test_the_one_at_a_time_indexes_are_built_from_their_rule(rule):
    index = next(index for index in Operation.__table__.indexes if index.name == rule.index)
    assert index.unique and [column.name for column in index.columns] == ["setup_id"]
    assert str(index.dialect_options["sqlite"]["where"]) == rule.predicate
    assert str(index.dialect_options["postgresql"]["where"]) == rule.predicate


@pytest.mark.parametrize("kind", list(OperationKind))
def test_the_migrated_indexes_refuse_exactly_what_the_rule_names(db_session_factory, kind):
    """Migration 0005 wrote the predicates out: the database must hold the rule the portal reads."""
    rule = ONE_AT_A_TIME[kind]
    for status in OperationStatus:
        with session_scope(db_session_factory) as session:
            setup = Setup(name=f"s-{kind.value}-{status.value}")
            session.add(setup)
            session.flush()
            session.add(Operation(setup_id=setup.id, kind=rule.kinds[0].value, status=OperationStatus.PENDING.value,
                                  requested_by="alice"))
            setup_id = setup.id
        refused = False
        try:
            with session_scope(db_session_factory) as session:
                session.add(Operation(setup_id=setup_id, kind=kind.value, status=status.value, requested_by="bob"))
        except IntegrityError:
            refused = True
        assert refused == (status in rule.statuses), (kind, status)
