"""The peer: ``aws cloudformation deploy`` (awscli v1) on the same template, N processes at once.

awscli creates a change set, waits for it (DescribeChangeSet every 5 s), executes it, then waits
for the stack with botocore's stack_create_complete waiter (DescribeStacks every 30 s; see
awscli/customizations/cloudformation/deployer.py). It does not read stack events, so it has no
event lag; its completion lag is the process's exit minus the stack's final event.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.services import REGION, aws_env
from core.config import REPO_ROOT

logger = logging.getLogger(__name__)

DEPLOY_TEMPLATE = "deploy-dependencies.yaml"
AWS_CLI = Path(sys.executable).with_name("aws")


class PeerError(RuntimeError):
    """An awscli deploy failed."""


@dataclass(frozen=True)
class PeerDeploy:
    account_id: str
    application: str
    started: float
    exited: float
    returncode: int
    output: str

    @property
    def stack_name(self) -> str:
        return f"{self.application}-deploy-dependencies"


def command(endpoint: str, template: Path, application: str, build_account: str) -> list[str]:
    return [str(AWS_CLI), "cloudformation", "deploy", "--template-file", str(template),
            "--stack-name", f"{application}-deploy-dependencies",
            "--parameter-overrides", f"ApplicationName={application}", f"BuildAccountId={build_account}",
            "--capabilities", "CAPABILITY_NAMED_IAM", "--no-fail-on-empty-changeset",
            "--region", REGION, "--endpoint-url", endpoint]


def deploy_all(endpoint: str, template: Path, jobs: list[tuple[str, str, dict[str, str]]],
               timeout: float) -> list[PeerDeploy]:
    """Start one ``aws cloudformation deploy`` per (account, application, credentials) at once.

    Each process is waited for by a thread of its own, so its exit is timed to the moment, not
    to a polling interval. Every stack is a single-account deploy stack (BuildAccountId is
    its own account), the same shape the worker deploys in the benchmark.

    :raise PeerError: a deploy exited non-zero or did not finish within ``timeout``
    """
    results: list[PeerDeploy | None] = [None] * len(jobs)

    def run(index: int, account: str, application: str, credentials: dict[str, str]) -> None:
        env = {**aws_env(endpoint), **credentials}
        started = time.time()
        proc = subprocess.Popen(command(endpoint, template, application, account), cwd=REPO_ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # only the process this thread started
            out, _ = proc.communicate()
        results[index] = PeerDeploy(account, application, started, time.time(), proc.returncode,
                                    out.decode(errors="replace"))

    threads = [threading.Thread(target=run, args=(i, *job), name=f"peer-{i}") for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deploys = [r for r in results if r is not None]
    failed = [d for d in deploys if d.returncode != 0]
    if failed or len(deploys) != len(jobs):
        detail = failed[0].output[-1500:] if failed else "a deploy thread returned nothing"
        raise PeerError(f"{len(failed)} of {len(jobs)} awscli deploys failed: {detail}")
    return deploys
