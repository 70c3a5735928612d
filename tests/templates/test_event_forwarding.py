"""The event path of the templates: deploy accounts forward their stacks' events to the build
account's bus, which fills one queue; policies name exactly the senders, whatever the account layout."""
from __future__ import annotations

import pytest

from .scenario import APP, REGION, pipeline_parameters
from .test_policies import ACCOUNT_LAYOUTS, render_setup

RULE_TYPES = ["CloudFormation Stack Status Change", "CloudFormation Resource Status Change"]


def _stack_prefixes(account, *names):
    return [{"prefix": f"arn:aws:cloudformation:{REGION}:{account}:stack/{APP}-{name}/"} for name in names]


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS.values(), ids=ACCOUNT_LAYOUTS.keys())
def test_deploy_accounts_forward_only_their_application_stacks_to_the_build_bus(deploy_dependencies,
                                                                                build_pipeline, layout):
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, *layout)
    bus_arn = pipeline_stack.outputs["EventBusArn"]
    assert bus_arn == f"arn:aws:events:{REGION}:{layout[0]}:event-bus/{APP}-events"
    for account, stack in deploy_stacks.items():
        rule = stack.resources["StackEventsRule"]["Properties"]
        assert rule["EventPattern"] == {
            "source": ["aws.cloudformation"], "detail-type": RULE_TYPES,
            "detail": {"stack-id": _stack_prefixes(account, "deploy-dependencies", "staging", "production")}}
        [target] = rule["Targets"]
        assert target["Arn"] == bus_arn
        assert target["RoleArn"] == stack.attribute("EventForwardingRole", "Arn")
        role = stack.resources["EventForwardingRole"]["Properties"]
        [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
        assert (statement["Action"], statement["Resource"]) == ("events:PutEvents", bus_arn)


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS.values(), ids=ACCOUNT_LAYOUTS.keys())
def test_the_bus_policy_names_exactly_the_deploy_accounts_forwarding_roles(deploy_dependencies, build_pipeline,
                                                                           layout):
    deploy_stacks, pipeline_stack = render_setup(deploy_dependencies, build_pipeline, *layout)
    policy = pipeline_stack.resources["EventBusPolicy"]["Properties"]
    statement = policy["Statement"]
    deploy_accounts = list(dict.fromkeys(layout[1:]))
    principals = statement["Principal"]["AWS"]
    assert sorted(principals if isinstance(principals, list) else [principals]) == sorted(
        f"arn:aws:iam::{a}:root" for a in deploy_accounts)
    roles = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert sorted(roles if isinstance(roles, list) else [roles]) == sorted(
        stack.attribute("EventForwardingRole", "Arn") for stack in deploy_stacks.values())
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow", "events:PutEvents", pipeline_stack.outputs["EventBusArn"])
    assert policy["EventBusName"] == f"{APP}-events"


def test_the_build_account_forwards_the_pipeline_stack_and_the_pipeline(render_pipeline):
    stack = render_pipeline(**pipeline_parameters())
    build = stack.account_id
    stacks = stack.resources["StackEventsRule"]["Properties"]["EventPattern"]
    assert stacks["detail"] == {"stack-id": _stack_prefixes(build, "pipeline")}
    pipeline = stack.resources["PipelineEventsRule"]["Properties"]["EventPattern"]
    assert pipeline["resources"] == [f"arn:aws:codepipeline:{REGION}:{build}:{APP}-pipeline"]
    assert pipeline["source"] == ["aws.codepipeline"]
    for rule in ("StackEventsRule", "PipelineEventsRule"):
        [target] = stack.resources[rule]["Properties"]["Targets"]
        assert target["Arn"] == stack.outputs["EventBusArn"]


def test_only_the_bus_s_rule_may_fill_the_encrypted_queue(render_pipeline):
    stack = render_pipeline(**pipeline_parameters())
    queue = stack.resources["EventQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    rule = stack.resources["EventQueueRule"]["Properties"]
    assert rule["EventBusName"] == f"{APP}-events"
    assert rule["Targets"] == [{"Id": "event-queue", "Arn": stack.outputs["EventQueueArn"]}]
    allow, deny = stack.resources["EventQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": stack.attribute("EventQueueRule", "Arn")}}
    assert stack.attribute("EventQueueRule", "Arn").startswith(f"arn:aws:events:{REGION}:{stack.account_id}:rule/{APP}-events/")
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert stack.outputs["EventQueueUrl"].endswith(f"/{stack.account_id}/{APP}-events")
