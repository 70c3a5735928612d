"""Source repositories: commits on branches, and the revision each source action fetches.

moto's CodeCommit keeps repositories but no commits, so a push records its commit (a real git
commit, ``emulator.codecommit``) on the moto repository object itself (it then vanishes with the
repository or a reset). GitHub repositories reached through a CodeConnections connection live
outside AWS, so their commits are kept here.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from moto.codecommit.models import codecommit_backends
from moto.moto_api._internal import mock_random

from emulator.codepipeline.models import Commit, SourceRevision

logger = logging.getLogger(__name__)

CODECOMMIT = "CodeCommit"
CONNECTION = "CodeStarSourceConnection"
_BRANCHES_ATTR = "emulator_branches"

# (account, region, "owner/repo") -> branch -> commits, oldest first
_connection_commits: dict[tuple[str, str, str], dict[str, list[Commit]]] = {}


class UnknownRepositoryError(LookupError):
    """A push to a repository that neither CodeCommit nor any pipeline's connection knows."""


def reset() -> None:
    # Called from STATE.reset() while it holds STATE.lock: take no other lock here.
    _connection_commits.clear()


def _repository_key(action: dict[str, Any]) -> tuple[str, str] | None:
    """(provider, repository) a source action reads, or None for sources without git history."""
    provider = action["actionTypeId"]["provider"]
    config = action.get("configuration") or {}
    if provider == CODECOMMIT:
        return CODECOMMIT, str(config.get("RepositoryName", ""))
    if provider == CONNECTION:
        return CONNECTION, str(config.get("FullRepositoryId", ""))
    return None


def reads(action: dict[str, Any], repository: str) -> bool:
    """Whether a source action fetches from ``repository``."""
    key = _repository_key(action)
    return key is not None and key[1] == repository


def branch_of(action: dict[str, Any]) -> str:
    return str((action.get("configuration") or {}).get("BranchName", ""))


def _branches(account_id: str, region: str, provider: str, repository: str,
              create: bool = False) -> dict[str, list[Commit]] | None:
    if provider == CODECOMMIT:
        repo = codecommit_backends[account_id][region].repositories.get(repository)
        if repo is None:
            return None
        if not hasattr(repo, _BRANCHES_ATTR):
            setattr(repo, _BRANCHES_ATTR, {})
        return getattr(repo, _BRANCHES_ATTR)
    key = (account_id, region, repository)
    if create:
        return _connection_commits.setdefault(key, {})
    return _connection_commits.get(key, {})


def record_commit(account_id: str, region: str, provider: str, repository: str,
                  branch: str, message: str, now: float) -> Commit:
    """Make up a commit on a branch of a repository outside the emulator (GitHub) and record it.

    (CodeCommit commits are real git commits: see ``emulator.codecommit``.)
    """
    history = (_branches(account_id, region, provider, repository) or {}).get(branch) or []
    parent = history[-1].commit_id if history else ""
    seed = f"{repository}\0{branch}\0{parent}\0{message}\0{now}\0{mock_random.uuid4()}"
    return add_commit(account_id, region, provider, repository,
                      Commit(hashlib.sha1(seed.encode()).hexdigest(), message, branch, now))


def add_commit(account_id: str, region: str, provider: str, repository: str, commit: Commit) -> Commit:
    """Append a commit made elsewhere (a git push) to its branch's history and return it."""
    branches = _branches(account_id, region, provider, repository, create=True)
    if branches is None:
        raise UnknownRepositoryError(
            f"Repository {repository} does not exist in account {account_id}, region {region}"
        )
    branches.setdefault(commit.branch, []).append(commit)
    logger.info("commit %s on %s/%s in %s %s", commit.commit_id[:8], repository, commit.branch, account_id, region)
    return commit


def find_commit(account_id: str, region: str, action: dict[str, Any], commit_id: str) -> Commit | None:
    key = _repository_key(action)
    branches = _branches(account_id, region, *key) if key else None
    for history in (branches or {}).values():
        for commit in history:
            if commit.commit_id == commit_id:
                return commit
    return None


def head(account_id: str, region: str, action: dict[str, Any]) -> Commit | None:
    key = _repository_key(action)
    if key is None:
        return None
    branch = branch_of(action)
    history = (_branches(account_id, region, *key) or {}).get(branch) or []
    return history[-1] if history else None


def revision_for(account_id: str, region: str, action: dict[str, Any], commit: Commit | None) -> SourceRevision:
    """The revision a source action fetches: ``commit``, or why there is nothing to fetch."""
    name = str(action["name"])
    key = _repository_key(action)
    if key is None:
        # S3, ECR and the like: no git history to show, the action just succeeds.
        return SourceRevision(name, None, None, None, None)
    provider, repository = key
    branch = commit.branch if commit else branch_of(action)
    if commit is None:
        return SourceRevision(name, None, None, None, None, missing_reason=(
            f"The action failed because no branch named {branch} was found in the selected "
            f"repository {repository}. Push a commit to the branch, then try again."
        ))
    summary = commit.message or None  # an unknown commit id (a revision override) has no message
    if provider == CONNECTION:
        # Connection sources summarise as JSON, as the console shows them.
        summary = json.dumps({"ProviderType": "GitHub", "CommitMessage": commit.message})
    variables = {"CommitId": commit.commit_id, "CommitMessage": commit.message, "BranchName": branch}
    if provider == CODECOMMIT:
        variables["RepositoryName"] = repository
    else:
        variables["FullRepositoryName"] = repository
    return SourceRevision(name, commit.commit_id, summary, commit.created,
                          revision_url(region, provider, repository, commit.commit_id), variables)


def revision_url(region: str, provider: str, repository: str, commit_id: str) -> str:
    if provider == CODECOMMIT:
        return (f"https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
                f"{repository}/commit/{commit_id}?region={region}")
    return f"https://github.com/{repository}/commit/{commit_id}"
