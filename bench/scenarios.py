"""The two measured phases of a scenario of N concurrent stacks: the worker's, then the peer's.

Each phase zeroes the emulator's call counters first and reads them as soon as its clients are
done, before the benchmark itself reads any stack history, so the counts hold only the calls of
the client under test.
"""
from __future__ import annotations

import logging
import resource
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench import aws, collect, measures, peer, portal_driver
from bench.measures import StackRun
from bench.services import REGION, CeleryWorker, Emulator

logger = logging.getLogger(__name__)

CFN = "cloudformation"
# The one status question each client repeats while a stack runs: the worker reads the stack's
# events (they carry its status), awscli's waiter asks DescribeStacks (less its one has_stack call).
WORKER_POLL = "DescribeStackEvents"
PEER_POLL = "DescribeStacks"


class CpuMeter:
    """CPU seconds the worker, the emulator and the benchmark's reaped children (awscli) use."""

    def __init__(self, emulator: Emulator, worker: CeleryWorker | None) -> None:
        self.emulator, self.worker = emulator, worker
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"worker": self.worker.process.cpu_seconds() if self.worker else 0.0,
                "emulator": self.emulator.process.cpu_seconds(),
                "awscli": children.ru_utime + children.ru_stime}

    def used(self) -> dict[str, float]:
        now = self._now()
        return {k: round(now[k] - self.start[k], 2) for k in now}


def run_worker(emulator: Emulator, worker: CeleryWorker, factory: sessionmaker[Session], broker: str,
               stacks: int, prefix: str, timeout: float) -> dict[str, Any]:
    """Plan, then apply, ``stacks`` single-account setups named ``prefix-NN`` at once; measure the apply."""
    client = portal_driver.sender(broker)
    setup_ids = portal_driver.create_single_account_setups(factory, prefix, stacks, REGION)

    emulator.reset_stats()
    cpu = CpuMeter(emulator, worker)
    plans = portal_driver.plan(factory, client, setup_ids, timeout)
    plan_stats, plan_cpu = emulator.stats(), cpu.used()
    logger.info("%d plans done in %.1f s", stacks, plans.finished_at - plans.sent_at)

    emulator.reset_stats()
    cpu = CpuMeter(emulator, worker)
    applies = portal_driver.apply(factory, client, portal_driver.plans_by_setup(factory, plans.operation_ids), timeout)
    apply_stats, apply_cpu = emulator.stats(), cpu.used()
    logger.info("%d applies done in %.1f s", stacks, applies.finished_at - applies.sent_at)

    seen = collect.observe(factory, applies.operation_ids, collect.clients_by_account(emulator.endpoint))
    result = worker_result(seen, plan_stats, apply_stats, plans, applies)
    result.update({"plan_cpu_seconds": plan_cpu, "apply_cpu_seconds": apply_cpu})
    return result


def run_worker_update(emulator: Emulator, worker: CeleryWorker, factory: sessionmaker[Session], broker: str,
                      stacks: int, prefix: str, timeout: float) -> dict[str, Any]:
    """Deploy ``stacks`` single-account setups (not measured), change their branch, then plan and
    apply that update; measure the update's apply.

    A deployed setup has its event queue (the build stack makes it), so this is the scenario in
    which an events worker follows stacks from their events; a polling worker runs it as well, for
    the side-by-side figures. The branch (a build stack parameter) and a tag (on every stack) change.
    """
    client = portal_driver.sender(broker)
    setup_ids = portal_driver.create_single_account_setups(factory, prefix, stacks, REGION)
    plans = portal_driver.plan(factory, client, setup_ids, timeout)
    applies = portal_driver.apply(factory, client, portal_driver.plans_by_setup(factory, plans.operation_ids), timeout)
    if worker.events:
        portal_driver.wait_for_event_readers(factory, applies.operation_ids, timeout)
    portal_driver.change_branch(factory, setup_ids, "release")
    logger.info("%d setups deployed; measuring their update", stacks)

    emulator.reset_stats()
    cpu = CpuMeter(emulator, worker)
    plans = portal_driver.plan(factory, client, setup_ids, timeout)
    plan_stats, plan_cpu = emulator.stats(), cpu.used()

    emulator.reset_stats()
    cpu = CpuMeter(emulator, worker)
    applies = portal_driver.apply(factory, client, portal_driver.plans_by_setup(factory, plans.operation_ids), timeout)
    apply_stats, apply_cpu = emulator.stats(), cpu.used()
    logger.info("%d updates done in %.1f s", stacks, applies.finished_at - applies.sent_at)

    seen = collect.observe(factory, applies.operation_ids, collect.clients_by_account(emulator.endpoint),
                           executed_only=True)
    result = worker_result(seen, plan_stats, apply_stats, plans, applies)
    result.update({"plan_cpu_seconds": plan_cpu, "apply_cpu_seconds": apply_cpu,
                   "client": "worker, events" if worker.events else "worker, polling"})
    return result


