"""The open pipeline page's execution history follows what the worker stores, as the stages do."""
from __future__ import annotations

import pytest

from core.db import make_engine, make_session_factory
from core.models import PipelineSnapshot, Setup, SetupStatus
from tests.portal import factories as f
from tests.portal.helpers import BUILD, PASSWORD, PRODUCTION, STAGING, TEST_BROKER_URL, TEST_SECRET
from tests.portal.live import chromium_page, serve_portal
from tests.portal.test_pipelines import EXECUTION, seed_snapshot


@pytest.mark.browser
def test_a_listed_execution_that_ends_shows_its_status_without_a_reload(tmp_path, broker):
    url = f"sqlite:///{tmp_path / 'history.db'}"
    with serve_portal({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "CELERY_BROKER_URL": TEST_BROKER_URL}) as base:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as db:
            setup = Setup(name="orders-api", build_account_id=BUILD, staging_account_id=STAGING,
                          production_account_id=PRODUCTION, region="eu-west-1", status=SetupStatus.READY.value)
            db.add(setup)
            db.flush()
            f.add_apply(db, setup, f.add_plan(db, setup), status="succeeded")
            db.commit()
            seed_snapshot(db, setup, executions=2)
            setup_id = setup.id
        with chromium_page(base) as page:
            page.goto("/login")
            page.fill("#username", "olivia")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"/pipelines/{setup_id}")
            row = page.locator(f'#history tr[data-execution-id="{EXECUTION}"]')
            assert row.locator('[data-field="status"]').inner_text() == "InProgress"
            with factory() as db:  # the worker's next read: the execution failed, a new version
                snapshot = db.query(PipelineSnapshot).filter_by(setup_id=setup_id).one()
                executions = [dict(e) for e in snapshot.executions]
                executions[0].update(status="Failed", status_summary="Approval Approve was rejected by ada: no")
                db.execute(PipelineSnapshot.__table__.update().where(PipelineSnapshot.id == snapshot.id)
                           .values(executions=executions, version=snapshot.version + 1))
                db.commit()
            row.locator('[data-field="status"]:text("Failed")').wait_for(timeout=10_000)
            assert "status-failed" in row.locator('[data-field="status"]').get_attribute("class")
            assert row.locator('[data-field="status_summary"]').inner_text() == \
                "Approval Approve was rejected by ada: no"
            assert page.problems == []
        engine.dispose()
