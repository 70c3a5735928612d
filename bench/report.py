"""Render a result file's numbers as the Markdown table printed on stdout (and pasted in the README)."""
from __future__ import annotations

import math
from typing import Any

from bench import measures

NOT_APPLICABLE = "n/a (does not read events)"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _verdict(result: dict[str, Any], name: str) -> str:
    for target in result["targets"]:
        if target["name"] == name:
            return "PASS" if target["passed"] else "FAIL"
    return ""


def _lags(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return NOT_APPLICABLE
    return " / ".join(_num(summary[k]) for k in ("p50", "p95", "max", "mean"))


def scenario_table(scenario: dict[str, Any]) -> str:
    worker, peer = scenario["worker"], scenario["peer"]
    rows = [
        ("event lag p50 / p95 / max / mean (s)", "—", _lags(worker["event_lag"]), "", _lags(peer["event_lag"]), ""),
    ]
    for key, name, limit in (
        ("mean", "completion lag mean (s)", measures.COMPLETION_MEAN_LIMIT),
        ("p95", "completion lag p95 (s)", measures.COMPLETION_P95_LIMIT),
    ):
        rows.append((name, f"≤ {limit:g}", _num(worker["completion_lag"][key]), _verdict(worker, name),
                     _num(peer["completion_lag"][key]), _verdict(peer, name)))
    name = "CloudFormation calls per stack-minute"
    rows.append((name, f"≤ {measures.CALLS_PER_STACK_MINUTE_LIMIT:g}", _num(worker["calls_per_stack_minute"], 1),
                 _verdict(worker, name), _num(peer["calls_per_stack_minute"], 1), _verdict(peer, name)))
    rows += [
        ("completion lag max (s)", "", _num(worker["completion_lag"]["max"]), "",
         _num(peer["completion_lag"]["max"]), ""),
        ("CloudFormation calls / stack-minutes", "", f"{worker['cloudformation_calls']} / "
         f"{_num(worker['stack_minutes'])}", "", f"{peer['cloudformation_calls']} / {_num(peer['stack_minutes'])}", ""),
        ("status polls per stack-minute (worker DescribeStackEvents, awscli DescribeStacks)", "",
         _num(worker["status_polls_per_stack_minute"], 1), "", _num(peer["status_polls_per_stack_minute"], 1), ""),
        ("stacks (peak in flight at once)", "", f"{worker['stacks']} ({worker['peak_concurrent_stacks']})", "",
         f"{peer['stacks']} ({peer['peak_concurrent_stacks']})", ""),
    ]
    lines = [
        f"### {scenario['concurrent']} stack(s) at once, pace {scenario['pace']:g} s/event",
        "",
        "| measure | target | worker | | awscli deploy | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", _worker_notes(worker), "", _peer_notes(peer)]
    return "\n".join(lines)


def _peer_notes(peer: dict[str, Any]) -> str:
    actions = peer["calls"].get("cloudformation", {})
    breakdown = ", ".join(f"{a} {n}" for a, n in sorted(actions.items(), key=lambda kv: -kv[1]))
    return (f"awscli: CloudFormation calls {breakdown} ({_num(peer['calls_per_stack'], 1)} per stack, change set "
            f"creation included); {_num(peer['seconds'], 1)} s in all, CPU {_cpu(peer.get('cpu_seconds'))}.")


def _worker_notes(worker: dict[str, Any]) -> str:
    by_role = ", ".join(f"{role} stacks mean {_num(s['mean'])} s / p95 {_num(s['p95'])} s (n={s['count']})"
                        for role, s in worker["completion_lag_by_role"].items())
    slowest = sorted((op for op in worker["per_operation"] if op["finished_minus_last_terminal"] is not None),
                     key=lambda op: op["finished_minus_last_terminal"], reverse=True)[:3]
    ops = ", ".join(f"#{op['operation_id']} {_num(op['finished_minus_last_terminal'])} s" for op in slowest)
    actions = worker["apply_calls"].get("cloudformation", {})
    breakdown = ", ".join(f"{a} {n}" for a, n in sorted(actions.items(), key=lambda kv: -kv[1]))
    return (
        f"Worker: completion lag by role: {by_role}. Operation finished minus its last stack's final event, "
        f"slowest: {ops}. Apply-phase CloudFormation calls: {breakdown} ({_num(worker['calls_per_stack'], 1)} per "
        f"stack). Plan phase (not counted above): {worker['plan_cloudformation_calls']} CloudFormation calls in "
        f"{_num(worker['plan_seconds'], 1)} s; apply phase {_num(worker['apply_seconds'], 1)} s using CPU "
        f"{_cpu(worker.get('apply_cpu_seconds'))}. Events stored "
        f"{worker['events_emitted'] - len(worker['events_missing'])} of {worker['events_emitted']}"
        + (f" (never stored: {'; '.join(worker['events_missing'][:3])})." if worker["events_missing"] else ".")
    )


def _cpu(used: dict[str, float] | None) -> str:
    if not used:
        return "—"
    return ", ".join(f"{name} {_num(seconds, 1)} s" for name, seconds in used.items() if seconds)


def _load(averages: list[float] | None) -> str:
    return "/".join(f"{a:.1f}" for a in averages) if averages else "—"


# The event-driven targets (issue "Event-driven following"), for the update scenario.
EVENT_LAG_P95_LIMIT = 1.0
EVENTS_COMPLETION_P95_LIMIT = 0.5
EVENTS_CALLS_PER_STACK_MINUTE_LIMIT = 5.0


def _check(value: Any, limit: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return "PASS" if value <= limit else "FAIL"


def update_table(scenario: dict[str, Any]) -> str:
    """The update scenario, polling and events side by side, against the event-driven targets."""
    modes = [(name, scenario[f"update_{name}"]) for name in ("polling", "events") if f"update_{name}" in scenario]
    if not modes:
        return ""

    def row(name: str, target: str, value: Any, limit: float | None, digits: int = 2) -> str:
        cells = []
        for _, result in modes:
            v = value(result)
            cells += [_num(v, digits), _check(v, limit) if limit is not None else ""]
        return "| " + " | ".join([name, target] + cells) + " |"

    def calls(result: dict[str, Any], action: str) -> int:
        return result["apply_calls"].get("cloudformation", {}).get(action, 0)

    lines = [f"### {scenario['concurrent']} update(s) at once, pace {scenario['pace']:g} s/event",
             "", "| measure | target | " + " | ".join(f"worker, {n} | " for n, _ in modes) + "",
             "| --- | --- | " + " | ".join("--- | ---" for _ in modes) + " |",
             row("event lag p95 (s)", f"≤ {EVENT_LAG_P95_LIMIT:g}", lambda r: r["event_lag"]["p95"], EVENT_LAG_P95_LIMIT),
             row("event lag p50 / max / mean (s)", "", lambda r: " / ".join(
                 _num(r["event_lag"][k]) for k in ("p50", "max", "mean")), None),
             row("completion lag p95 (s)", f"≤ {EVENTS_COMPLETION_P95_LIMIT:g}", lambda r: r["completion_lag"]["p95"],
                 EVENTS_COMPLETION_P95_LIMIT),
             row("completion lag mean / max (s)", "", lambda r: " / ".join(
                 _num(r["completion_lag"][k]) for k in ("mean", "max")), None),
             row("CloudFormation calls per stack-minute", f"≤ {EVENTS_CALLS_PER_STACK_MINUTE_LIMIT:g}",
                 lambda r: r["calls_per_stack_minute"], EVENTS_CALLS_PER_STACK_MINUTE_LIMIT, 1),
             row("status polls (DescribeStackEvents) per stack-minute", "", lambda r: r["status_polls_per_stack_minute"],
                 None, 1),
             row("calls per stack", "", lambda r: r["calls_per_stack"], None, 1),
             row("DescribeStackEvents calls", "", lambda r: f"{calls(r, 'DescribeStackEvents')}", None),
             row("stack-minutes", "", lambda r: r["stack_minutes"], None),
             row("events stored", "", lambda r: f"{r['events_emitted'] - len(r['events_missing'])} of "
                 f"{r['events_emitted']}", None),
             row("stacks (peak in flight)", "", lambda r: f"{r['stacks']} ({r['peak_concurrent_stacks']})", None)]
    notes = [f"{name}: apply-phase CloudFormation calls "
             + ", ".join(f"{a} {n}" for a, n in sorted(r["apply_calls"].get("cloudformation", {}).items(),
                                                       key=lambda kv: -kv[1]))
             + f"; worker CPU {_cpu(r.get('apply_cpu_seconds'))}." for name, r in modes]
    return "\n".join(lines + [""] + notes)


def render(result: dict[str, Any]) -> str:
    head = (f"## Deployment lag benchmark — {result['date']}\n\n"
            f"One Celery worker process (`--pool {result['pool']} --concurrency 1`), emulator pace "
            f"{result['pace']:g} s per event, database {result['database']}, {result['cpus']} CPU(s) shared, "
            f"load average {_load(result.get('load_average_before'))} before and "
            f"{_load(result.get('load_average_after'))} after.\n")
    tables = [scenario_table(s) for s in result["scenarios"] if "worker" in s]
    tables += [update_table(s) for s in result["scenarios"] if any(k.startswith("update_") for k in s)]
    return "\n\n".join([head] + tables) + "\n"
