"""Small templates and helpers for worker tests that are not fixtures."""
from __future__ import annotations

import json
from typing import Any

from core.models import Setup
from tests.waiting import wait_for
from worker.templates import Template


def topics_template(*names: str, parameter: bool = False, padding: int = 0) -> Template:
    """A template of SNS topics (optionally a TopicSuffix parameter, optionally padded past a size)."""
    resources: dict[str, Any] = {}
    for name in names:
        props: dict[str, Any] = {"TopicName": {"Fn::Sub": f"{name.lower()}-${{TopicSuffix}}"}} if parameter else {}
        resources[name] = {"Type": "AWS::SNS::Topic", "Properties": props}
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources,
                            "Outputs": {f"{n}Arn": {"Value": {"Ref": n}} for n in names}}
    if parameter:
        body["Parameters"] = {"TopicSuffix": {"Type": "String"}}
    if padding:
        body["Description"] = "padding "  # CloudFormation caps Description; pad with Metadata instead
        body["Metadata"] = {"Padding": "x" * padding}
    return Template(name="topics.json", body=json.dumps(body, indent=1))


def wait_for_stack(cfn: Any, stack: str, timeout: float = 30.0) -> str:
    """Poll (in a test only) until the stack leaves *_IN_PROGRESS; return its status."""
    seen: list[str] = []

    def settled() -> str | None:
        seen.append(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
        return seen[-1] if not seen[-1].endswith("_IN_PROGRESS") or seen[-1] == "REVIEW_IN_PROGRESS" else None

    return wait_for(settled, timeout, f"{stack} to leave *_IN_PROGRESS", output=lambda: f"it is still {seen[-1]}")


def change_setup(factory: Any, setup_id: int, **fields: Any) -> None:
    """Change a setup's columns directly, as an edit between two operations would."""
    with factory() as session:
        setup = session.get(Setup, setup_id)
        for key, value in fields.items():
            setattr(setup, key, value)
        session.commit()
