"""The open pipeline page's execution history follows what the worker stores, as the stages do."""
from __future__ import annotations

import pytest

from core.models import PipelineSnapshot
from tests.portal.test_pipelines import EXECUTION, open_pipeline_page


@pytest.mark.browser
def test_a_listed_execution_that_ends_shows_its_status_without_a_reload(tmp_path, broker):
    with open_pipeline_page(tmp_path, executions=2) as (page, factory, setup_id):
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
        assert row.locator('[data-field="status_summary"]').inner_text() == "Approval Approve was rejected by ada: no"
        assert page.problems == []
