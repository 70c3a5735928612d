"""Plain git against the emulator, isolated from the host's git configuration (no tests here)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHOR = {"GIT_AUTHOR_NAME": "Ada Developer", "GIT_AUTHOR_EMAIL": "ada@example.com",
          "GIT_COMMITTER_NAME": "Ada Developer", "GIT_COMMITTER_EMAIL": "ada@example.com"}


def git_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_TERMINAL_PROMPT": "0", **AUTHOR, **extra})
    return env


def git(cwd: Path, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd``; with ``check``, fail the test with git's output if it fails."""
    done = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, capture_output=True,
                          text=True, env=git_env(cwd, **extra), timeout=120, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def commit_file(checkout: Path, name: str, content: bytes | str, message: str) -> str:
    """Write a file, commit it, return the commit id."""
    path = checkout / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    git(checkout, "add", name)
    git(checkout, "commit", "-q", "-m", message)
    return git(checkout, "rev-parse", "HEAD").stdout.strip()
