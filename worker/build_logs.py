"""The tail of a failed build's log, read once per build and kept inside its action in the snapshot.

A failed Build action of the newest execution names its build (``externalExecutionId``, the build
id). ``BatchGetBuilds`` tells where CodeBuild wrote the log (``logs.groupName``/``streamName``) and
``GetLogEvents`` (``startFromHead=False``) gives its last lines, both through the build account's
session. A build that ended does not write more, so a tail read is copied from the previous
snapshot by build id at every later read rather than read again: two calls per failed build, not
per refresh or viewer. Only a throttled read is tried again at the next refresh; a refusal (access
denied, no such stream) is what AWS will keep answering, and the page shows it.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

from botocore.exceptions import BotoCoreError, ClientError

from core import pipelines
from core.models import utcnow
from core.times import iso
from worker import aws_errors
from worker.sessions import AccessError

logger = logging.getLogger(__name__)

TAIL_LINES = 50
LINE_CHARS = 500
TAIL_BYTES = 16 * 1024
ELLIPSIS = "…"

Clients = Callable[[str], Any]  # service name -> client in the build account


def is_build_action(stage: dict[str, Any], action: dict[str, Any]) -> bool:
    """A CodeBuild action: GetPipelineState names no provider, but its entityUrl is CodeBuild's project page,
    and the contract's build action is one."""
    contract = stage.get("name") == pipelines.BUILD and action.get("name") in pipelines.ACTIONS[pipelines.BUILD]
    return contract or "/codebuild/" in (action.get("entity_url") or "")


def failed_builds(stages: list[dict[str, Any]], execution_id: str | None) -> Iterator[dict[str, Any]]:
    """The failed build actions of ``execution_id`` (the newest execution) that name their build."""
    for stage in stages:
        if execution_id is None or stage.get("execution_id") != execution_id:
            continue
        for action in stage.get("actions", []):
            if action.get("status") == "Failed" and action.get("external_id") and is_build_action(stage, action):
                yield action


def known_tails(stages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Build id -> the tail already read of it (a throttled read excepted: that one is tried again)."""
    return {a["external_id"]: a["log_tail"] for s in stages for a in s.get("actions", [])
            if a.get("log_tail") and a.get("external_id") and not a["log_tail"].get("retry")}


def attach_tails(stages: list[dict[str, Any]], previous: list[dict[str, Any]], execution_id: str | None,
                 clients: Clients) -> int:
    """Give each failed build action of the newest execution its ``log_tail``; return how many were read now."""
    known = known_tails(previous)
    read = 0
    for action in failed_builds(stages, execution_id):
        tail = known.get(action["external_id"])
        if tail is None:
            tail = read_tail(clients, action["external_id"])
            read += 1
        action["log_tail"] = tail
    return read


def read_tail(clients: Clients, build_id: str) -> dict[str, Any]:
    """The last lines of ``build_id``'s log, or why they could not be read (never raises for AWS's answers)."""
    tail: dict[str, Any] = {"build_id": build_id, "lines": [], "group": "", "stream": "", "deep_link": "",
                            "error": "", "read_at": iso(utcnow())}
    try:
        builds = clients("codebuild").batch_get_builds(ids=[build_id]).get("builds") or []
        if not builds:
            tail["error"] = f"log not readable: CodeBuild knows no build {build_id}"
            return tail
        logs = builds[0].get("logs") or {}
        tail.update(group=logs.get("groupName") or "", stream=logs.get("streamName") or "",
                    deep_link=logs.get("deepLink") or "")
        if not tail["group"] or not tail["stream"]:
            tail["error"] = "log not readable: the build wrote no CloudWatch Logs stream"
            return tail
        events = clients("logs").get_log_events(logGroupName=tail["group"], logStreamName=tail["stream"],
                                                startFromHead=False, limit=TAIL_LINES).get("events") or []
    except ClientError as err:
        logger.warning("reading the log of build %s failed: %s", build_id, err)
        tail["error"] = f"log not readable: {aws_errors.error_message(err) or err}"
        tail["retry"] = aws_errors.is_throttling(err)
        return tail
    except (BotoCoreError, AccessError) as err:
        logger.warning("reading the log of build %s failed: %s", build_id, err)
        tail["error"], tail["retry"] = f"log not readable: {err}", True
        return tail
    tail["lines"] = bounded([str(e.get("message", "")) for e in events])
    return tail


def bounded(messages: list[str]) -> list[str]:
    """The last TAIL_LINES lines, each at most LINE_CHARS characters, TAIL_BYTES (UTF-8) in all, oldest first."""
    lines = [clip(m.rstrip("\r\n")) for m in messages[-TAIL_LINES:]]
    total = sum(len(line.encode()) + 1 for line in lines)
    while lines and total > TAIL_BYTES:  # the newest lines say why it failed: drop from the top
        total -= len(lines.pop(0).encode()) + 1
    return lines


def clip(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS - len(ELLIPSIS)] + ELLIPSIS
