"""A setup's pages under its navigation: Overview (at a glance), Deployments, Settings, and the Pipeline tab."""
from __future__ import annotations

import re

import pytest

from core.models import Setup
from tests.portal import factories as f
from tests.portal.test_deployments_plan import page_of, section, text
from tests.portal.test_pipelines import seed_snapshot

TABS = ("", "/deployments", "/settings")


def glance(client, setup_id: int, part: str) -> str:
    """What the overview's "Deployed", "Runs" or "Waits for" says, as a reader sees it."""
    page = page_of(client, f"/setups/{setup_id}")
    match = re.search(rf'<dd id="glance-{part}">(.*?)</dd>', page, re.S)
    assert match, f"no glance-{part}"
    return text(match.group(1))


def nav(page: str) -> str:
    match = re.search(r'<nav class="subnav".*?</nav>', page, re.S)
    assert match, "no setup navigation"
    return match.group(0)


def deployed_apply(db, setup):
    """A succeeded apply whose three stacks CloudFormation reported CREATE_COMPLETE."""
    applied = f.add_apply(db, setup, f.add_plan(db, setup), status="succeeded")
    applied.detail = f.succeeded_detail(setup, applied)
    for record in applied.stacks:
        record.stack_status, record.phase = "CREATE_COMPLETE", "done"
    db.commit()
    return applied


@pytest.mark.parametrize("tab", TABS)
def test_a_viewer_reads_every_tab_and_the_current_one_is_marked(client, auth, users, ready_setup, tab):
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}{tab}")
    links = nav(page)
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', links)
    assert current == [f"/setups/{ready_setup.id}{tab}"]
    for other in TABS:
        assert f'href="/setups/{ready_setup.id}{other}"' in links
    # No pipeline is deployed yet: the tab says so instead of linking to a 404.
    assert "/pipelines/" not in links and "No pipeline is deployed yet" in links


@pytest.mark.parametrize("tab", TABS)
def test_an_unknown_setup_has_no_tab(client, auth, users, tab):
    auth.login("viewer")
    assert client.get(f"/setups/999999{tab}").status_code == 404


def test_the_navigation_links_the_pipeline_once_deployed_and_the_pipeline_page_carries_it(
        client, auth, users, db, ready_setup):
    deployed_apply(db, ready_setup)
    auth.login("viewer")
    for tab in TABS:
        assert f'href="/pipelines/{ready_setup.id}" id="setup-pipeline-link"' in nav(
            page_of(client, f"/setups/{ready_setup.id}{tab}"))
    pipeline_nav = nav(page_of(client, f"/pipelines/{ready_setup.id}"))
    assert f'<a href="/pipelines/{ready_setup.id}" aria-current="page" id="setup-pipeline-link">Pipeline</a>' \
        in pipeline_nav and f'href="/setups/{ready_setup.id}/deployments"' in pipeline_nav


def test_a_new_setup_is_planned_from_its_overview(client, auth, users, ready_setup):
    auth.login("operator")
    page = page_of(client, f"/setups/{ready_setup.id}")
    assert "orders-api-deploy-dependencies" in text(section(page, "to-deploy")) and "Request the plan" in page
    assert glance(client, ready_setup.id, "deployed") == "Nothing yet: no apply has run."
    assert glance(client, ready_setup.id, "runs") == "Nothing runs now."
    assert glance(client, ready_setup.id, "waits") == "An operator requests the plan: nothing has been planned yet."


def test_a_draft_waits_for_its_wizard(client, auth, users, db, make_setup):
    setup = db.get(Setup, make_setup())
    setup.status, setup.wizard_step = "draft", "access"
    db.commit()
    auth.login("viewer")
    waits = glance(client, setup.id, "waits")
    assert waits == "An operator finishes the wizard's access step. Continue there"
    assert f'href="/setups/{setup.id}/access"' in page_of(client, f"/setups/{setup.id}")


