"""``python -m emulator``: serves on the given port, with the given pace and the demo accounts."""
from __future__ import annotations

import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from tests.emulator.helpers import control, make_client
from tests.waiting import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def answered_pace(endpoint: str) -> dict | None:
    try:
        return control(endpoint, "pace")
    except (urllib.error.URLError, ConnectionError):
        return None  # not listening yet


def test_main_serves_with_pace_and_demo_accounts(tmp_path):
    port, log = free_port(), tmp_path / "emulator.log"
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port), "--pace", "0.5", "--demo"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        pace = wait_for(lambda: answered_pace(endpoint), 30, "the emulator to start", interval=0.2,
                        process=process, output=log.read_text)

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
