"""The approval's database rules, on SQLite and on PostgreSQL: one decision per approval, one vote per person."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from core import approvals
from core.db import session_scope
from core.models import ApprovalDecision, ApprovalReview, ApprovalVote, Setup

pytestmark = pytest.mark.both_databases


@pytest.fixture
def setup_id(db_session_factory) -> int:
    with session_scope(db_session_factory) as session:
        setup = Setup(name="orders-api", build_account_id="111111111111", region="eu-west-1")
        session.add(setup)
        session.flush()
        assert setup.two_person_approval is False
        return setup.id


def decision(setup_id: int, user: str, run: str = "run-1", execution: str = "exec-1") -> ApprovalDecision:
    return ApprovalDecision(setup_id=setup_id, execution_id=execution, approval_run_id=run, stage="ApproveProduction",
                            action="Approve", decision="approve", decided_by=user)


def test_one_decision_per_approval_whoever_decides(db_session_factory, setup_id):
    with session_scope(db_session_factory) as session:
        session.add(decision(setup_id, "ann"))
    with pytest.raises(IntegrityError):
        with session_scope(db_session_factory) as session:
            session.add(decision(setup_id, "bob"))
    # A retried approval (a new run) and another execution are other approvals.
    with session_scope(db_session_factory) as session:
        session.add(decision(setup_id, "bob", run="run-2"))
        session.add(decision(setup_id, "bob", execution="exec-2"))


def test_one_vote_per_person_and_approval(db_session_factory, setup_id):
    vote = lambda user: ApprovalVote(setup_id=setup_id, execution_id="exec-1", approval_run_id="run-1",  # noqa: E731
                                     username=user)
    with session_scope(db_session_factory) as session:
        session.add_all([vote("ann"), vote("bob")])
    with pytest.raises(IntegrityError):
        with session_scope(db_session_factory) as session:
            session.add(vote("ann"))


def test_one_review_per_execution(db_session_factory, setup_id):
    with session_scope(db_session_factory) as session:
        session.add(ApprovalReview(setup_id=setup_id, execution_id="exec-1"))
    with pytest.raises(IntegrityError):
        with session_scope(db_session_factory) as session:
            session.add(ApprovalReview(setup_id=setup_id, execution_id="exec-1"))


@pytest.mark.parametrize("first, comment, expected", [
    ("", "Looks good", "Approved in the portal by ann: Looks good"),
    ("bob", "", "Approved in the portal by ann (first approval by bob)"),
])
def test_the_summary_names_who_decided(first, comment, expected):
    assert approvals.summary("approve", "ann", comment, first) == expected


def test_the_summary_fits_put_approval_results_limit_with_the_longest_comment_and_names():
    text = approvals.summary("reject", "u" * 64, "c" * approvals.COMMENT_MAX, "f" * 64)
    assert len(text) <= approvals.SUMMARY_MAX and text.startswith("Rejected in the portal by " + "u" * 64)
