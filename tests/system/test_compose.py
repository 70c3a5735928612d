"""docker-compose.yml is written for users with Docker; no engine runs here, so it is checked by reading it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Variables boto3/botocore and the AWS CLI read themselves, not our code.
AWS_STANDARD = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                "AWS_PROFILE", "AWS_REGION"}
IMAGE_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def variables_read_by(package: str) -> set[str]:
    """Every environment variable named in os.environ / os.getenv calls under a package."""
    # os.environ[...], os.getenv(...), and environ.get(...) on a mapping passed around as "environ".
    pattern = re.compile(r"""(?:environ(?:\.get)?|getenv)\s*[\[(]\s*["']([A-Z0-9_]+)["']""")
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        names.update(pattern.findall(path.read_text()))
    return names


def test_compose_runs_every_part_of_the_system():
    assert set(SERVICES) == {"portal", "worker", "redis", "postgres", "emulator"}


@pytest.mark.parametrize(
    ("service", "packages"),
    [("portal", ["portal", "core"]), ("worker", ["worker", "core"])],
)
def test_every_variable_compose_sets_is_read_by_the_code(service, packages):
    read = set().union(*(variables_read_by(p) for p in packages)) | AWS_STANDARD
    unused = set(SERVICES[service]["environment"]) - read
    assert not unused, f"{service} sets variables no code reads: {sorted(unused)}"


def test_portal_gets_what_it_requires_outside_development():
    env = SERVICES["portal"]["environment"]
    assert env["PORTAL_ENV"] != "development"
    assert env["PORTAL_SECRET_KEY"]
    assert env["PORTAL_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_portal_and_worker_share_database_and_broker():
    for name in ("PORTAL_DATABASE_URL", "CELERY_BROKER_URL"):
        assert SERVICES["portal"]["environment"][name] == SERVICES["worker"]["environment"][name]
    database = SERVICES["portal"]["environment"]["PORTAL_DATABASE_URL"]
    pg = SERVICES["postgres"]["environment"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}" in database
    assert SERVICES["worker"]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:6379")


def test_worker_reaches_the_emulator_service_on_its_port():
    endpoint = SERVICES["worker"]["environment"]["AWS_ENDPOINT_URL"]
    command = SERVICES["emulator"]["command"]
    assert endpoint == f"http://emulator:{command[command.index('--port') + 1]}"
    assert command[command.index("--host") + 1] == "0.0.0.0"  # reachable from other containers


def test_portal_command_names_the_wsgi_app():
    command = SERVICES["portal"]["command"]
    assert command[0] == "gunicorn"
    module, _, attribute = command[-1].partition(":")
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}, sys; sys.exit(0 if callable({module}.{attribute}) else 1)"],
        cwd=ROOT, env={"PORTAL_ENV": "development", "PORTAL_DATABASE_URL": "sqlite://", "PATH": ""},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_worker_command_names_the_celery_app():
    command = SERVICES["worker"]["command"]
    app_module = command[command.index("-A") + 1]
    result = subprocess.run(
        [sys.executable, "-c", f"import {app_module} as m; m.app.loader.import_default_modules(); "
         "print(sorted(t for t in m.app.tasks if t.startswith('worker.')))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for task in ("worker.plan_setup", "worker.apply_setup", "worker.teardown_setup"):
        assert task in result.stdout


def test_emulator_command_flags_exist():
    command = SERVICES["emulator"]["command"]
    help_text = subprocess.run([sys.executable, "-m", "emulator", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60).stdout
    for flag in (part for part in command if part.startswith("--")):
        assert flag in help_text


def test_healthchecks_gate_the_worker_on_migrated_database():
    assert SERVICES["worker"]["depends_on"]["portal"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(SERVICES["portal"]["healthcheck"]["test"])


def test_dockerfile_copies_every_package_the_commands_import():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("core", "portal", "worker", "emulator", "templates_cfn"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "USER " in dockerfile  # not root


def test_long_running_services_are_restarted_because_celery_exits_when_redis_goes_away():
    for name in ("portal", "worker", "emulator"):
        assert SERVICES[name]["restart"] == "unless-stopped"
