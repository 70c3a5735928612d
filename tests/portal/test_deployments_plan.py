"""Reviewing a plan on the setup's page: what the worker stored, stack by stack, change by change."""
from __future__ import annotations

import html
import re

import pytest

from tests.portal import factories as f
from tests.portal.helpers import BUILD, PRODUCTION, STAGING


def page_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def section(page: str, element_id: str) -> str:
    """Return the HTML of the element with ``element_id`` up to its closing tag (sections do not nest here)."""
    match = re.search(rf'<(section|details)[^>]*id="{element_id}".*?</\1>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(0)


def text(fragment: str) -> str:
    """Return the words a reader sees: tags dropped, spaces collapsed, none before punctuation."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()
    return re.sub(r"\( ", "(", re.sub(r" ([,.:;)])", r"\1", words))


def test_lists_every_change_of_every_stack_with_account_region_and_role(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert "Plan #%d" % plan.id in page and '<span class="status status-succeeded" id="plan-status">' in page
    stacks = {r.account_id: text(section(page, f"plan-stack-{r.id}")) for r in plan.stacks}
    assert "orders-api-deploy-dependencies create deploy account 222222222222 · eu-west-1" in stacks[STAGING]
    assert "orders-api-deploy-dependencies create deploy account 333333333333 · eu-west-1" in stacks[PRODUCTION]
    assert "orders-api-pipeline create build account 111111111111 · eu-west-1" in stacks[BUILD]
    for change in f.DEPLOY_CHANGES:
        assert f"Add {change['logical_id']} {change['type']}" in stacks[STAGING]
    for change in f.BUILD_CHANGES:
        assert f"Add {change['logical_id']} {change['type']}" in stacks[BUILD]
    assert "4 changes: 4 to add." in stacks[BUILD]
    assert "3 of 3 stacks change. Nothing has been executed yet" in text(page)


def test_flags_replacements_of_an_update(client, auth, users, db, ready_setup):
    changes = [
        {"action": "Modify", "logical_id": "DeployRole", "physical_id": "orders-api-deploy-role",
         "type": "AWS::IAM::Role", "replacement": "True"},
        {"action": "Modify", "logical_id": "ArtifactReadPolicy", "physical_id": "p-1", "type": "AWS::IAM::Policy",
         "replacement": "Conditional"},
        {"action": "Modify", "logical_id": "CloudFormationExecutionRole", "physical_id": "r-1", "type": "AWS::IAM::Role",
         "replacement": "False"},
    ]
    plan = f.add_plan(db, ready_setup, staging={"action": "update", "change_set_type": "UPDATE",
                                                "stack_status": "UPDATE_COMPLETE", "changes": changes})
    db.commit()
    auth.login("viewer")
    stack = section(page_of(client, f"/setups/{ready_setup.id}/deployments"), f"plan-stack-{plan.stacks[0].id}")
    rows = re.findall(r'<tr class="change-row( replaced)?">(.*?)</tr>', stack, re.S)
    assert [(bool(flag), text(row)) for flag, row in rows] == [
        (True, "Modify DeployRole orders-api-deploy-role AWS::IAM::Role Replacement: True deleted and created anew"),
        (False, "Modify ArtifactReadPolicy p-1 AWS::IAM::Policy Replacement: Conditional may be replaced"),
        (False, "Modify CloudFormationExecutionRole r-1 AWS::IAM::Role no"),
    ]
    assert "3 changes: 3 to modify, 1 replaced, 1 may be replaced." in text(stack)
    assert "1 resource is replaced: it is deleted and created anew, with a new physical id." in text(stack)
    assert "The stack exists (UPDATE_COMPLETE): only the differences are listed." in text(stack)


def test_says_a_rolled_back_stack_will_be_deleted_and_recreated(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup, build={
        "action": "recreate", "stack_status": "ROLLBACK_COMPLETE",
        "status_reason": "orders-api-pipeline is ROLLBACK_COMPLETE (a failed creation left it empty): "
                         "apply deletes it and creates it again"})
    db.commit()
    auth.login("viewer")
    stack = text(section(page_of(client, f"/setups/{ready_setup.id}/deployments"), f"plan-stack-{plan.stacks[2].id}"))
    assert "orders-api-pipeline delete and recreate" in stack
    assert "This stack is in ROLLBACK_COMPLETE (a failed creation left it empty, and CloudFormation cannot update " \
           "it). Applying this plan deletes it and creates it again with every resource below." in stack


def test_collapses_unchanged_stacks_and_shows_only_the_differences(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup,
                      staging={"action": "unchanged", "changes": [], "stack_status": "CREATE_COMPLETE"},
                      production={"action": "unchanged", "changes": [], "stack_status": "CREATE_COMPLETE"},
                      build={"action": "update", "stack_status": "CREATE_COMPLETE", "changes": [
                          {"action": "Modify", "logical_id": "Pipeline", "physical_id": "orders-api-pipeline",
                           "type": "AWS::CodePipeline::Pipeline", "replacement": "False"}]})
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    for record in plan.stacks[:2]:
        unchanged = section(page, f"plan-stack-{record.id}")
        assert unchanged.startswith('<details class="stack stack-unchanged"') and " open" not in unchanged.split(">")[0]
        assert "up to date: nothing to apply" in text(unchanged) and "change-row" not in unchanged
    build = text(section(page, f"plan-stack-{plan.stacks[2].id}"))
    assert "1 change: 1 to modify." in build and "Modify Pipeline" in build
    assert "1 of 3 stacks changes." in text(page)


def test_an_up_to_date_setup_says_applying_changes_nothing(client, auth, users, db, ready_setup):
    unchanged = {"action": "unchanged", "changes": []}
    f.add_plan(db, ready_setup, staging=unchanged, production=unchanged, build=unchanged)
    db.commit()
    auth.login("operator")
    assert "Every stack is up to date: applying changes nothing." in text(page_of(client, f"/setups/{ready_setup.id}/deployments"))


def test_shows_the_quick_create_link_and_cli_command_of_a_self_launched_account(client, auth, users, db, ready_setup):
    launch = {"quick_create_url": "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1"
                                  "#/stacks/quickcreate?templateURL=https%3A%2F%2Fb.s3.amazonaws.com%2Fdeploy.yaml"
                                  "&stackName=orders-api-deploy-dependencies&param_BuildAccountId=111111111111",
              "template_url": "https://b.s3.amazonaws.com/deploy.yaml",
              "cli_command": "aws cloudformation deploy --region eu-west-1 --stack-name orders-api-deploy-dependencies "
                             "--template-file templates_cfn/deploy-dependencies.yaml --capabilities CAPABILITY_IAM "
                             "CAPABILITY_NAMED_IAM --parameter-overrides ApplicationName=orders-api "
                             "BuildAccountId=111111111111 BuildRegion=eu-west-1"}
    plan = f.add_plan(db, ready_setup, production={"action": "self_launch", "detail": launch})
    db.commit()
    auth.login("viewer")
    stack = section(page_of(client, f"/setups/{ready_setup.id}/deployments"), f"plan-stack-{plan.stacks[1].id}")
    assert "launched by the account&#39;s admin" in stack or "launched by the account's admin" in stack
    assert f'href="{launch["quick_create_url"]}"' in stack
    assert f"<code>{launch['quick_create_url']}</code>" in stack
    assert f"<code>{launch['cli_command']}</code>" in stack
    assert "After you apply, the worker waits for it." in text(stack)


def test_a_self_launch_without_published_templates_offers_the_cli_command_only(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup, production={"action": "self_launch", "detail": {"cli_command": "aws x"}})
    db.commit()
    auth.login("viewer")
    stack = text(section(page_of(client, f"/setups/{ready_setup.id}/deployments"), f"plan-stack-{plan.stacks[1].id}"))
    assert "No quick-create link: the templates are not published" in stack and "aws x" in stack


@pytest.mark.parametrize("status, message", [
    ("pending", "Waiting for a worker to pick the plan up."),
    ("running", "A worker is creating one change set per stack."),
])
def test_an_unfinished_plan_says_nothing_runs_and_is_watched(client, auth, users, db, ready_setup, status, message):
    plan = f.add_plan(db, ready_setup, status=status)
    db.commit()
    auth.login("operator")
    page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert message in text(page) and "Apply this plan" not in page
    assert (f'data-watch data-status="{status}" data-events-url="/setups/{ready_setup.id}/operations/{plan.id}/events"'
            in re.sub(r"\s+", " ", page))


def test_a_failed_plan_shows_its_error_and_no_apply_button(client, auth, users, db, ready_setup):
    f.add_plan(db, ready_setup, status="failed", error="cannot assume OrganizationAccountAccessRole in 222222222222")
    db.commit()
    auth.login("operator")
    page = text(page_of(client, f"/setups/{ready_setup.id}/deployments"))
    assert "The plan failed: cannot assume OrganizationAccountAccessRole in 222222222222" in page
    assert "Apply this plan" not in page and "Plan again" in page


@pytest.mark.parametrize("role, can_apply", [("admin", True), ("operator", True), ("approver", False),
                                             ("viewer", False)])
def test_only_operators_and_admins_get_the_apply_button(client, auth, users, db, ready_setup, role, can_apply):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login(role)
    page = page_of(client, f"/setups/{ready_setup.id}/deployments")
    assert (f'action="/setups/{ready_setup.id}/plans/{plan.id}/apply"' in page) is can_apply
    assert ("An operator or an admin can apply this plan." in page) is not can_apply


def test_the_plan_has_its_own_page_too(client, auth, users, db, ready_setup):
    plan = f.add_plan(db, ready_setup)
    db.commit()
    auth.login("viewer")
    page = page_of(client, f"/setups/{ready_setup.id}/operations/{plan.id}")
    assert "<h1>Plan #%d</h1>" % plan.id in page
    assert all(f"plan-stack-{record.id}" in page for record in plan.stacks)
    assert "data-live" not in page  # a finished plan is not polled
