"""One run of a CloudFormation deploy action: its work in a thread, its outcome for the engine.

The work is what CodePipeline does for the action: assume the action's role from the pipeline
role's session (``access``), read the input artifacts as that role (``artifacts``), then call
CloudFormation in the role's account over the emulator's own HTTP API, signed with the role's
credentials, so the stack is made exactly as a client's would be (capabilities, transforms,
pacing, injected failures). Like CodePipeline it polls the stack or change set until it settles,
then reports success or CloudFormation's reason, and wakes the engine.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.cfn_action import artifacts, configuration
from emulator.cfn_action.access import ActionError, ActionSession, assume_action_role, pipeline_session
from emulator.codepipeline.jobs import JobContext, Outcome
from emulator.state import STATE

logger = logging.getLogger(__name__)

# The change set CloudFormation refuses to make (FAILED) when nothing would change: CodePipeline
# counts it as done, as it counts "No updates are to be performed." for a stack.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# The states REPLACE_ON_FAILURE deletes and creates again (the action reference's list, and
# ROLLBACK_COMPLETE, a create that failed, which CloudFormation cannot update either).
REPLACEABLE = {"ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "CREATE_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
OPERATION_STARTS = {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"}
MODES = ("CREATE_UPDATE", "CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE", "DELETE_ONLY", "REPLACE_ON_FAILURE")


class Abandoned(Exception):
    """StopPipelineExecution abandoned the action while it waited."""


class DeployJob:
    """The engine's ``Job`` for one action run (``emulator.codepipeline.jobs``)."""

    def __init__(self, context: JobContext, pipeline_role_arn: str, endpoint: str) -> None:
        self.context = context
        self.pipeline_role_arn = pipeline_role_arn
        self.endpoint = endpoint
        self.stack_name = context.configuration.get("StackName", "")
        self._result: Outcome | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._archives: dict[str, bytes] = {}
        self.session: ActionSession | None = None
        self.cfn: Any = None
        self._thread = threading.Thread(target=self._run, name=f"deploy-{self.stack_name}", daemon=True)

    def start(self) -> DeployJob:
        self._thread.start()
        return self

    def outcome(self) -> Outcome | None:
        with self._lock:
            return self._result

    def abandon(self) -> None:
        self._stopped.set()

    # ---- the work ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            outcome = self._work()
        except ActionError as err:
            outcome = Outcome(False, time.time(), err.message, err.code)
        except Abandoned:
            outcome = Outcome(False, time.time(), "Abandoned")
        except Exception as err:  # noqa: BLE001 - the action must end, and say why
            logger.exception("deploy action %s/%s of %s crashed", self.context.run.stage_name,
                             self.context.run.name, self.context.pipeline_name)
            outcome = Outcome(False, time.time(), f"The emulator's CloudFormation action failed: {err!r}")
        logger.info("deploy action %s/%s (%s, stack %s): %s%s", self.context.run.stage_name, self.context.run.name,
                    self.context.configuration.get("ActionMode"), self.stack_name,
                    "succeeded" if outcome.succeeded else "failed",
                    f": {outcome.summary}" if outcome.summary else "")
        with self._lock:
            self._result = outcome
        self.context.wake()  # without our lock: the engine takes its own and asks for the outcome

    def _work(self) -> Outcome:
        config = self.context.configuration
        mode = config.get("ActionMode", "")
        if mode not in MODES:
            raise ActionError(f"ActionMode {mode!r} is not one of {', '.join(MODES)}.", "ConfigurationError")
        if not self.stack_name:
            raise ActionError("StackName is required.", "ConfigurationError")
        session = pipeline_session(self.pipeline_role_arn, self.context.region)
        if self.context.run.declaration.get("roleArn"):
            session = assume_action_role(session, str(self.context.run.declaration["roleArn"]), self.context.region)
        self.session = session
        # A session of its own: boto3's default session is not safe to share between threads.
        self.cfn = boto3.session.Session().client(
            "cloudformation", endpoint_url=self.endpoint, region_name=self.context.region,
            config=Config(retries={"mode": "standard", "max_attempts": 10}), **session.credentials)
        steps: dict[str, Callable[[], Outcome]] = {
            "CREATE_UPDATE": self._create_update, "REPLACE_ON_FAILURE": self._replace_on_failure,
            "CHANGE_SET_REPLACE": self._change_set_replace, "CHANGE_SET_EXECUTE": self._change_set_execute,
            "DELETE_ONLY": self._delete_only,
        }
        return steps[mode]()

    def _read(self, artifact_name: str, path: str) -> bytes:
        if artifact_name not in self._archives:
            artifact = next(a for a in self.context.inputs if a.name == artifact_name)
            assert self.session is not None  # set before any artifact is read
            self._archives[artifact_name] = artifacts.read(artifact, self.session.caller, self.context.account_id,
                                                           self.context.region)
        return artifacts.member(self._archives[artifact_name], artifact_name, path)

    def _stack_input(self) -> configuration.StackInput:
        return configuration.stack_input(self.context.configuration, [a.name for a in self.context.inputs],
                                         self._read)

    def _stack_arguments(self, given: configuration.StackInput) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "StackName": self.stack_name, "TemplateBody": given.template,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in given.parameters.items()],
            "Capabilities": configuration.capabilities(self.context.configuration),
            "Tags": [{"Key": k, "Value": v} for k, v in given.tags.items()],
        }
        if self.context.configuration.get("RoleArn"):
            arguments["RoleARN"] = self.context.configuration["RoleArn"]
        return arguments

    # ---- action modes --------------------------------------------------------------------
    def _create_update(self) -> Outcome:
        given = self._stack_input()
        arguments = self._stack_arguments(given)
        if given.stack_policy:
            arguments["StackPolicyBody"] = given.stack_policy
        stack = self._describe_stack()
        if stack is None:
            self._call("create_stack", **arguments)
        else:
            try:
                self._call("update_stack", **arguments)
            except ActionError as err:
                if not any(phrase in err.message for phrase in NO_CHANGES):
                    raise
                return self._stack_succeeded(stack, "No updates are to be performed.")
        return self._stack_result(self._wait_for_stack())

    def _replace_on_failure(self) -> Outcome:
        stack = self._describe_stack()
        if stack is not None and stack["StackStatus"] in REPLACEABLE:
            self._call("delete_stack", StackName=self.stack_name)
            gone = self._wait_for_stack()
            if gone is not None:
                return self._stack_result(gone)
        return self._create_update()

    def _change_set_replace(self) -> Outcome:
        name = self._change_set_name()
        given = self._stack_input()
        stack = self._describe_stack()
        # A stack that only has change sets so far (REVIEW_IN_PROGRESS) is still created by one.
        change_set_type = "CREATE" if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS" else "UPDATE"
        if stack is not None:
            try:
                self._call("delete_change_set", ChangeSetName=name, StackName=self.stack_name)
            except ActionError as err:
                if "does not exist" not in err.message:
                    raise
        self._call("create_change_set", ChangeSetName=name, ChangeSetType=change_set_type,
                   **self._stack_arguments(given))
        change_set = self._wait(lambda: self._call("describe_change_set", ChangeSetName=name,
                                                   StackName=self.stack_name),
                                lambda cs: cs["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"))
        reason = change_set.get("StatusReason") or ""
        if change_set["Status"] == "CREATE_COMPLETE" or any(phrase in reason for phrase in NO_CHANGES):
            return Outcome(True, time.time(), reason or None)
        raise ActionError(f"Change set {name} of stack {self.stack_name} failed: {reason or change_set['Status']}")

    def _change_set_execute(self) -> Outcome:
        name = self._change_set_name()
        change_set = self._call("describe_change_set", ChangeSetName=name, StackName=self.stack_name)
        reason = change_set.get("StatusReason") or ""
        if change_set["Status"] == "FAILED" and any(phrase in reason for phrase in NO_CHANGES):
            stack = self._describe_stack()
            return self._stack_succeeded(stack or {}, "No changes to execute: " + reason)
        self._call("execute_change_set", ChangeSetName=name, StackName=self.stack_name)
        return self._stack_result(self._wait_for_stack())

    def _delete_only(self) -> Outcome:
        if self._describe_stack() is None:
            return Outcome(True, time.time(), f"Stack {self.stack_name} does not exist; nothing to delete.")
        arguments = {"StackName": self.stack_name}
        if self.context.configuration.get("RoleArn"):
            arguments["RoleARN"] = self.context.configuration["RoleArn"]
        self._call("delete_stack", **arguments)
        stack = self._wait_for_stack()
        if stack is None:
            return Outcome(True, time.time())
        return self._stack_result(stack)

    def _change_set_name(self) -> str:
        name = self.context.configuration.get("ChangeSetName", "")
        if not name:
            raise ActionError("ChangeSetName is required for this action mode.", "ConfigurationError")
        return name

    # ---- CloudFormation --------------------------------------------------------------------
    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        """One CloudFormation call; its error becomes the action's failure, in CloudFormation's words."""
        try:
            return dict(getattr(self.cfn, operation)(**arguments))
        except ClientError as err:
            raise ActionError(str(err.response.get("Error", {}).get("Message") or err)) from err

    def _describe_stack(self) -> dict[str, Any] | None:
        try:
            return dict(self.cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0])
        except ClientError as err:
            if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
                return None
            raise ActionError(str(err.response["Error"].get("Message") or err)) from err

    def _wait(self, read: Callable[[], Any], settled: Callable[[Any], bool]) -> Any:
        """Poll ``read`` until ``settled``, as CodePipeline polls CloudFormation."""
        while True:
            value = read()
            if settled(value):
                return value
            # A step of a stack takes STATE.pace seconds; polling twice a step shows each soon enough.
            if self._stopped.wait(min(max(STATE.pace / 2, 0.05), 1.0)):
                raise Abandoned()

    def _wait_for_stack(self) -> dict[str, Any] | None:
        """The stack once no operation runs on it; None once it is deleted."""
        return self._wait(self._describe_stack,
                          lambda s: s is None or not s["StackStatus"].endswith("_IN_PROGRESS")
                          or s["StackStatus"] == "REVIEW_IN_PROGRESS")

    def _stack_result(self, stack: dict[str, Any] | None) -> Outcome:
        if stack is None:
            return Outcome(True, time.time())
        if stack["StackStatus"] in SUCCEEDED:
            return self._stack_succeeded(stack)
        raise ActionError(self._failure_reason(stack))

    def _stack_succeeded(self, stack: dict[str, Any], summary: str | None = None) -> Outcome:
        outputs = {o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs") or []}
        file_name = self.context.configuration.get("OutputFileName")
        if file_name and self.context.outputs:
            artifacts.write_outputs(self.context.outputs[0], file_name, outputs, self.context.account_id,
                                    self.context.region)
        return Outcome(True, time.time(), summary, output_variables=outputs)

    def _failure_reason(self, stack: dict[str, Any]) -> str:
        """The stack's final status and its latest operation's first failed resource, as CodePipeline
        reports a failed stack when the action role may call DescribeStackEvents."""
        status = stack["StackStatus"]
        events: list[dict[str, Any]] = []
        for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=stack["StackId"]):
            events.extend(page["StackEvents"])
        events.reverse()  # oldest first
        starts = [i for i, e in enumerate(events) if e["ResourceType"] == "AWS::CloudFormation::Stack"
                  and e["ResourceStatus"] in OPERATION_STARTS]
        latest = events[starts[-1]:] if starts else events
        failed = next((e for e in latest if e["ResourceStatus"].endswith("_FAILED")
                       and e["ResourceType"] != "AWS::CloudFormation::Stack"), None)
        if failed is None:
            reason = stack.get("StackStatusReason")
            return f"Stack {self.stack_name} is in {status} state" + (f": {reason}" if reason else ".")
        return (f"Stack {self.stack_name} is in {status} state. The first resource to fail was "
                f"{failed['LogicalResourceId']} ({failed['ResourceType']}), {failed['ResourceStatus']}: "
                f"{failed.get('ResourceStatusReason') or 'no reason given'}")
