"""A failed build's log tail, as the worker stored it in the snapshot, on the pipeline page, live endpoint and API."""
from __future__ import annotations

import re

import pytest

from core.models import PipelineSnapshot, Setup
from tests.portal import test_api, test_pipelines
from tests.portal.test_pipelines import open_pipeline_page, seed_snapshot

# The API's and the dashboard tests' fixtures, under the names the tests ask for.
api, bearer, deployed = test_api.api, test_api.bearer, test_pipelines.deployed

DEEP_LINK = "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/x"
HOSTILE = '<script>alert("log")</script> & done'


def with_tail(db, setup, tail, seed=True):
    row = seed_snapshot(db, setup, build_status="Failed") if seed else \
        db.query(PipelineSnapshot).filter_by(setup_id=setup.id).one()
    stages = [dict(s) for s in row.stages]
    build = next(s for s in stages if s["name"] == "Build")
    build["actions"] = [dict(build["actions"][0], external_id="orders-api-build:1234", log_tail=tail)]
    db.execute(PipelineSnapshot.__table__.update().where(PipelineSnapshot.id == row.id).values(
        stages=stages, version=row.version + 1))
    db.commit()
    return tail


def tail_of(lines, **extra):
    return {"build_id": "orders-api-build:1234", "lines": lines, "group": "/aws/codebuild/x", "stream": "1234",
            "deep_link": DEEP_LINK, "error": "", "read_at": "2026-12-03T13:04:05.123456+00:00", **extra}


def pre_of(page):
    [block] = re.findall(r'<pre class="log">(.*?)</pre>', page, re.S)
    return block


def test_the_tail_shows_escaped_under_the_failed_build_with_when_it_was_read(client, auth, db, deployed):
    lines = ["[Container] 2026/12/03 13:04:01.000000 Running command make test", HOSTILE,
             "FAIL orders 0.01s", "[Container] 2026/12/03 13:04:02.000000 Phase complete: BUILD State: FAILED"]
    with_tail(db, deployed, tail_of(lines))
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)

    assert "last 4 lines, read at 13:04:05" in page
    block = pre_of(page)
    assert block.split("\n")[1] == "&lt;script&gt;alert(&#34;log&#34;)&lt;/script&gt; &amp; done"
    assert "<script>alert" not in page
    assert block.split("\n")[-1].endswith("Phase complete: BUILD State: FAILED")
    # Under the failed action's row, in the Build stage.
    build = page[page.index('data-stage="Build"'):page.index('data-stage="DeployStaging"')]
    assert '<pre class="log">' in build
    assert DEEP_LINK.replace("&", "&amp;") in page or DEEP_LINK in page
    # No inline script or style came with it (the CSP forbids both).
    assert " style=" not in build and "<script" not in build


def test_a_tail_that_could_not_be_read_says_why(client, auth, db, deployed):
    with_tail(db, deployed, tail_of([], error="log not readable: User is not authorized to perform: logs:GetLogEvents"))
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "log not readable: User is not authorized to perform: logs:GetLogEvents" in page
    assert '<pre class="log">' not in page


def test_against_the_emulator_the_log_has_no_console_link(client, auth, db, deployed, app):
    with_tail(db, deployed, tail_of(["one line"]))
    app.config["EMULATOR_URL"] = "http://127.0.0.1:4566"
    auth.login("viewer")
    page = client.get(f"/pipelines/{deployed.id}").get_data(as_text=True)
    assert "last 1 line, read at" in page and "one line" in pre_of(page)
    assert "cloudwatch" not in page


def test_the_live_endpoint_and_the_api_carry_the_tail_and_other_actions_have_none(client, auth, api, db, deployed):
    with_tail(db, deployed, tail_of(["a", HOSTILE]))
    auth.login("viewer")
    live = client.get(f"/pipelines/{deployed.id}/live").get_json()
    [build] = [a for s in live["stages"] for a in s["actions"] if a["name"] == "BuildAndTest"]
    assert build["log_tail"]["lines"] == ["a", HOSTILE]
    body = api("get", f"/pipelines/{deployed.id}", role="viewer").get_json()
    actions = {a["name"]: a for s in body["stages"] for a in s["actions"]}
    tail = actions["BuildAndTest"]["log_tail"]
    assert (tail["lines"], tail["count"], tail["error"]) == (["a", HOSTILE], 2, "")
    assert tail["read_at"] == "2026-12-03T13:04:05.123456+00:00" and tail["console_url"] == DEEP_LINK
    assert actions["Source"]["log_tail"] is None
    # What the worker stores beside it (group, stream, build id) is its own, not the API's.
    assert set(tail) == {"lines", "count", "error", "read_at", "read_at_clock", "console_url"}


@pytest.mark.browser
def test_an_open_page_shows_the_tail_when_the_worker_stores_it(tmp_path, broker):
    with open_pipeline_page(tmp_path, build_status="Failed") as (page, factory, setup_id):
        assert page.locator("pre.log").count() == 0
        with factory() as db:  # what the worker's next read stores: the tail, and a new version
            with_tail(db, db.get(Setup, setup_id), tail_of(["compiling", HOSTILE, "FAIL"]), seed=False)
        page.locator("pre.log").wait_for(timeout=10_000)
        assert page.locator("pre.log").inner_text() == f"compiling\n{HOSTILE}\nFAIL"
        assert "last 3 lines, read at 13:04:05" in page.inner_text("#pipeline-stages")
        assert page.evaluate("document.querySelectorAll('#pipeline-stages script').length") == 0
        assert page.problems == []
