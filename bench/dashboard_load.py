"""Viewers of a pipeline page against gunicorn: latency, errors, and AWS calls per pipeline per minute.

    .venv/bin/python bench/dashboard_load.py                       # 0, 1, 200 and 2000 viewers, 60 s each
    .venv/bin/python bench/dashboard_load.py --viewers 1,200 --seconds 30

What runs (all on this machine): the emulator (``python -m emulator --demo``), one
``celery -A worker.celery_app worker`` (its timer reads the pipeline; nothing else asks), the portal
under ``gunicorn --workers 2`` as the Dockerfile starts it, and Locust (bench/dashboard_locustfile.py)
as the viewers: each polls the live endpoint every 2 s with If-None-Match, spawned over 2 s so
their polls spread. The pipeline's execution waits at the manual approval throughout, so it stays
in progress. Scenario 0 is nobody watching (Locust not started) for comparison. Then the floor: the
same viewers against bench/floor_app.py (a 304 and nothing else) under the same gunicorn options
(``--gunicorn``), so what the process model and Locust cost by themselves stands beside the portal.

Measured per scenario: requests, failures, p50/p95/p99 (Locust's), and CodePipeline calls from the
emulator's /_emulator/stats over the scenario, per minute. Then the staleness: pushes at random
moments, each timed until the live endpoint, polled every 2 s as the page polls it, shows the new
execution. Needs the local Redis (db 6, flushed before and after). Results: bench/results/
dashboard_load-<time>.json and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measures import percentile  # noqa: E402
from bench.services import (BENCH_REDIS, CeleryWorker, Emulator, Process, aws_env, flush_redis,  # noqa: E402
                            free_port, wait_for)
from core.config import REPO_ROOT  # noqa: E402
from core.db import make_engine, make_session_factory, upgrade  # noqa: E402
from core.models import DEFAULT_TEAM, Membership, Operation, Setup, Team  # noqa: E402
from sqlalchemy import select  # noqa: E402

logger = logging.getLogger("bench.dashboard_load")

APP = "bench-api"
BUILD = "111111111111"
ROLE = "OrganizationAccountAccessRole"
PASSWORD = "correct horse battery staple"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build_client(endpoint: str, service: str) -> Any:
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{BUILD}:role/{ROLE}", RoleSessionName="bench")["Credentials"]
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def create_pipeline(endpoint: str) -> None:
    """The contract's pipeline (docs/contracts.md) in the demo build account, as the tests create it."""
    from tests.emulator.codepipeline_helpers import contract_declaration

    principal = {"Service": "codepipeline.amazonaws.com"}
    trust = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]})
    build_client(endpoint, "iam").create_role(RoleName=f"{APP}-pipeline-role", AssumeRolePolicyDocument=trust)
    build_client(endpoint, "codecommit").create_repository(repositoryName=APP)
    bucket = f"{APP}-artifacts-{BUILD}-us-east-1"
    build_client(endpoint, "s3").create_bucket(Bucket=bucket)
    declaration = contract_declaration(name=f"{APP}-pipeline", repository=APP)
    declaration["roleArn"] = f"arn:aws:iam::{BUILD}:role/{APP}-pipeline-role"
    declaration["artifactStore"]["location"] = bucket
    build_client(endpoint, "codepipeline").create_pipeline(pipeline=declaration)


def seed(database_url: str) -> int:
    """A viewer, and a setup with a succeeded apply (the worker then keeps its snapshot); return its id."""
    from portal import accounts, create_app
    from portal.db import get_session

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "MIGRATE_ON_START": False})
    with app.app_context():
        viewer = accounts.create_user(get_session(), "viewer", PASSWORD, "viewer")
        # A role acts in its team only: the viewer joins the default team, where the setup below lands.
        get_session().add(Membership(team_id=get_session().scalar(select(Team.id).where(Team.name == DEFAULT_TEAM)),
                                     user_id=viewer.id, role="viewer"))
        get_session().commit()
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        access = {a: {"method": "assume_role", "role_name": ROLE} for a in (BUILD, "222222222222", "333333333333")}
        setup = Setup(name=APP, build_account_id=BUILD, staging_account_id="222222222222",
                      production_account_id="333333333333", region="us-east-1", access=access, status="ready")
        session.add(setup)
        session.flush()
        session.add(Operation(setup_id=setup.id, kind="apply", status="succeeded", requested_by="bench"))
        session.commit()
        setup_id = setup.id
    engine.dispose()
    return setup_id


def start_gunicorn(app: str, options: list[str], env: dict[str, str], log: Path, ready_path: str,
                   timeout: float = 60) -> tuple[Process, str]:
    """``gunicorn app`` with ``options`` on a free port, once ``ready_path`` answers 200; return it and its URL."""
    port = free_port()
    process = Process("gunicorn", [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                   *options, app], env, log)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url + ready_path), timeout, f"gunicorn ({app}) to answer")
    return process, url


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_portal(database_url: str, endpoint: str, log: Path, options: list[str]) -> tuple[Process, str]:
    env = aws_env("")
    env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": SECRET, "CELERY_BROKER_URL": BENCH_REDIS,
                "PORTAL_EMULATOR_URL": endpoint, "PORTAL_LOG_LEVEL": "WARNING"})
    return start_gunicorn("portal.wsgi:app", options, env, log, "/healthz")


