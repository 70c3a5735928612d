"""The bare git repositories behind the emulator's CodeCommit, and the git plumbing they need.

moto keeps a repository's metadata; its content lives in a bare repository under the emulator's
state dir (``EMULATOR_STATE_DIR``, else a temporary directory of the process), one per repository
id, so a repository deleted and created again under the same name starts empty, and a rename
keeps its history. Every git command runs with the user's and the system's git configuration
ignored, so the host's settings (hooks, signing, default branch) cannot change what is stored.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 300  # seconds; a clone of a large repository over a slow disk still fits
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known id of the empty tree
ZERO_ID = "0" * 40

_lock = threading.Lock()
_root: Path | None = None
_repo_locks: dict[str, threading.Lock] = {}


class GitError(RuntimeError):
    """A git command failed; the message carries git's own error output."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: str  # as CodeCommit shows it: "<epoch seconds> <+hhmm>"


@dataclass(frozen=True)
class CommitInfo:
    commit_id: str
    tree_id: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


def root() -> Path:
    """The directory holding every bare repository (created on first use)."""
    global _root
    with _lock:
        if _root is None:
            configured = os.environ.get("EMULATOR_STATE_DIR")
            if configured:
                _root = Path(configured) / "codecommit"
                _root.mkdir(parents=True, exist_ok=True)
            else:
                _root = Path(tempfile.mkdtemp(prefix="emulator-codecommit-"))
                atexit.register(shutil.rmtree, _root, True)
        return _root


def path_of(account_id: str, region: str, repository_id: str) -> Path:
    return root() / account_id / region / f"{repository_id}.git"


def lock_of(path: Path) -> threading.Lock:
    """One lock per repository: pushes to it are applied one at a time, as refs are compared around them."""
    with _lock:
        return _repo_locks.setdefault(str(path), threading.Lock())


def remove_all() -> None:
    """Delete every repository's content (on reset, when moto forgets the repositories)."""
    with _lock:
        if _root is None:
            return
        for child in list(_root.iterdir()):
            shutil.rmtree(child, ignore_errors=True)
        _repo_locks.clear()


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every git command runs in: no user or system configuration, no prompts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"})
    env.update(extra or {})
    return env


def require_git() -> None:
    """:raise GitError: git is not installed (the emulator's CodeCommit is made of it)."""
    if shutil.which("git") is None:
        raise GitError("git is not installed: the emulator's CodeCommit needs it (e.g. apt-get install git)")


def git(path: Path, *args: str, input_bytes: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run ``git args`` in the bare repository ``path``; return its output.

    :raise GitError: git exited non-zero, or is not installed.
    """
    require_git()
    done = subprocess.run(["git", f"--git-dir={path}", *args], input=input_bytes, capture_output=True,
                          env=git_env(env), timeout=GIT_TIMEOUT, check=False)
    if done.returncode != 0:
        raise GitError(done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return done.stdout


def ensure(path: Path) -> Path:
    """Create the bare repository at ``path`` if it does not exist yet."""
    if not (path / "HEAD").exists():
        require_git()
        path.parent.mkdir(parents=True, exist_ok=True)
        # No hook templates; an unborn HEAD on main, CodeCommit's default branch name for new repositories,
        # until the first branch pushed becomes the default (see triggers.codecommit_ref_changed).
        subprocess.run(["git", "init", "--bare", "--quiet", "--template=", "--initial-branch=main", str(path)],
                       capture_output=True, env=git_env(), timeout=GIT_TIMEOUT, check=True)
    return path


def exists(path: Path) -> bool:
    return (path / "HEAD").exists()


def refs(path: Path) -> dict[str, str]:
    """Every ref of the repository and the object it points at."""
    if not exists(path):
        return {}
    out = git(path, "for-each-ref", "--format=%(objectname) %(refname)").decode()
    return {name: oid for oid, name in (line.split(" ", 1) for line in out.splitlines() if line)}


def branch_head(path: Path, branch: str) -> str | None:
    return refs(path).get(f"refs/heads/{branch}")


def set_head(path: Path, branch: str) -> None:
    """Make ``branch`` the repository's default branch (what a clone checks out)."""
    git(path, "symbolic-ref", "HEAD", f"refs/heads/{branch}")


def _person(line: str) -> Person:
    # "Name <email> 1700000000 +0100"
    identity, _, stamp = line.rpartition("> ")
    name, _, email = identity.partition(" <")
    return Person(name.strip(), email, stamp.strip())


def commit_info(path: Path, commit_id: str) -> CommitInfo | None:
    """The commit ``commit_id`` as CodeCommit's GetCommit shows it, or None if there is no such commit."""
    if not exists(path) or len(commit_id) != 40:
        return None
    try:
        raw = git(path, "cat-file", "commit", commit_id).decode(errors="replace")
    except GitError:
        return None
    header, _, message = raw.partition("\n\n")
    fields: dict[str, list[str]] = {}
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key in ("tree", "parent", "author", "committer"):
            fields.setdefault(key, []).append(value)
    # git ends a message with a newline; CodeCommit shows it without.
    return CommitInfo(commit_id, fields["tree"][0], tuple(fields.get("parent", [])),
                      _person(fields["author"][0]), _person(fields["committer"][0]), message.rstrip("\n"))


def archive_zip(path: Path, commit_id: str) -> bytes:
    """The commit's tree as a zip file, as CodePipeline's CODE_ZIP output artifact holds it.

    :raise GitError: no such commit.
    """
    return git(path, "archive", "--format=zip", f"{commit_id}^{{commit}}")


def commit_on_branch(path: Path, branch: str, message: str, name: str, email: str) -> tuple[str | None, str]:
    """Add a commit with the branch's current tree (an empty tree on a new branch); return (old, new) ids."""
    ensure(path)
    old = branch_head(path, branch)
    tree = git(path, "rev-parse", f"{old}^{{tree}}").decode().strip() if old else (
        git(path, "mktree", input_bytes=b"").decode().strip())
    identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    parents = ["-p", old] if old else []
    new = git(path, "commit-tree", tree, *parents, "-m", message, env=identity).decode().strip()
    git(path, "update-ref", f"refs/heads/{branch}", new, old or ZERO_ID)
    return old, new
