"""An operation's page and its live events: stack events as they arrive, then the outputs or the root cause."""
from __future__ import annotations

import re

import pytest

from portal.deployments import service
from tests.portal import factories as f
from tests.portal.helpers import BUILD, STAGING
from tests.portal.test_deployments_plan import page_of, section, text


def running_apply(db, setup, status="running"):
    applied = f.add_apply(db, setup, f.add_plan(db, setup), status=status)
    for record in applied.stacks:
        record.phase = "executing"
    return applied


def events_url(setup, operation, after=0) -> str:
    return f"/setups/{setup.id}/operations/{operation.id}/events?after={after}"


def test_a_running_apply_shows_each_stacks_events_and_is_followed_live(client, auth, users, db, ready_setup):
    applied = running_apply(db, ready_setup)
    staging, _, build = applied.stacks
    staging.stack_status = "CREATE_IN_PROGRESS"
    first = f.add_event(db, staging, staging.stack_name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS",
                        "User Initiated", recorded_at=f.minutes_ago(5))
    second = f.add_event(db, staging, "DeployRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS",
                         recorded_at=f.minutes_ago(5))
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    head = re.search(r'<div class="page-head" id="live"(.*?)>', page, re.S).group(1)
    assert f'data-events-url="/setups/{ready_setup.id}/operations/{applied.id}/events"' in head
    assert f'data-after="{second.id}"' in head and 'data-status="running"' in head and "data-live" in head
    rows = re.findall(r'<tr data-event-id="(\d+)">(.*?)</tr>', section(page, f"stack-{staging.id}"), re.S)
    assert [int(event_id) for event_id, _ in rows] == [second.id, first.id]  # newest first, as the AWS console
    assert "orders-api-deploy-dependencies AWS::CloudFormation::Stack CREATE_IN_PROGRESS User Initiated" in text(rows[1][1])
    assert "deploying" in text(section(page, f"stack-{staging.id}"))
    assert "No events yet." in text(section(page, f"stack-{build.id}"))


def test_the_events_endpoint_gives_status_stacks_and_the_events_after_the_cursor(client, auth, users, db, ready_setup):
    applied = running_apply(db, ready_setup)
    record = applied.stacks[0]
    record.stack_status = "CREATE_IN_PROGRESS"
    old = [f.add_event(db, record, name, "AWS::IAM::Role", "CREATE_COMPLETE", recorded_at=f.minutes_ago(2))
           for name in ("DeployRole", "CloudFormationExecutionRole")]
    db.commit()
    auth.login("viewer")
    body = client.get(events_url(ready_setup, applied)).get_json()
    assert body["operation"]["status"] == "running" and body["operation"]["terminal"] is False
    assert [(s["stack_name"], s["account_id"], s["phase"]) for s in body["stacks"]][0] == (
        "orders-api-deploy-dependencies", STAGING, "executing")
    assert body["stacks"][0]["stack_status"] == "CREATE_IN_PROGRESS"
    assert [e["logical_id"] for e in body["events"]] == ["DeployRole", "CloudFormationExecutionRole"]
    assert body["events"][0] | {"timestamp": None} == {
        "id": old[0].id, "stack": record.id, "timestamp": None, "logical_id": "DeployRole", "physical_id": "",
        "type": "AWS::IAM::Role", "status": "CREATE_COMPLETE", "reason": ""}
    assert body["next_after"] == old[1].id
    assert client.get(events_url(ready_setup, applied, old[1].id)).get_json()["events"] == []


def test_recent_events_come_again_so_a_late_commit_with_a_lower_id_is_not_skipped(client, auth, users, db,
                                                                                  ready_setup):
    applied = running_apply(db, ready_setup)
    staging, production, _ = applied.stacks
    settled = f.add_event(db, staging, "DeployRole", "AWS::IAM::Role", "CREATE_COMPLETE", recorded_at=f.minutes_ago(2))
    db.commit()
    auth.login("viewer")
    # Another worker stores an event with a higher id and commits first...
    fresh = f.add_event(db, production, "DeployRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS")
    fresh.id = settled.id + 10
    db.commit()
    first = client.get(events_url(ready_setup, applied, settled.id)).get_json()
    assert [e["id"] for e in first["events"]] == [fresh.id] and first["next_after"] == settled.id
    # ...then the slower one commits an event with a lower id: the next read still has it.
    late = f.add_event(db, staging, "ArtifactReadPolicy", "AWS::IAM::ManagedPolicy", "CREATE_IN_PROGRESS")
    late.id = settled.id + 5
    db.commit()
    second = client.get(events_url(ready_setup, applied, first["next_after"])).get_json()
    assert [e["id"] for e in second["events"]] == [late.id, fresh.id]