def sign_in(url: str) -> str:
    """The viewer's session cookie as a Cookie header.

    The portal marks its cookie Secure and we speak plain HTTP, so no client would send it back: it is
    carried by hand, from the sign-in form's answer to the sign-in, and from there to the viewers.
    """
    form = requests.get(f"{url}/login")
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    cookie = "; ".join(f"{c.name}={c.value}" for c in form.cookies)
    answer = requests.post(f"{url}/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token},
                           headers={"Cookie": cookie}, allow_redirects=False)
    if answer.status_code != 302 or not answer.cookies:
        raise RuntimeError(f"signing in failed: {answer.status_code} {answer.text[:300]}")
    return "; ".join(f"{c.name}={c.value}" for c in answer.cookies)


def measure_floor(options: argparse.Namespace, viewer_counts: list[int], path: str,
                  directory: Path) -> list[dict[str, Any]]:
    """The same viewers against bench/floor_app.py under the same gunicorn: what the portal's figures rest on."""
    floor, url = start_gunicorn("bench.floor_app:app", shlex.split(options.gunicorn),
                                {**os.environ, "PYTHONPATH": str(REPO_ROOT)}, directory / "floor.log", path, 30)
    try:
        rows = []
        for viewers in viewer_counts:
            cpu_before = floor.cpu_seconds()
            load = run_viewers(url, "", path, viewers, options.seconds, directory, name="floor")
            rows.append({"viewers": viewers, "load": load, "cpu_seconds": {"gunicorn": round(floor.cpu_seconds()
                                                                                             - cpu_before, 1)}})
            logger.info("floor, %s viewers: %s", viewers, load)
        return rows
    finally:
        floor.stop()


def codepipeline_calls(emulator: Emulator) -> int:
    return sum(emulator.stats().get("codepipeline", {}).values())


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_viewers(url: str, cookie: str, path: str, viewers: int, seconds: int, directory: Path,
                name: str = "locust") -> dict[str, Any]:
    prefix = directory / f"{name}-{viewers}"
    env = {**os.environ, "BENCH_COOKIE": cookie, "BENCH_LIVE_PATH": path, "PYTHONPATH": str(REPO_ROOT)}
    spawn_rate = max(1.0, viewers / 2)  # spread over one polling interval
    args = [sys.executable, "-m", "locust", "-f", str(REPO_ROOT / "bench" / "dashboard_locustfile.py"), "--headless",
            "-u", str(viewers), "-r", str(spawn_rate), "-t", f"{seconds + 2}s", "--host", url, "--csv", str(prefix),
            "--only-summary", "--stop-timeout", "3"]
    with (directory / f"{name}-{viewers}.log").open("wb") as out:
        subprocess.run(args, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, preexec_fn=_raise_open_files)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"])}


def staleness(emulator: Emulator, url: str, cookie: str, path: str, pushes: int) -> list[float]:
    """Seconds from each push until the live endpoint, polled every 2 s like the page, shows its execution."""
    lags = []
    browser = requests.Session()
    for number in range(pushes):
        time.sleep(random.uniform(0, 2))  # a push comes at any moment of the page's polling cycle
        pushed = emulator.control("push", {"repository": APP, "account_id": BUILD, "message": f"Push {number}"})
        execution_id = pushed["pipelineExecutions"][0]["pipelineExecutionId"]
        at = time.monotonic()
        phase = random.uniform(0, 2)
        time.sleep(phase)
        while True:
            answer = browser.get(f"{url}{path}", headers={"Cookie": cookie, "X-Portal-Poll": "1"},
                                 allow_redirects=False)
            if answer.status_code != 200:
                raise RuntimeError(f"the live endpoint answered {answer.status_code}: {answer.text[:300]}")
            body = answer.json()
            if body["executions"] and body["executions"][0]["id"] == execution_id:
                lags.append(time.monotonic() - at)
                break
            if time.monotonic() - at > 60:
                raise RuntimeError(f"push {number} never showed")
            time.sleep(2)
    return lags


