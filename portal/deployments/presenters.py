"""How operations, stacks, changes and events are shown: plain values shared by the pages and the API.

Everything here reads what the worker stored (worker/plan.py, apply.py, orchestrate.py, events.py,
teardown.py);
nothing is computed from AWS, so the page and the API say exactly what the worker saw.
"""
from __future__ import annotations

import json
import shlex
from collections import Counter
from typing import Any

from core.models import Operation, OperationKind, OperationStatus, Setup, SourceProvider, StackEvent, StackRecord
from core.models.operations import StackAction, StackPhase, StackRole
from core.times import as_utc, iso

ACTIONS = {
    StackAction.CREATE: "create",
    StackAction.UPDATE: "update",
    StackAction.RECREATE: "delete and recreate",
    StackAction.UNCHANGED: "unchanged",
    StackAction.SELF_LAUNCH: "launched by the account's admin",
    StackAction.DELETE: "delete",
    StackAction.ABSENT: "nothing to delete",
}
ROLES = {StackRole.DEPLOY: "deploy account", StackRole.BUILD: "build account"}
PHASES = {
    StackPhase.PENDING: "not started",
    StackPhase.CHANGE_SET: "preparing its change set",
    StackPhase.DELETING: "deleting",
    StackPhase.EXECUTING: "deploying",
    StackPhase.WAITING: "waiting for the account's admin",
    StackPhase.DONE: "done",
    StackPhase.FAILED: "failed",
}
# Keys of Operation.detail the worker's apply summary writes (worker/apply.py summarise).
RESULT_KEYS = ("outputs", "git_commands", "pipeline_name", "pipeline_console_url")
LAUNCH_KEYS = ("quick_create_url", "template_url", "cli_command")
# Keys of a stack the teardown leaves in another region (worker/teardown.py _left_entry).
LEFT_KEYS = ("role", "account_id", "region", "stack_name", "cli_command", "artifact_bucket")
ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
# How a stack's events are listed: newest first, as the AWS console does, unless asked otherwise.
EVENT_ORDERS = ("newest", "oldest")


def ordered(events: list[StackEvent], order: str) -> list[StackEvent]:
    """The events in id order (the order the worker stored them), newest first unless ``order`` is oldest."""
    oldest_first = sorted(events, key=lambda event: event.id)
    return oldest_first if order == "oldest" else oldest_first[::-1]


def clock(moment) -> str:
    moment = as_utc(moment)
    return moment.strftime("%H:%M:%S UTC") if moment else ""


def timeline(operation: Operation) -> dict[str, str]:
    """When the operation started and finished, in words that cannot contradict each other or its status."""
    terminal = is_terminal(operation)
    started = clock(operation.started_at)
    finished = clock(operation.finished_at)
    if not started and not terminal:
        started = "not yet"
    elif not started:
        # A request may fail or be cancelled before any worker takes it up (e.g. the broker was down).
        ended_early = operation.status in (OperationStatus.FAILED.value, OperationStatus.CANCELLED.value)
        started = "never: it ended before a worker took it up" if ended_early else "not recorded"
    if not finished:
        finished = "not recorded" if terminal else "not yet"
    return {"started": started, "finished": finished}


def is_terminal(operation: Operation) -> bool:
    try:
        return OperationStatus(operation.status).is_terminal
    except ValueError:
        return True  # an unknown status will not change by waiting for it


def tone(status: str) -> str:
    """Reduce a CloudFormation status to how it should look: ok, bad, busy or plain."""
    if not status:
        return ""
    if "FAILED" in status or "ROLLBACK" in status:
        return "bad"
    if status.endswith("_IN_PROGRESS"):
        return "busy"
    if status.endswith("_COMPLETE"):
        return "ok"
    return ""


def replacement(change: dict[str, Any]) -> str:
    """CloudFormation says True, False or Conditional; anything else counts as no replacement."""
    value = str(change.get("replacement") or "")
    return value if value in ("True", "Conditional") else ""


def change_counts(changes: list[dict[str, Any]]) -> dict[str, int]:
    """Count the changes by action (Add, Modify, Remove...) and how many replace their resource."""
    counts = Counter(str(change.get("action") or "") for change in changes)
    return {"add": counts["Add"], "modify": counts["Modify"], "remove": counts["Remove"],
            "import": counts["Import"], "dynamic": counts["Dynamic"],
            "replace": sum(1 for change in changes if replacement(change) == "True"),
            "maybe_replace": sum(1 for change in changes if replacement(change) == "Conditional")}


