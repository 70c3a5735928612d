"""One rule for "deployed" (core/lifecycle.py): the setup's badge and the dashboard's pipelines agree on it.

Each history is a setup's operations, oldest first, as "kind:status"; "cancelled" is a cancel of a
pending operation (no worker started it) and "cancelled-after-start" one of an operation that
waited for a self-launched stack.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from core import lifecycle
from core.lifecycle import Lifecycle
from core.models import Operation, OperationStatus, Setup, SetupStatus, utcnow

DEPLOYED, APPLYING, FAILED, TEARING_DOWN, TORN_DOWN = (
    Lifecycle.DEPLOYED, Lifecycle.APPLYING, Lifecycle.FAILED, Lifecycle.TEARING_DOWN, Lifecycle.TORN_DOWN)

HISTORIES = [
    ([], False, Lifecycle.NOT_PLANNED),
    (["apply:running"], False, APPLYING),
    (["apply:failed"], False, FAILED),
    (["apply:succeeded"], True, DEPLOYED),
    # A failed re-apply leaves what the earlier one deployed (CloudFormation rolls the update back).
    (["apply:succeeded", "apply:failed"], True, DEPLOYED),
    (["apply:succeeded", "apply:cancelled-after-start"], True, DEPLOYED),
    (["apply:succeeded", "apply:cancelled"], True, DEPLOYED),
    (["apply:succeeded", "apply:running"], True, APPLYING),
    (["apply:failed", "apply:succeeded"], True, DEPLOYED),
    (["apply:succeeded", "teardown:pending"], True, TEARING_DOWN),  # nothing ran yet
    (["apply:succeeded", "teardown:cancelled"], True, DEPLOYED),
    (["apply:succeeded", "teardown:running"], False, TEARING_DOWN),
    (["apply:succeeded", "teardown:waiting"], False, TEARING_DOWN),  # the pipeline went first
    # A teardown that ran may have deleted the pipeline (the build stack goes first), whatever its end.
    (["apply:succeeded", "teardown:failed"], False, FAILED),
    (["apply:succeeded", "teardown:cancelled-after-start"], False, FAILED),
    (["apply:succeeded", "teardown:succeeded"], False, TORN_DOWN),
    (["apply:succeeded", "teardown:succeeded", "apply:failed"], False, FAILED),
    (["apply:succeeded", "teardown:succeeded", "apply:succeeded"], True, DEPLOYED),
    (["apply:succeeded", "teardown:failed", "apply:succeeded", "apply:failed"], True, DEPLOYED),
]


def add_history(session, setup: Setup, history: list[str]) -> None:
    start = utcnow() - timedelta(hours=1)
    for n, entry in enumerate(history):
        kind, status = entry.split(":")
        ran = status not in ("pending", "cancelled")
        session.add(Operation(setup_id=setup.id, kind=kind, status=status.removesuffix("-after-start"),
                              requested_by="alice", started_at=start + timedelta(minutes=n) if ran else None))


@pytest.mark.parametrize("history, deployed, badge", HISTORIES,
                         ids=lambda v: ",".join(v) if isinstance(v, list) else None)
def test_the_badge_and_the_pipelines_follow_one_rule(db_session_factory, history, deployed, badge):
    with db_session_factory() as session:
        setup = Setup(name="orders-api", status=SetupStatus.READY)
        other = Setup(name="other-api", status=SetupStatus.READY)
        session.add_all([setup, other])
        session.flush()
        add_history(session, other, ["apply:succeeded"])
        add_history(session, setup, history)
        session.commit()

        assert (setup.id in lifecycle.deployed_setup_ids(session)) is deployed
        assert lifecycle.deployed_setup_ids(session, only=setup.id) == ([setup.id] if deployed else [])
        assert lifecycle.is_deployed(session, setup.id) is deployed
        assert other.id in lifecycle.deployed_setup_ids(session)

        state, _ = lifecycle.state_of(session, setup)
        assert state.lifecycle is badge
        change = lifecycle.newest_that_ran(session, setup.id, *lifecycle.CHANGES)
        if change is not None and change.status not in lifecycle.UNFINISHED:
            assert (state.lifecycle is DEPLOYED) is deployed  # once the newest change has settled


def test_a_failed_re_apply_says_so_beside_the_deployed_badge(db_session_factory):
    with db_session_factory() as session:
        setup = Setup(name="orders-api", status=SetupStatus.READY)
        session.add(setup)
        session.flush()
        add_history(session, setup, ["apply:succeeded", "apply:failed"])
        session.commit()
        state, _ = lifecycle.state_of(session, setup)
        failed = session.query(Operation).filter_by(status=OperationStatus.FAILED).one()
        assert state.lifecycle is DEPLOYED and state.operation_id == failed.id
        assert state.note == f"Apply #{failed.id} failed. The stacks an earlier apply deployed stay."