def render(result: dict[str, Any]) -> str:
    lines = ["| viewers | requests | failures | req/s | p50 ms | p95 ms | p99 ms | portal CPU ms/request "
             "| CodePipeline calls/min | CPU s | load average |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for s in result["scenarios"]:
        load = s.get("load") or {}
        requests_made = load.get("requests", 0)
        # What one answer costs the portal, whatever else the machine does: the figure to compare runs by.
        per_request = (f"{s['cpu_seconds'].get('gunicorn', 0) * 1000 / requests_made:.2f}" if requests_made else "–")
        averages = s.get("load_average")
        lines.append(f"| {s['viewers']} | {requests_made} | {load.get('failures', 0)} | "
                     f"{load.get('rps', 0):.0f} | {load.get('p50_ms', 0):.0f} | {load.get('p95_ms', 0):.0f} | "
                     f"{load.get('p99_ms', 0):.0f} | {per_request} | {s['codepipeline_calls_per_minute']:.1f} | "
                     + ", ".join(f"{k} {v}" for k, v in s["cpu_seconds"].items())
                     + (f" | {averages[0]:.1f} → {averages[1]:.1f} |" if averages else " | – |"))
    if result.get("floor"):
        lines += ["", "Floor: the same viewers against bench/floor_app.py (a 304, nothing else) under the same gunicorn:", "",
                  "| viewers | requests | failures | req/s | p50 ms | p95 ms | p99 ms | CPU ms/request |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for s in result["floor"]:
            load = s["load"]
            per_request = s["cpu_seconds"]["gunicorn"] * 1000 / load["requests"] if load["requests"] else 0
            lines.append(f"| {s['viewers']} | {load['requests']} | {load['failures']} | {load['rps']:.0f} | "
                         f"{load['p50_ms']:.0f} | {load['p95_ms']:.0f} | {load['p99_ms']:.0f} | {per_request:.2f} |")
    lags = result["staleness_seconds"]
    lines.append("")
    lines.append(f"State change → open page (polling every 2 s), {len(lags)} pushes: "
                 f"p50 {percentile(lags, 50):.1f} s, p95 {percentile(lags, 95):.1f} s, max {max(lags):.1f} s.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", default="0,1,200,2000")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the floor: the same viewers against bench/floor_app.py under the same gunicorn")
    parser.add_argument("--gunicorn", default="--workers 2",
                        help="gunicorn's options (default: as the Dockerfile starts it)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    directory = Path(tempfile.mkdtemp(prefix="dashboard-load-"))
    print(f"logs in {directory}", file=sys.stderr)
    database_url = f"sqlite:///{directory / 'portal.db'}"
    upgrade(database_url)
    flush_redis()
    emulator = Emulator(1.0, directory / "emulator.log")
    # This process creates the pipeline with the emulator's default credentials, as the tests do.
    os.environ.update({k: v for k, v in aws_env(emulator.endpoint).items() if k.startswith("AWS_")})
    worker = portal = None
    try:
        create_pipeline(emulator.endpoint)
        # What is measured is the page, not the pipeline's work: timed stand-ins for the actions (the
        # pipeline has no CodeBuild project, so a real Build would fail before the approval).
        emulator.control("actions", {"simulate": True})
        emulator.control("push", {"repository": APP, "account_id": BUILD, "message": "Waits at the approval"})
        setup_id = seed(database_url)
        worker = CeleryWorker(emulator.endpoint, database_url, REPO_ROOT / "templates_cfn", "prefork",
                              directory / "worker.log")
        portal, url = start_portal(database_url, emulator.endpoint, directory / "gunicorn.log",
                                   shlex.split(options.gunicorn))
        cookie = sign_in(url)
        processes = {"gunicorn": portal, "worker": worker.process, "emulator": emulator.process}
        path = f"/pipelines/{setup_id}/live"
        first = requests.get(f"{url}{path}", headers={"Cookie": cookie}, allow_redirects=False)
        if first.status_code != 200:
            raise RuntimeError(f"the live endpoint answered {first.status_code}, not 200: is the viewer signed in?")
        time.sleep(8)  # the first reads: the execution reaches the approval
        scenarios = []
        for viewers in [int(v) for v in options.viewers.split(",")]:
            if viewers == 0:
                time.sleep(35)  # the previous viewers' interest runs out
            emulator.reset_stats()
            load_before = os.getloadavg()[0]  # what else the machine was doing: the run's context
            started = time.monotonic()
            cpu_before = {name: p.cpu_seconds() for name, p in processes.items()}
            locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = run_viewers(url, cookie, path, viewers, options.seconds, directory) if viewers else None
            if not viewers:
                time.sleep(options.seconds)
            minutes = (time.monotonic() - started) / 60
            calls = codepipeline_calls(emulator)
            locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = {name: round(p.cpu_seconds() - cpu_before[name], 1) for name, p in processes.items()}
            cpu["locust"] = round(locust_after.ru_utime + locust_after.ru_stime
                                  - locust_before.ru_utime - locust_before.ru_stime, 1)
            scenarios.append({"viewers": viewers, "load": load, "codepipeline_calls": calls,
                              "codepipeline_calls_per_minute": calls / minutes, "minutes": minutes,
                              "cpu_seconds": cpu, "load_average": [load_before, os.getloadavg()[0]]})
            logger.info("%s viewers: %s, %s CodePipeline calls", viewers, load, calls)
        floors = [] if options.no_floor else measure_floor(options, [int(v) for v in options.viewers.split(",")
                                                                      if int(v) > 0], path, directory)
        lags = staleness(emulator, url, cookie, path, options.pushes)
        result = {"scenarios": scenarios, "floor": floors, "staleness_seconds": lags, "seconds": options.seconds,
                  "cpus": os.cpu_count(), "gunicorn": options.gunicorn}
    finally:
        for process in (portal, worker, emulator):
            if process is not None:
                process.stop()
        flush_redis()
    out = options.out or REPO_ROOT / "bench" / "results" / f"dashboard_load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1))
    print(render(result))


if __name__ == "__main__":
    main()
