"""``python -m emulator``: serves on the given port, with the given pace and the demo accounts."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

from tests.emulator.helpers import control, make_client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_main_serves_with_pace_and_demo_accounts():
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port), "--pace", "0.5", "--demo"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pace = control(endpoint, "pace")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.2)

        assert pace == {"seconds": 0.5}
        role = make_client(endpoint, "sts").assume_role(
            RoleArn="arn:aws:iam::222222222222:role/OrganizationAccountAccessRole", RoleSessionName="main-test")
        assert role["AssumedRoleUser"]["Arn"].startswith("arn:aws:sts::222222222222:assumed-role/")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("args", [["--pace", "-1"], ["--port", "http"]])
def test_main_rejects_bad_arguments(args):
    result = subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)

    assert result.returncode == 2
    assert "usage: python -m emulator" in result.stderr
