"""bench/dashboard_load.py's table from synthetic results (nothing is started or timed here)."""
from __future__ import annotations

from bench.dashboard_load import render


def test_the_table_names_every_scenario_and_the_staleness():
    result = {"scenarios": [
        {"viewers": 0, "load": None, "codepipeline_calls": 3, "codepipeline_calls_per_minute": 3.0,
         "cpu_seconds": {"gunicorn": 0.1}},
        {"viewers": 200, "load": {"requests": 6000, "failures": 0, "rps": 100.0, "p50_ms": 5.0, "p95_ms": 20.0,
                                  "p99_ms": 40.0},
         "codepipeline_calls": 60, "codepipeline_calls_per_minute": 60.0, "cpu_seconds": {"gunicorn": 17.0},
         "load_average": [0.5, 1.25]},
    ], "floor": [{"viewers": 200, "load": {"requests": 6000, "failures": 0, "rps": 100.0, "p50_ms": 3.0,
                                             "p95_ms": 9.0, "p99_ms": 12.0}, "cpu_seconds": {"gunicorn": 3.0}}],
        "staleness_seconds": [1.0, 2.0, 3.0, 4.0]}
    table = render(result)
    assert "| 0 | 0 | 0 | 0 | 0 | 0 | 0 | – | 3.0 | gunicorn 0.1 | – |" in table
    # 17 CPU-s over 6,000 answers: 2.83 ms each; the machine's load average before and after the scenario.
    assert "| 200 | 6000 | 0 | 100 | 5 | 20 | 40 | 2.83 | 60.0 | gunicorn 17.0 | 0.5 → 1.2 |" in table
    assert "| 200 | 6000 | 0 | 100 | 3 | 9 | 12 | 0.50 |" in table  # the floor beside it
    assert "4 pushes: p50 2.5 s" in table and "max 4.0 s" in table