def test_a_full_page_of_events_moves_the_cursor_to_its_end(app, db, ready_setup):
    applied = running_apply(db, ready_setup)
    events = [f.add_event(db, applied.stacks[0], f"Resource{n}", "AWS::IAM::Role", "CREATE_IN_PROGRESS")
              for n in range(3)]
    db.commit()
    page, next_after = service.events_after(db, applied, 0, limit=2)
    assert [e.id for e in page] == [events[0].id, events[1].id] and next_after == events[1].id


@pytest.mark.parametrize("after", ["x", "-1", "1.5", str(2**64)])
def test_the_events_endpoint_refuses_a_bad_cursor(client, auth, users, db, ready_setup, after):
    applied = running_apply(db, ready_setup)
    db.commit()
    auth.login("viewer")
    response = client.get(events_url(ready_setup, applied, after))
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["after"]


def test_an_operation_is_only_found_under_its_own_setup(client, auth, users, db, make_setup, ready_setup):
    applied = running_apply(db, ready_setup)
    db.commit()
    other = make_setup(name="other-api")
    auth.login("viewer")
    assert client.get(f"/setups/{other}/operations/{applied.id}").status_code == 404
    assert client.get(f"/setups/{other}/operations/{applied.id}/events").status_code == 404
    assert client.get(f"/setups/{ready_setup.id}/operations/{2**40}").status_code == 404


def test_signed_out_visitors_cannot_follow_events(client, db, ready_setup):
    applied = running_apply(db, ready_setup)
    db.commit()
    response = client.get(events_url(ready_setup, applied))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_succeeded_apply_shows_the_clone_urls_git_commands_pipeline_and_links(client, auth, users, db, ready_setup):
    applied = running_apply(db, ready_setup, status="succeeded")
    for record in applied.stacks:
        record.phase, record.stack_status = "done", "CREATE_COMPLETE"
    applied.detail = {**applied.detail, **f.succeeded_detail(ready_setup, applied)}
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    result = section(page, "result")
    assert "Your pipeline is ready" in result
    for value in (f.OUTPUTS["RepositoryCloneUrlHttp"], f.OUTPUTS["RepositoryCloneUrlSsh"],
                  f.OUTPUTS["PipelineConsoleUrl"]):
        assert f"<code>{value}</code>" in result
    commands = "\n".join(f.succeeded_detail(ready_setup, applied)["git_commands"])
    assert f"<code>{commands}</code>" in result
    assert "<code>orders-api-pipeline</code>" in result
    assert f'href="{f.OUTPUTS["PipelineConsoleUrl"]}"' in result
    for url in f.succeeded_detail(ready_setup, applied)["stacks"].values():
        assert f"<code>{url['console_url']}</code>" in result
    build = section(page, f"stack-{applied.stacks[2].id}")
    assert f'href="https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/stackinfo' \
           f'?stackId={BUILD}"' in build
    assert "data-live" not in page  # finished: nothing to poll
    # The setup's page sums it up.
    summary = text(section(page_of(client, f"/setups/{ready_setup.id}"), "latest-change"))
    assert f"Apply #{applied.id} succeeded" in summary and f.OUTPUTS["RepositoryCloneUrlHttp"] in summary


ROOT_CAUSE = {"resource": "CloudFormationExecutionRole", "type": "AWS::IAM::Role", "reason": "Role quota exceeded",
              "status": "CREATE_FAILED", "stack": "orders-api-deploy-dependencies", "account": STAGING,
              "region": "eu-west-1"}


def failed_apply(db, setup, staging_status="ROLLBACK_COMPLETE", reason=""):
    applied = running_apply(db, setup, status="failed")
    staging = applied.stacks[0]
    staging.phase, staging.stack_status = "failed", staging_status
    staging.status_reason = reason or "the creation failed and was rolled back (ROLLBACK_COMPLETE); plan again to " \
                                      "recreate it"
    applied.root_cause = ROOT_CAUSE
    applied.error = f"orders-api-deploy-dependencies in {STAGING}: {staging.status_reason}"
    applied.stacks[1].phase, applied.stacks[1].stack_status = "done", "CREATE_COMPLETE"
    return applied