def worker_result(seen: collect.WorkerObservation, plan_stats: dict[str, dict[str, int]],
                  apply_stats: dict[str, dict[str, int]], plans: portal_driver.Batch,
                  applies: portal_driver.Batch) -> dict[str, Any]:
    per_operation = []
    lags: dict[str, float] = {}
    for operation in seen.operations:
        own = measures.completion_lags(operation)
        lags.update(own)
        last = max(operation.stacks, key=lambda s: s.terminal)
        per_operation.append({
            "operation_id": operation.operation_id, "stacks": own,
            "finished_minus_last_terminal": (operation.finished - last.terminal) if operation.finished else None,
        })
    stacks = seen.stacks
    minutes = measures.stack_minutes(stacks)
    calls = measures.service_calls(apply_stats, CFN)
    by_role = {role: measures.summarise(lags[s.key] for s in stacks if s.role == role and s.key in lags).as_dict()
               for role in sorted({s.role for s in stacks})}
    return {
        "client": "worker",
        "stacks": len(stacks),
        "operations": len(seen.operations),
        "peak_concurrent_stacks": measures.peak_concurrency((s.started, s.terminal) for s in stacks),
        "peak_concurrent_by_role": {role: measures.peak_concurrency((s.started, s.terminal) for s in stacks
                                                                    if s.role == role)
                                    for role in sorted({s.role for s in stacks})},
        "terminal_statuses": seen.statuses,
        "event_lag": measures.summarise(measures.event_lags(seen.events)).as_dict(),
        "events_emitted": seen.emitted,
        "events_missing": seen.missing,
        "completion_lag": measures.summarise(lags.values()).as_dict(),
        "completion_lag_by_role": by_role,
        "stacks_never_seen_terminal": sorted(s.key for s in stacks if s.key not in lags),
        "per_operation": per_operation,
        "stack_minutes": minutes,
        "cloudformation_calls": calls,
        "calls_per_stack_minute": measures.calls_per_stack_minute(calls, minutes),
        "calls_per_stack": calls / len(stacks) if stacks else None,
        "status_polls_per_stack_minute": measures.calls_per_stack_minute(
            apply_stats.get(CFN, {}).get(WORKER_POLL, 0), minutes),
        "apply_calls": apply_stats,
        "plan_calls": plan_stats,
        "plan_cloudformation_calls": measures.service_calls(plan_stats, CFN),
        "plan_seconds": plans.finished_at - plans.sent_at,
        "apply_seconds": applies.finished_at - applies.sent_at,
        "targets": [t.as_dict() for t in measures.targets(
            measures.summarise(lags.values()), measures.calls_per_stack_minute(calls, minutes))],
    }


def run_peer(emulator: Emulator, templates: Path, stacks: int, prefix: str, timeout: float) -> dict[str, Any]:
    """``stacks`` awscli deploys of deploy-dependencies.yaml (applications ``prefix-NN``) at once."""
    accounts = [portal_driver.DEMO_ACCOUNTS[i % len(portal_driver.DEMO_ACCOUNTS)] for i in range(stacks)]
    credentials = {a: aws.assumed_credentials(emulator.endpoint, a, "bench-peer") for a in set(accounts)}
    jobs = [(account, f"{prefix}-{i:02d}", credentials[account]) for i, account in enumerate(accounts)]

    emulator.reset_stats()
    cpu = CpuMeter(emulator, None)
    started = time.time()
    deploys = peer.deploy_all(emulator.endpoint, templates / peer.DEPLOY_TEMPLATE, jobs, timeout)
    stats, used = emulator.stats(), cpu.used()
    logger.info("%d awscli deploys done in %.1f s", stacks, time.time() - started)

    cfn_for = collect.clients_by_account(emulator.endpoint)
    runs = []
    for deploy in deploys:
        history = aws.latest_operation(cfn_for(deploy.account_id), deploy.stack_name, deploy.stack_name)
        runs.append(StackRun(key=f"{deploy.account_id}/{deploy.stack_name}", started=history.started,
                             terminal=history.terminal.timestamp, terminal_status=history.terminal.status,
                             seen=deploy.exited, role="deploy"))
    result = peer_result(runs, stats, time.time() - started)
    result["cpu_seconds"] = {"awscli": used["awscli"], "emulator": used["emulator"]}
    return result


def peer_result(runs: list[StackRun], stats: dict[str, dict[str, int]], seconds: float) -> dict[str, Any]:
    lags = measures.peer_completion_lags(runs)
    minutes = measures.stack_minutes(runs)
    calls = measures.service_calls(stats, CFN)
    # Each deploy asks DescribeStacks once before anything else (has_stack); the rest are the
    # stack_create_complete waiter's polls.
    polls = max(0, stats.get(CFN, {}).get(PEER_POLL, 0) - len(runs))
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run.terminal_status] = statuses.get(run.terminal_status, 0) + 1
    return {
        "client": "aws cloudformation deploy (awscli v1)",
        "stacks": len(runs),
        "peak_concurrent_stacks": measures.peak_concurrency((s.started, s.terminal) for s in runs),
        "terminal_statuses": statuses,
        "event_lag": None,  # awscli deploy does not read stack events
        "completion_lag": measures.summarise(lags.values()).as_dict(),
        "per_stack": lags,
        "stack_minutes": minutes,
        "cloudformation_calls": calls,
        "calls_per_stack_minute": measures.calls_per_stack_minute(calls, minutes),
        "calls_per_stack": calls / len(runs) if runs else None,
        "status_polls_per_stack_minute": measures.calls_per_stack_minute(polls, minutes),
        "calls": stats,
        "seconds": seconds,
        "targets": [t.as_dict() for t in measures.targets(
            measures.summarise(lags.values()), measures.calls_per_stack_minute(calls, minutes))],
    }
