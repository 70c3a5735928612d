"""A git push: record the commit, then start every pipeline whose source watches that branch.

On AWS a CodeCommit push reaches the pipeline through an EventBridge rule (trigger type
``CloudWatchEvent``, detail the rule's ARN) or through polling; a GitHub push through the
connection's webhook. The emulator puts CodeCommit's state-change event on the bus (for every
other rule), starts the watching pipelines directly and reports the trigger the way AWS would.
Both a real ``git push`` (``emulator.codecommit.git_http``) and the ``/_emulator/push`` shortcut
end in ``codecommit_ref_changed``.
"""
from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from moto.codecommit.models import codecommit_backends
from moto.codepipeline.models import codepipeline_backends
from moto.events.models import events_backends

from emulator.codecommit import events, repos
from emulator.codecommit.lookup import Located, get as get_repository
from emulator.codepipeline import engine, sources
from emulator.codepipeline.backend import start_execution
from emulator.codepipeline.models import Commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    commit_id: str
    executions: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"commitId": self.commit_id, "pipelineExecutions": list(self.executions)}


def push(account_id: str, region: str, repository: str, branch: str, message: str) -> PushResult:
    """Record a commit on ``repository``/``branch`` and start the pipelines watching it.

    ``repository`` is a CodeCommit repository name, or ``owner/repo`` for a GitHub source. A
    CodeCommit repository gets a real git commit (the branch's tree, unchanged), so that the Source
    action has a tree to zip and GetCommit a commit to show.
    :raise sources.UnknownRepositoryError: no such CodeCommit repository or GitHub source.
    """
    with engine.LOCK:
        provider = _provider(account_id, region, repository, _readers(account_id, region, repository))
        if provider != sources.CODECOMMIT:
            commit = sources.record_commit(account_id, region, provider, repository, branch, message, time.time())
            return _start_watching(account_id, region, repository, provider, branch, commit)
    located = get_repository(account_id, region, repository)
    if located is None:  # deleted in between
        raise sources.UnknownRepositoryError(
            f"Repository {repository} does not exist in account {account_id}, region {region}")
    # Lock order: the repository's, then engine.LOCK (taken by codecommit_ref_changed), as a git push.
    with repos.lock_of(located.path):
        old, new = repos.commit_on_branch(located.path, branch, message, "Emulator push", "push@emulator.invalid")
        result = codecommit_ref_changed(located, f"refs/heads/{branch}", old, new)
    assert result is not None  # a branch that got a new head always yields one
    return result


def codecommit_ref_changed(repository: Located, ref: str, old: str | None, new: str | None) -> PushResult | None:
    """What CodeCommit does after a ref of ``repository`` moved: the event, and for a branch, the pipelines.

    ``old``/``new`` are commit ids, None for a ref created/deleted. Returns None unless a branch
    got a new head.
    """
    events.emit(repository, ref, old, new)
    if not ref.startswith("refs/heads/") or not new or new == repos.ZERO_ID:
        return None
    branch = ref.removeprefix("refs/heads/")
    metadata = repository.metadata
    if not metadata.get("defaultBranch"):
        # CodeCommit makes the first branch pushed the default one; a clone then checks it out.
        metadata["defaultBranch"] = branch
        repos.set_head(repository.path, branch)
    info = repos.commit_info(repository.path, new)
    message = info.message if info else ""
    with engine.LOCK:
        commit = sources.add_commit(repository.account_id, repository.region, sources.CODECOMMIT, repository.name,
                                    Commit(new, message, branch, time.time()))
        return _start_watching(repository.account_id, repository.region, repository.name, sources.CODECOMMIT,
                               branch, commit)


def _readers(account_id: str, region: str, repository: str) -> list[tuple[Any, dict[str, Any]]]:
    backend = codepipeline_backends[account_id][region]
    return [(p, a) for p in backend.pipelines.values() for a in p.pipeline["stages"][0]["actions"]
            if sources.reads(a, repository)]


def _start_watching(account_id: str, region: str, repository: str, provider: str, branch: str,
                    commit: Commit) -> PushResult:
    backend = codepipeline_backends[account_id][region]
    watching = [(p, a) for p, a in _readers(account_id, region, repository)
                if a["actionTypeId"]["provider"] == provider and _starts_on(p.pipeline, a, branch)]
    started = []
    for pipeline, action in watching:
        trigger_type, detail = _trigger(account_id, region, pipeline, action)
        execution = start_execution(backend, pipeline, trigger_type, detail, pushed={action["name"]: commit})
        started.append({"pipelineName": pipeline.pipeline["name"], "pipelineExecutionId": execution.execution_id})
    logger.info("push to %s/%s in %s %s started %d execution(s)", repository, branch, account_id,
                region, len(started))
    return PushResult(commit.commit_id, started)


def _starts_on(declaration: dict[str, Any], action: dict[str, Any], branch: str) -> bool:
    """Whether a push to ``branch`` starts the pipeline through this source action.

    A V2 pipeline's git triggers replace default change detection for their source action:
    then the push filters' branch globs decide; otherwise the action's own branch does.
    """
    triggers = [t for t in declaration.get("triggers") or []
                if (t.get("gitConfiguration") or {}).get("sourceActionName") == action["name"]]
    if not triggers:
        return sources.branch_of(action) == branch
    for trigger in triggers:
        for push_filter in trigger["gitConfiguration"].get("push") or []:
            branches = push_filter.get("branches")
            if not branches:
                continue  # a tags-only filter: branch pushes do not match it
            included = any(fnmatch.fnmatchcase(branch, p) for p in branches.get("includes") or ["*"])
            excluded = any(fnmatch.fnmatchcase(branch, p) for p in branches.get("excludes") or [])
            if included and not excluded:
                return True
    return False


def _provider(account_id: str, region: str, repository: str, readers: list[tuple[Any, dict[str, Any]]]) -> str:
    # A CodeCommit repository of that name wins; otherwise a pipeline must read it over a connection.
    if repository in codecommit_backends[account_id][region].repositories:
        return sources.CODECOMMIT
    if any(a["actionTypeId"]["provider"] == sources.CONNECTION for _, a in readers):
        return sources.CONNECTION
    raise sources.UnknownRepositoryError(
        f"Repository {repository} does not exist in account {account_id}, region {region}"
    )


def _trigger(account_id: str, region: str, pipeline: Any, action: dict[str, Any]) -> tuple[str, str]:
    config = action.get("configuration") or {}
    if action["actionTypeId"]["provider"] == sources.CONNECTION:
        kind = "WebhookV2" if pipeline.pipeline.get("pipelineType") == "V2" else "Webhook"
        return kind, str(config.get("ConnectionArn", ""))
    if str(config.get("PollForSourceChanges", "")).lower() == "true":
        return "PollForSourceChanges", ""
    return "CloudWatchEvent", _rule_targeting(account_id, region, pipeline._arn)


def _rule_targeting(account_id: str, region: str, pipeline_arn: str) -> str:
    """The ARN of an EventBridge rule whose target is the pipeline, if the stack made one."""
    for bus in events_backends[account_id][region].event_buses.values():
        for rule in bus.rules.values():
            if any(target.get("Arn") == pipeline_arn for target in rule.targets):
                return str(rule.arn)
    return ""
