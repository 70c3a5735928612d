"""Pipeline change → stored snapshot: how soon the worker's snapshot shows each action's change, and
how many reads of the pipeline that costs, polling only versus following the pipeline's events.

    .venv/bin/python bench/pipeline_lag.py [--executions 8] [--pace 0.5]

Per mode (a worker with ``PORTAL_EVENTS=off``, then one with it on): one single-account setup is
planned and applied by the worker (its build stack makes the pipeline, the event rules and the
queue), its snapshot is marked watched as an open page marks it, and ``--executions`` executions
run one after the other (each a push to the setup's repository) with the emulator's timed
actions, each approved at its manual approval
(the benchmark reads the token itself). The read the page's opening makes is done before the
measure starts. The benchmark polls the snapshot row every 20 ms and
notes when each action run first shows each status; the truth is CodePipeline's own
ListActionExecutions (start time for InProgress, last update for the final status). Reads are the
worker's ListPipelineExecutions calls (one per read; the benchmark never makes that call).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import aws, portal_driver  # noqa: E402
from bench.deploy_lag import snapshot_templates  # noqa: E402
from bench.measures import summarise  # noqa: E402
from bench.services import BENCH_REDIS, REGION, CeleryWorker, Emulator, flush_redis  # noqa: E402
from core.config import REPO_ROOT  # noqa: E402
from core.db import make_engine, make_session_factory, upgrade  # noqa: E402
from core.models import PipelineSnapshot, utcnow  # noqa: E402
from core.times import as_utc  # noqa: E402

logger = logging.getLogger("bench.pipeline_lag")


def client(endpoint: str, account_id: str, service: str) -> Any:
    import boto3

    creds = aws.assumed_credentials(endpoint, account_id, "bench-pipeline")
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=creds["AWS_SESSION_TOKEN"])


class Watcher(threading.Thread):
    """Polls the snapshot row; first moment each (action run, status) was stored."""

    def __init__(self, factory: Any, setup_id: int) -> None:
        super().__init__(daemon=True)
        self.factory, self.setup_id = factory, setup_id
        self.seen: dict[tuple[str, str], float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            with self.factory() as session:
                row = session.query(PipelineSnapshot).filter_by(setup_id=self.setup_id).one_or_none()
                now = time.time()
                for stage in (row.stages if row else []) or []:
                    for action in stage.get("actions", []):
                        key = (action.get("action_execution_id") or "", action.get("status") or "")
                        if key[0] and key not in self.seen:
                            self.seen[key] = now
            time.sleep(0.02)


def run_mode(emulator: Emulator, database_url: str, factory: Any, templates: Path, workdir: Path, events: bool,
             executions: int, prefix: str, broker: str = BENCH_REDIS) -> dict[str, Any]:
    worker = CeleryWorker(emulator.endpoint, database_url, templates, "solo",
                          workdir / f"worker-{'events' if events else 'polling'}.log", broker=broker,
                          events=events, dashboard=True)
    try:
        sender = portal_driver.sender(broker)
        setup_ids = portal_driver.create_single_account_setups(factory, prefix, 1, REGION)
        plans = portal_driver.plan(factory, sender, setup_ids, 240)
        applies = portal_driver.apply(factory, sender, portal_driver.plans_by_setup(factory, plans.operation_ids), 240)
        if events:
            portal_driver.wait_for_event_readers(factory, applies.operation_ids, 60)
        setup_id = setup_ids[0]
        account = portal_driver.DEMO_ACCOUNTS[0]
        name = f"{prefix}-00-pipeline"
        with factory() as session:
            from core.models import Operation

            outputs = (session.get(Operation, applies.operation_ids[0]).detail or {}).get("outputs") or {}
        repository = outputs["RepositoryName"]
        codepipeline = client(emulator.endpoint, account, "codepipeline")
        deadline = time.time() + 60
        while True:  # the worker makes the snapshot row of a deployed setup at its next tick
            with factory() as session:
                row = session.query(PipelineSnapshot).filter_by(setup_id=setup_id).one_or_none()
                if row is not None and row.read_at is not None:
                    # A page opens and stays open, as the portal marks it (watched, and read now).
                    opened_at = utcnow()
                    row.watched_until, row.next_read_at = opened_at + timedelta(hours=1), opened_at
                    session.commit()
                    break
            if time.time() > deadline:
                raise RuntimeError("the worker made no snapshot of the pipeline")
            time.sleep(0.2)
        # The read the opening asked for is the page's, once; the measure is what the executions cost.
        while True:
            with factory() as session:
                row = session.query(PipelineSnapshot).filter_by(setup_id=setup_id).one()
                if row.read_at is not None and as_utc(row.read_at) >= opened_at:
                    break
            if time.time() > deadline:
                raise RuntimeError("the worker did not read the pipeline when its page opened")
            time.sleep(0.1)
        watcher = Watcher(factory, setup_id)
        watcher.start()
        emulator.reset_stats()
        started = time.time()
        ids = []
        for _ in range(executions):
            pushed = emulator.control("push", {"repository": repository, "account_id": account,
                                                "message": f"Change {len(ids)}"})
            execution = pushed["pipelineExecutions"][0]["pipelineExecutionId"]
            ids.append(execution)
            _approve_and_wait(codepipeline, name, execution)
        seconds = time.time() - started
        stats = emulator.stats().get("codepipeline", {})
        time.sleep(2)  # the last changes' rows
        watcher.stopping.set()
        watcher.join()
        lags, missing = [], 0
        for execution in ids:
            for detail in _action_runs(codepipeline, name, execution):
                run_id = detail["actionExecutionId"]
                truths = [("InProgress", aws.epoch(detail["startTime"]))]
                if detail["status"] != "InProgress":
                    truths.append((detail["status"], aws.epoch(detail["lastUpdateTime"])))
                for status, at in truths:
                    if (run_id, status) in watcher.seen:
                        lags.append(max(0.0, watcher.seen[(run_id, status)] - at))
                    else:
                        missing += 1  # never shown: a later state was stored first (a status skipped)
        reads = stats.get("ListPipelineExecutions", 0)
        with factory() as session:
            # The page closes. The next mode's worker shares the database: left watched, this
            # pipeline would be read every 3 s there, and the emulator counts every pipeline's reads.
            row = session.query(PipelineSnapshot).filter_by(setup_id=setup_id).one()
            row.watched_until, row.next_read_at = None, utcnow() + timedelta(days=1)
            session.commit()
        return {"mode": "events" if events else "polling", "executions": executions, "seconds": seconds,
                "lag": summarise(lags).as_dict(), "changes_shown": len(lags), "changes_never_shown": missing,
                "reads": reads, "reads_per_minute": reads / (seconds / 60), "codepipeline_calls": stats}
    finally:
        worker.stop()


def _action_runs(codepipeline: Any, name: str, execution: str) -> list[dict[str, Any]]:
    return codepipeline.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": execution}
                                               )["actionExecutionDetails"]


def _approve_and_wait(codepipeline: Any, name: str, execution: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    approved = False
    while time.time() < deadline:
        status = codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution)[
            "pipelineExecution"]["status"]
        if status not in ("InProgress", "Stopping"):
            return
        if not approved:
            for stage in codepipeline.get_pipeline_state(name=name)["stageStates"]:
                for action in stage.get("actionStates", []):
                    latest = action.get("latestExecution") or {}
                    if action["actionName"] == "Approve" and latest.get("status") == "InProgress" and latest.get("token"):
                        codepipeline.put_approval_result(pipelineName=name, stageName=stage["stageName"],
                                                         actionName="Approve", token=latest["token"],
                                                         result={"summary": "bench", "status": "Approved"})
                        approved = True
        time.sleep(0.25)
    raise RuntimeError(f"execution {execution} did not finish in {timeout}s")


def render(result: dict[str, Any]) -> str:
    lines = [f"Pipeline change → stored snapshot, pace {result['pace']:g} s, {result['date']}", "",
             "| mode | changes shown | lag p50 / p95 / max / mean (s) | reads | reads per pipeline-minute |",
             "| --- | --- | --- | --- | --- |"]
    for m in result["modes"]:
        lag = m["lag"]
        lines.append(f"| {m['mode']} | {m['changes_shown']} (+{m['changes_never_shown']} skipped) | "
                     + " / ".join(f"{lag[k]:.2f}" for k in ("p50", "p95", "max", "mean"))
                     + f" | {m['reads']} in {m['seconds']:.0f} s | {m['reads_per_minute']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=8)
    parser.add_argument("--pace", type=float, default=0.5)
    parser.add_argument("--modes", default="polling,events")
    parser.add_argument("--broker", default=BENCH_REDIS,
                        help="the Redis database the worker and the benchmark share, flushed before and after "
                             "(another one when a second benchmark runs on the machine)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-lag-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    flush_redis(args.broker)
    templates = snapshot_templates(workdir)
    emulator = Emulator(args.pace, workdir / "emulator.log")
    try:
        emulator.control("actions", {"simulate": True})
        modes = [run_mode(emulator, database_url, factory, templates, workdir, mode == "events", args.executions,
                          f"pl{mode[0]}", args.broker) for mode in args.modes.split(",")]
    finally:
        emulator.stop()
        flush_redis(args.broker)
        engine.dispose()
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pace": args.pace, "modes": modes,
              "logs": str(workdir)}
    out = REPO_ROOT / "bench" / "results" / f"pipeline_lag-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    print(f"Result file: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
