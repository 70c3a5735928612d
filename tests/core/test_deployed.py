"""Which setups have a pipeline the portal deployed (core/pipelines.py), from their recorded operations."""
from __future__ import annotations

import pytest

from core import pipelines
from core.models import Operation, Setup


@pytest.mark.parametrize("history, deployed", [
    ([], False),
    ([("apply", "running")], False),
    ([("apply", "failed")], False),
    ([("apply", "succeeded")], True),
    ([("apply", "succeeded"), ("apply", "failed")], True),  # a failed re-apply leaves the pipeline
    ([("apply", "succeeded"), ("apply", "running")], True),
    ([("apply", "succeeded"), ("teardown", "pending")], True),  # nothing ran yet
    ([("apply", "succeeded"), ("teardown", "cancelled")], True),
    ([("apply", "succeeded"), ("teardown", "running")], False),
    ([("apply", "succeeded"), ("teardown", "failed")], False),  # it may have deleted the pipeline
    ([("apply", "succeeded"), ("teardown", "succeeded"), ("apply", "succeeded")], True),
], ids=lambda v: str(v))
def test_a_setup_has_a_pipeline_after_a_succeeded_apply_and_no_teardown_since(db_session_factory, history, deployed):
    with db_session_factory() as session:
        setup, other = Setup(name="orders-api"), Setup(name="other-api")
        session.add_all([setup, other])
        session.flush()
        session.add(Operation(setup_id=other.id, kind="apply", status="succeeded", requested_by="x"))
        for kind, status in history:
            session.add(Operation(setup_id=setup.id, kind=kind, status=status, requested_by="x"))
        session.commit()
        assert (setup.id in pipelines.deployed_setup_ids(session)) is deployed
        assert pipelines.deployed_setup_ids(session, only=setup.id) == ([setup.id] if deployed else [])
        assert other.id in pipelines.deployed_setup_ids(session)
