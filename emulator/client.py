"""A client of the emulator's control API, for tests, benchmarks and scripts (never the portal or worker)."""
from __future__ import annotations

import json
import urllib.request
from typing import Any


def control(endpoint: str, path: str, body: dict[str, Any] | None = None, method: str | None = None,
            timeout: float = 10) -> Any:
    """Call ``/_emulator/<path>``, e.g. ``control(url, "pace", {"seconds": 0.2})``; POST when there is a body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{endpoint}/_emulator/{path}", data=data,
                                     method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")