def test_a_reviewable_plan_waits_for_an_operator_and_is_reviewed_on_deployments(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("viewer")
    assert glance(client, ready_setup.id, "waits") == (
        f"Plan #{plan.id} (3 of 3 stacks change) waits for an operator or an admin to review and apply it. Review it")
    overview = page_of(client, f"/setups/{ready_setup.id}")
    # The overview does not repeat the plan: its changes are on Deployments.
    assert "change-row" not in overview and f'href="/setups/{ready_setup.id}/deployments#plan"' in overview
    deployments = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert "change-row" in section(deployments, "plan") and f"Plan #{plan.id}" in deployments


def test_a_deployed_setup_shows_its_stacks_its_stages_and_who_decides(client, auth, users, db, ready_setup):
    applied = deployed_apply(db, ready_setup)
    seed_snapshot(db, ready_setup)  # an execution waits at the approval, staging deployed
    auth.login("viewer")
    deployed = glance(client, ready_setup.id, "deployed")
    assert "orders-api-deploy-dependencies in account 222222222222 (eu-west-1): CREATE_COMPLETE" in deployed
    assert f"orders-api-pipeline in account {f.BUILD} (eu-west-1): CREATE_COMPLETE as apply #{applied.id} recorded it" \
        in deployed
    assert "The staging stack: DeployStaging Succeeded with commit aaaaaaa “Add the orders endpoint”." in deployed
    assert "The production stack: not deployed by the pipeline yet (DeployProduction has not run)." in deployed
    assert re.search(r"Pipeline \(state as of 1\d s ago\)$", deployed)  # the snapshot was read 12 s before the page
    assert glance(client, ready_setup.id, "runs").startswith(
        "Pipeline execution 0f5e1c2a (commit aaaaaaa “Add the orders endpoint”) is InProgress. Watch it live")
    waits = glance(client, ready_setup.id, "waits")
    assert re.fullmatch(r"Approval pending for 2 h 10 min, expires in 6 d 21 h: an approver decides\. Pipeline", waits)


def test_a_failed_stage_waits_for_an_operator(client, auth, users, db, ready_setup):
    deployed_apply(db, ready_setup)
    seed_snapshot(db, ready_setup, build_status="Failed")
    auth.login("viewer")
    assert glance(client, ready_setup.id, "waits") == "Stage Build failed: an operator may retry it. Pipeline"
    assert glance(client, ready_setup.id, "runs") == "Nothing runs now."


def test_a_pipeline_never_read_is_unknown_not_idle(client, auth, users, db, ready_setup):
    deployed_apply(db, ready_setup)
    seed_snapshot(db, ready_setup, read=False)
    auth.login("viewer")
    assert "The application's stages: unknown, the pipeline has not been read yet." in glance(
        client, ready_setup.id, "deployed")


def test_a_self_launched_stack_waits_for_its_accounts_admin(client, auth, users, db, ready_setup):
    applied = f.add_apply(db, ready_setup, f.add_plan(db, ready_setup), status="waiting")
    applied.stacks[1].phase = "waiting"
    db.commit()
    auth.login("viewer")
    assert glance(client, ready_setup.id, "waits") == (
        "The admin of account 333333333333 launches stack orders-api-deploy-dependencies. Instructions")
    assert glance(client, ready_setup.id, "runs") == f"Apply #{applied.id} is waiting. Follow it"


def test_a_changed_setup_waits_for_a_new_plan(client, auth, users, db, ready_setup):
    deployed_apply(db, ready_setup)
    ready_setup.version += 1
    db.commit()
    auth.login("viewer")
    assert "The setup changed since apply" in glance(client, ready_setup.id, "waits")


def test_a_torn_down_setup_has_nothing_of_the_portals(client, auth, users, db, ready_setup):
    deployed_apply(db, ready_setup)
    teardown = f.add_operation(db, ready_setup, "teardown", "succeeded")
    db.commit()
    auth.login("viewer")
    assert glance(client, ready_setup.id, "deployed").startswith(
        f"Nothing of the portal's: teardown #{teardown.id} deleted its stacks at")


def test_settings_show_the_fields_and_only_editors_get_the_wizard_steps(client, auth, users, ready_setup):
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/settings")
    assert "Build 111111111111 Staging 222222222222 Production 333333333333 Region eu-west-1" in text(
        section(page, "settings-accounts"))
    assert "Greeting" in section(page, "settings-parameters") and 'class="steps"' not in page
    auth.logout()
    auth.login("operator")
    page = page_of(client, f"/setups/{ready_setup.id}/settings")
    assert f'href="/setups/{ready_setup.id}/application" data-goto="application">' in page


def test_deployments_list_the_operations_and_offer_the_teardown(client, auth, users, db, ready_setup):
    applied = deployed_apply(db, ready_setup)
    auth.login("operator")
    page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert f'href="/setups/{ready_setup.id}/operations/{applied.id}"' in section(page, "latest-change")
    assert re.search(rf'<table id="operations"[^>]*>.*>{applied.id}</a>', page, re.S)
    assert f'href="/setups/{ready_setup.id}/teardown"' in page
    # The applied plan's changes are history here: folded away, in full on the plan's own page.
    assert text(section(page, "plan-changes")).startswith("The changes as planned (3 stacks)")
    assert 'id="plan-changes"' not in page_of(client, f"/setups/{ready_setup.id}/operations/{applied.plan_id}")
    # The stacks a plan covers stay at hand, folded away, with the button for the next plan.
    assert "The 3 stacks a plan covers, in apply order" in text(section(page, "to-deploy")) and "Plan again" in page