def describe_counts(counts: dict[str, int]) -> str:
    words = (("add", "to add"), ("modify", "to modify"), ("remove", "to remove"), ("import", "to import"),
             ("dynamic", "decided at deploy time"), ("replace", "replaced"), ("maybe_replace", "may be replaced"))
    parts = [f"{counts[key]} {label}" for key, label in words if counts.get(key)]
    return ", ".join(parts) or "no resource changes"


def launch(record: StackRecord) -> dict[str, str]:
    """The self-launch instructions the worker stored for an account's admin."""
    return {key: str(record.detail.get(key, "")) for key in LAUNCH_KEYS if record.detail.get(key)}


def change_json(change: dict[str, Any]) -> dict[str, Any]:
    return {"action": str(change.get("action") or ""), "logical_id": str(change.get("logical_id") or ""),
            "physical_id": str(change.get("physical_id") or ""), "type": str(change.get("type") or ""),
            "replacement": str(change.get("replacement") or "")}


def stack_state(record: StackRecord) -> dict[str, Any]:
    """What changes while a stack runs: the live page updates these."""
    return {"id": record.id, "account_id": record.account_id, "region": record.region,
            "stack_name": record.stack_name, "role": record.role, "action": record.action, "phase": record.phase,
            "stack_status": record.stack_status, "status_reason": record.status_reason}


def stack_json(record: StackRecord, console_urls: dict[str, str]) -> dict[str, Any]:
    return {**stack_state(record), "stack_id": record.stack_id, "change_set_name": record.change_set_name,
            "change_set_type": record.change_set_type, "changes": [change_json(c) for c in record.changes or []],
            "parameters": dict(record.parameters or {}), "outputs": dict(record.outputs or {}),
            "launch": launch(record), "console_url": console_urls.get(stack_key(record), ""),
            "emptied_bucket": str(record.detail.get("emptied_bucket", "")), **teardown_help(record)}


def teardown_help(record: StackRecord) -> dict[str, Any]:
    """What a teardown says about a stack it cannot delete itself, and how it reached its account."""
    detail = record.detail or {}
    tearing_down = record.operation is not None and record.operation.kind == OperationKind.TEARDOWN.value
    unreachable = str(detail.get("unreachable") or "")
    return {
        "unreachable": unreachable,
        "unreachable_reason": str(detail.get("unreachable_reason") or unreachable),
        # In a teardown the worker's command is the delete; in a plan or apply it is a launch (see launch()).
        "delete_command": str(detail.get("cli_command") or "") if tearing_down else "",
        "artifact_bucket": str(detail.get("artifact_bucket") or "") if unreachable else "",
        "access_from_apply": bool(detail.get("access_from_apply")) if tearing_down else False,
    }


def left_in_other_regions(operation: Operation) -> list[dict[str, str]]:
    """The stacks a teardown left in regions the setup moved away from, each with its delete command."""
    entries = (operation.detail or {}).get("left_in_other_regions")
    if not isinstance(entries, list):
        return []
    return [{key: str(entry.get(key) or "") for key in LEFT_KEYS} for entry in entries if isinstance(entry, dict)]


def stranded(operation: Operation) -> list[StackRecord]:
    """The teardown's stacks the worker cannot reach and that are not gone: their admins finish the job."""
    return [record for record in operation.stacks
            if (record.detail or {}).get("unreachable") and record.phase != StackPhase.DONE.value]


def stack_key(record: StackRecord) -> str:
    return f"{record.account_id}/{record.stack_name}"


def console_urls(operation: Operation) -> dict[str, str]:
    stacks = operation.detail.get("stacks")
    if not isinstance(stacks, dict):
        return {}
    return {key: str(value.get("console_url") or "") for key, value in stacks.items()
            if isinstance(value, dict) and value.get("console_url")}


def result(operation: Operation) -> dict[str, Any]:
    """The apply's outputs, git commands and links, as the worker summarised them (empty until then)."""
    detail = operation.detail or {}
    outputs = detail.get("outputs") if isinstance(detail.get("outputs"), dict) else {}
    commands = detail.get("git_commands") if isinstance(detail.get("git_commands"), list) else []
    return {"outputs": {str(k): str(v) for k, v in outputs.items()}, "git_commands": [str(c) for c in commands],
            "pipeline_name": str(detail.get("pipeline_name") or ""),
            "pipeline_console_url": str(detail.get("pipeline_console_url") or ""),
            "stack_console_urls": console_urls(operation)}


