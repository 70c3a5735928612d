"""Locust viewers of one pipeline page: each polls its live endpoint every 2 s, as the page's script does.

Run by bench/dashboard_load.py (``locust -f bench/dashboard_locustfile.py --headless ...``), which
passes the signed-in session's cookie and the endpoint in BENCH_COOKIE and BENCH_LIVE_PATH.
``constant_pacing(2)`` starts each viewer's next request 2 s after its previous one started, whatever
the answer's time, so a slow server does not slow the load (until an answer takes longer than 2 s).
Each viewer keeps the ETag it was given and sends If-None-Match, so an unchanged pipeline is a 304.
"""
from __future__ import annotations

import os
import random
import time

from locust import FastHttpUser, constant_pacing, task

INTERVAL = 2.0


class Viewer(FastHttpUser):
    wait_time = constant_pacing(INTERVAL)

    def on_start(self) -> None:
        self.etag = ""
        self.cookie = os.environ["BENCH_COOKIE"]
        self.path = os.environ["BENCH_LIVE_PATH"]
        # Browsers open the page at any moment: each viewer's 2 s cycle starts at its own phase, so the
        # polls spread over the interval instead of arriving in the bursts Locust's spawning makes.
        time.sleep(random.uniform(0, INTERVAL))  # gevent-patched: this viewer alone waits

    @task
    def poll(self) -> None:
        # X-Portal-Poll: a poll is not activity, so it does not keep the sign-in session alive (portal/sessions.py).
        headers = {"Cookie": self.cookie, "Accept": "application/json", "X-Portal-Poll": "1"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        # No redirects followed: a redirect to the sign-in page is a failure, not a fast answer.
        with self.client.get(self.path, headers=headers, name="live", catch_response=True,
                             allow_redirects=False) as response:
            if response.status_code == 304:
                response.success()
            elif response.status_code == 200:
                self.etag = response.headers.get("ETag", "")
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")