def test_a_failed_apply_names_the_root_cause_and_the_stacks_states(client, auth, users, db, ready_setup):
    applied = failed_apply(db, ready_setup)
    db.commit()
    auth.login("operator")
    failure = section(page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}"), "failure")
    assert ("The first resource to fail was CloudFormationExecutionRole (AWS::IAM::Role) in stack "
            f"orders-api-deploy-dependencies, account {STAGING}, eu-west-1, CREATE_FAILED:") in text(failure)
    assert '<blockquote class="reason">Role quota exceeded</blockquote>' in failure
    states = re.findall(r"<tr><td><code>([^<]+)</code></td><td><code>(\d+)</code></td>\s*<td>(.*?)</td>", failure, re.S)
    assert [(name, account, text(state)) for name, account, state in states] == [
        ("orders-api-deploy-dependencies", STAGING, "ROLLBACK_COMPLETE"),
        ("orders-api-deploy-dependencies", "333333333333", "CREATE_COMPLETE"),
        ("orders-api-pipeline", BUILD, "no status yet")]
    assert (f"Stack orders-api-deploy-dependencies in {STAGING} is in ROLLBACK_COMPLETE: the next plan says it "
            "will be deleted and recreated") in text(failure)
    assert f'action="/setups/{ready_setup.id}/plan"' in failure and "Plan again" in failure
    summary = text(section(page_of(client, f"/setups/{ready_setup.id}"), "latest-change"))
    assert "The first resource to fail was CloudFormationExecutionRole (AWS::IAM::Role)" in summary


def test_a_rolled_back_update_is_shown_as_such(client, auth, users, db, ready_setup):
    applied = failed_apply(db, ready_setup, "UPDATE_ROLLBACK_COMPLETE",
                           "the update was rolled back (UPDATE_ROLLBACK_COMPLETE); fix the cause and plan again")
    db.commit()
    auth.login("viewer")
    failure = text(section(page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}"), "failure"))
    assert (f"The update of orders-api-deploy-dependencies in {STAGING} was rolled back: the stack is back as it was "
            "before this apply, and still works.") in failure
    assert "the update was rolled back (UPDATE_ROLLBACK_COMPLETE); fix the cause and plan again" in failure
    assert "will be deleted and recreated" not in failure
    assert "Plan again" not in failure  # a viewer may not plan


def test_a_refused_apply_without_a_root_cause_shows_the_workers_reason(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    applied = f.add_operation(db, ready_setup, "apply", "failed", plan_id=plan.id,
                              error=f"the reviewed change set portal-1-{plan.id} of stack orders-api-pipeline in "
                                    f"account {BUILD} no longer exists (executed or deleted since the plan); plan again")
    db.commit()
    auth.login("operator")
    failure = section(page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}"), "failure")
    assert '<p class="alert" id="operation-error">the reviewed change set' in failure
    assert "The first resource to fail" not in failure


def test_a_waiting_apply_shows_the_launch_instructions_and_that_the_worker_waits(client, auth, users, db, ready_setup):
    launch = {"quick_create_url": "https://console.example/quickcreate?stackName=orders-api-deploy-dependencies",
              "cli_command": "aws cloudformation deploy --stack-name orders-api-deploy-dependencies"}
    plan = f.add_plan(db, ready_setup, production={"action": "self_launch", "detail": launch})
    applied = f.add_apply(db, ready_setup, plan, status="waiting")
    applied.stacks[1].phase = "waiting"
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{applied.id}")
    stack = section(page, f"stack-{applied.stacks[1].id}")
    assert "The worker is waiting for this stack and carries on by itself once it is created." in text(stack)
    assert f"<code>{launch['quick_create_url']}</code>" in stack and f"<code>{launch['cli_command']}</code>" in stack
    assert "waiting for the account&#39;s admin" in stack or "waiting for the account's admin" in stack
    assert "The worker is waiting for a stack the account's admin launches" in text(page)
    summary = text(section(page_of(client, f"/setups/{ready_setup.id}"), "latest-change"))
    assert "The worker is waiting for a stack the account's admin launches" in summary


def test_the_setup_page_follows_an_unfinished_apply(client, auth, users, db, ready_setup):
    applied = running_apply(db, ready_setup)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}")
    assert f'data-events-url="/setups/{ready_setup.id}/operations/{applied.id}/events"' in page
    assert "Follow its events" in text(section(page, "latest-change"))