def push_command(emulator_url: str, push: dict[str, str]) -> str:
    """The emulator's stand-in for a git push, as a command to copy (docs/contracts.md, POST /_emulator/push)."""
    body = json.dumps(push, separators=(",", ":"))
    return shlex.join(["curl", "-sS", "-X", "POST", f"{emulator_url}/_emulator/push",
                       "-H", "Content-Type: application/json", "--data", body])


def handover(operation: Operation, setup: Setup, emulator_url: str) -> dict[str, Any]:
    """How to push and where to look after an apply, for where the portal runs: AWS or the local emulator.

    The git commands are the worker's (worker/links.py git_commands). Against the emulator they name
    the stack's clone URL, which the emulator's own git server answers, and no console links lead
    anywhere; GitHub is not emulated, so for a GitHub source the emulator's push shortcut stands in
    for the push (it also serves anyone without a checkout at hand).
    """
    found = result(operation)
    outputs = found["outputs"]
    github = setup.source_provider == SourceProvider.GITHUB.value
    repository = setup.full_repository_id if github else outputs.get("RepositoryName", "")
    commands = found["git_commands"]
    needs_remote_helper = any("codecommit::" in command for command in commands)
    common = {"repository": repository, "branch": setup.branch, "account_id": setup.build_account_id or "",
              "clone_url": outputs.get("RepositoryCloneUrlHttp", "")}
    if not emulator_url:
        return {**common, "mode": "aws", "clone_url_ssh": outputs.get("RepositoryCloneUrlSsh", ""),
                "git_commands": commands, "needs_remote_helper": needs_remote_helper}
    push = {"repository": repository, "branch": setup.branch, "account_id": setup.build_account_id or "",
            "region": setup.region or "", "message": "Pushed with the portal's command"}
    # A codecommit:: remote (an apply recorded before the worker knew the emulator's host) cannot reach it.
    pushable = not github and not needs_remote_helper
    return {**common, "mode": "emulator", "emulator_url": emulator_url, "github": github,
            "git_commands": commands if pushable else [],
            "push_command": push_command(emulator_url, push) if repository else ""}


def root_cause(operation: Operation) -> dict[str, str]:
    cause = operation.root_cause if isinstance(operation.root_cause, dict) else {}
    return {str(key): str(value) for key, value in cause.items()}


def event_json(event: StackEvent) -> dict[str, Any]:
    return {"id": event.id, "stack": event.stack_record_id, "timestamp": iso(event.timestamp),
            "logical_id": event.logical_id, "physical_id": event.physical_id, "type": event.resource_type,
            "status": event.status, "reason": event.reason}


def summary_json(operation: Operation) -> dict[str, Any]:
    return {"id": operation.id, "setup_id": operation.setup_id, "kind": operation.kind, "status": operation.status,
            "requested_by": operation.requested_by, "created_at": iso(operation.created_at),
            "started_at": iso(operation.started_at), "finished_at": iso(operation.finished_at),
            "error": operation.error, "plan_id": operation.plan_id}


def detail_json(operation: Operation) -> dict[str, Any]:
    """The operation with its stacks (and every planned change), root cause and results."""
    urls = console_urls(operation)
    return {**summary_json(operation), "root_cause": root_cause(operation), "result": result(operation),
            "stacks": [stack_json(record, urls) for record in operation.stacks],
            "left_in_other_regions": left_in_other_regions(operation)}


def events_json(operation: Operation, events: list[StackEvent], next_after: int) -> dict[str, Any]:
    """One read of the live view: the operation's status, its stacks' states and the new events."""
    return {"operation": {**summary_json(operation), "terminal": is_terminal(operation)},
            "stacks": [stack_state(record) for record in operation.stacks],
            "events": [event_json(event) for event in events], "next_after": next_after}


def recreated_stacks(operation: Operation) -> list[StackRecord]:
    """The stacks a failed creation left in ROLLBACK_COMPLETE: the next apply deletes and recreates them."""
    return [record for record in operation.stacks if record.stack_status == ROLLBACK_COMPLETE]
