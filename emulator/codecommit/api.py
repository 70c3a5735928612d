"""GetBranch, GetCommit and ListBranches, added to moto's CodeCommit, read from the git repository.

moto dispatches on the ``X-Amz-Target`` operation name turned snake_case, looking the handler up
on ``CodeCommitResponse``, so adding a method there serves a new operation. Errors are the ones
botocore's model lists for each operation, in CodeCommit's JSON protocol.
"""
from __future__ import annotations

import json
import re
from typing import Any

from moto.codecommit.exceptions import InvalidRepositoryNameException, RepositoryDoesNotExistException
from moto.codecommit.responses import CodeCommitResponse
from moto.core.exceptions import JsonRESTError

from emulator.codecommit import repos
from emulator.codecommit.lookup import Located, get

REPOSITORY_NAME = re.compile(r"^[\w.-]{1,100}$")
COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")


class CodeCommitError(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class RepositoryNameRequiredException(CodeCommitError):
    pass


class BranchNameRequiredException(CodeCommitError):
    pass


class BranchDoesNotExistException(CodeCommitError):
    pass


class CommitIdRequiredException(CodeCommitError):
    pass


class InvalidCommitIdException(CodeCommitError):
    pass


class CommitIdDoesNotExistException(CodeCommitError):
    pass


def _repository(self: CodeCommitResponse) -> Located:
    name = self._get_param("repositoryName")
    if not name:
        raise RepositoryNameRequiredException("A repository name is required, but was not specified.")
    if not REPOSITORY_NAME.match(name):
        raise InvalidRepositoryNameException()
    located = get(self.current_account, self.region, name)
    if located is None:
        raise RepositoryDoesNotExistException(name)
    return located


def _person(person: repos.Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.date}


def get_branch(self: CodeCommitResponse) -> str:
    repository = _repository(self)
    branch = self._get_param("branchName")
    if not branch:
        raise BranchNameRequiredException("A branch name is required, but was not specified.")
    commit_id = repos.branch_head(repository.path, branch)
    if commit_id is None:
        raise BranchDoesNotExistException(f"Could not find branch {branch} in repository {repository.name}.")
    return json.dumps({"branch": {"branchName": branch, "commitId": commit_id}})


def list_branches(self: CodeCommitResponse) -> str:
    repository = _repository(self)
    names = sorted(ref.removeprefix("refs/heads/") for ref in repos.refs(repository.path)
                   if ref.startswith("refs/heads/"))
    return json.dumps({"branches": names})


def get_commit(self: CodeCommitResponse) -> str:
    repository = _repository(self)
    commit_id = self._get_param("commitId")
    if not commit_id:
        raise CommitIdRequiredException("A commit ID is required, but was not specified.")
    if not COMMIT_ID.match(commit_id):
        raise InvalidCommitIdException(f"The specified commit ID {commit_id} is not valid.")
    info = repos.commit_info(repository.path, commit_id)
    if info is None:
        raise CommitIdDoesNotExistException(
            f"The specified commit ID {commit_id} does not exist in repository {repository.name}.")
    commit: dict[str, Any] = {
        "commitId": info.commit_id, "treeId": info.tree_id, "parents": list(info.parents),
        "message": info.message, "author": _person(info.author), "committer": _person(info.committer),
        "additionalData": "",
    }
    return json.dumps({"commit": commit})


HANDLERS = {"get_branch": get_branch, "list_branches": list_branches, "get_commit": get_commit}
