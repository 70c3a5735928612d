"""Deployment lag benchmark: one worker process following stacks vs ``aws cloudformation deploy``.

    .venv/bin/python bench/deploy_lag.py [--stacks 1,50] [--pace 0.5] [--pool solo]
                                         [--database-url URL] [--out bench/results/x.json]
    .venv/bin/python bench/deploy_lag.py --render bench/results/x.json   # print a result's table again

Starts the emulator (--demo, the given pace), a fresh migrated database, Redis db 6 (flushed
before and after) and ONE Celery worker process; then, per scenario of N concurrent stacks, plans
and applies N single-account setups as the portal would, and runs N awscli deploys of the same
deploy-dependencies template as the peer. See bench/README.md for what each number means.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import shutil
import string
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

# Run as a script (bench/deploy_lag.py): make the repository importable as a package root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report, scenarios  # noqa: E402
from bench.services import BENCH_REDIS, CeleryWorker, Emulator, flush_redis  # noqa: E402
from core.config import REPO_ROOT  # noqa: E402
from core.db import make_engine, make_session_factory, upgrade  # noqa: E402

logger = logging.getLogger("bench.deploy_lag")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", default="1,50",
                        help="comma-separated scenarios: how many stacks deploy at once (default 1,50)")
    parser.add_argument("--pace", type=float, default=0.5, help="emulator seconds per stack event (default 0.5)")
    parser.add_argument("--pool", choices=("solo", "prefork"), default="solo",
                        help="Celery pool of the one worker process (default solo; prefork runs one child)")
    parser.add_argument("--database-url", default="", help="a database to migrate and use (default: fresh SQLite)")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file (default bench/results/deploy_lag-<time>.json)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds each phase may take (default 180)")
    parser.add_argument("--modes", default="polling,events",
                        help="comma-separated: polling (the create scenario and the update scenario, polling "
                             "only, and the awscli peer), events (the update scenario followed from events)")
    parser.add_argument("--render", type=Path, default=None, help="print the table of an existing result file and exit")
    parser.add_argument("--broker", default=BENCH_REDIS,
                        help=f"the Redis database the worker and the benchmark share, flushed before and after "
                             f"(default {BENCH_REDIS}); give another when a second benchmark runs on the machine")
    args = parser.parse_args(argv)
    try:
        args.stacks = [int(n) for n in args.stacks.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--stacks takes numbers like 1,50, not {args.stacks!r}")
    if not args.stacks or min(args.stacks) < 1 or max(args.stacks) > 99:
        parser.error("--stacks takes numbers from 1 to 99")
    if len(set(args.stacks)) != len(args.stacks):
        parser.error("--stacks lists each scenario once")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or set(args.modes) - {"polling", "events"}:
        parser.error("--modes takes polling, events or both")
    if args.pace <= 0:
        parser.error("--pace must be positive: the benchmark measures lags against paced events")
    return args


def _finite(value: Any) -> Any:
    """JSON has no NaN: write an undefined measure (no data) as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def snapshot_templates(workdir: Path) -> Path:
    """Copy templates_cfn/*.yaml aside: the worker and awscli deploy that copy.

    Others edit the repository while the benchmark runs, and the worker rightly refuses to
    apply a plan whose templates changed since (StalePlan); a copy keeps the run consistent.
    """
    target = workdir / "templates_cfn"
    target.mkdir()
    for template in (REPO_ROOT / "templates_cfn").glob("*.yaml"):
        shutil.copy2(template, target / template.name)
    return target


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    # Names carry a tag of this run, so a reused --database-url never meets its own setups again.
    tag = "".join(random.choices(string.ascii_lowercase, k=3))
    load_before = os.getloadavg()
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    flush_redis(args.broker)
    templates = snapshot_templates(workdir)
    emulator = worker = None
    results = [{"concurrent": stacks, "pace": args.pace} for stacks in args.stacks]
    try:
        emulator = Emulator(args.pace, workdir / "emulator.log")
        for events in [m == "events" for m in args.modes]:
            log = workdir / f"worker-{'events' if events else 'polling'}.log"
            worker = CeleryWorker(emulator.endpoint, database_url, templates, args.pool, log,
                                  broker=args.broker, events=events, dashboard=False)
            for result in results:
                stacks = result["concurrent"]
                if not events:
                    logger.info("scenario: %d stack(s) at once, worker", stacks)
                    result["worker"] = scenarios.run_worker(emulator, worker, factory, args.broker, stacks,
                                                            f"w{stacks}{tag}", args.timeout)
                    logger.info("scenario: %d stack(s) at once, awscli peer", stacks)
                    result["peer"] = scenarios.run_peer(emulator, templates, stacks, f"p{stacks}{tag}", args.timeout)
                mode = "events" if events else "polling"
                logger.info("scenario: %d update(s) at once, worker %s", stacks, mode)
                result[f"update_{mode}"] = scenarios.run_worker_update(
                    emulator, worker, factory, args.broker, stacks, f"{mode[0]}u{stacks}{tag}", args.timeout)
            if not worker.process.alive():
                raise RuntimeError(f"the worker died during the benchmark:\n{worker.process.output()[-3000:]}")
            worker.stop()
            worker = None
    finally:
        if worker is not None:
            worker.stop()
        if emulator is not None:
            emulator.stop()
        flush_redis(args.broker)
        engine.dispose()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "pace": args.pace, "pool": args.pool, "cpus": os.cpu_count(),
        "database": make_url(database_url).get_backend_name() + ("" if args.database_url else " (fresh file)"),
        "logs": str(workdir),
        "templates_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                             for p in sorted(templates.glob("*.yaml"))},
        # The machine is shared: the load around the run says how much else competed for it.
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "modes": args.modes,
        "scenarios": results,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        print(report.render(json.loads(args.render.read_text())))
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="deploy-lag-"))
    logger.info("logs and database under %s", workdir)
    result = _finite(run(args, workdir))
    out = args.out or REPO_ROOT / "bench" / "results" / f"deploy_lag-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report.render(result))
    print(f"Result file: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
