"""The portal never loads the AWS SDK, the worker never loads the web stack, and core loads neither.

Two checks, because each misses what the other sees: walking every module's imports with ``ast``
finds an import in a branch no test runs (inside a function, under ``if``); ``sys.modules`` after
creating the app / importing the tasks finds what an allowed library drags in behind our back.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

AWS = {"boto3", "botocore", "s3transfer"}
WEB = {"flask", "flask_login", "flask_wtf", "werkzeug", "wtforms", "jinja2", "itsdangerous"}
FORBIDDEN = {
    "portal": AWS | {"worker", "emulator"},
    "worker": WEB | {"portal", "emulator"},
    "core": AWS | WEB | {"portal", "worker", "emulator", "celery", "kombu"},
}


def top_level_imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (line, top-level package), wherever the import statement is."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {name}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, name in top_level_imports(path) if name in FORBIDDEN[package]]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_across_the_boundary(package):
    assert violations(package) == []


@pytest.mark.parametrize("source, imported", [
    ("import botocore.client\n", "botocore"),
    ("from flask_login import current_user\n", "flask_login"),
    ("def f():\n    from werkzeug.security import check_password_hash\n", "werkzeug"),
    ("if True:\n    import flask_wtf as forms\n", "flask_wtf"),
    ("import os, boto3\n", "boto3"),
])
def test_the_walk_sees_imports_the_old_pattern_let_through(tmp_path, source, imported):
    module = tmp_path / "m.py"
    module.write_text(source)
    assert imported in {name for _, name in top_level_imports(module)}


def test_the_walk_ignores_relative_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from . import flask\nfrom .boto3 import x\n")
    assert top_level_imports(module) == []


def loaded_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PORTAL_ENV": "development"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_created_portal_has_not_loaded_the_aws_sdk_or_the_worker(tmp_path):
    code = ("from portal import create_app\n"
            f"app = create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/p.db', 'SECRET_KEY': 'x' * 48,"
            " 'CELERY_BROKER_URL': 'redis://127.0.0.1:6379/9'})\n"
            "client = app.test_client()\n"
            "assert client.get('/login').status_code == 200\n"
            "assert client.get('/healthz').status_code in (200, 503)")
    loaded = loaded_after(code)
    assert "flask" in loaded  # the probe really built the app
    assert loaded & FORBIDDEN["portal"] == set()


def test_the_imported_worker_has_not_loaded_the_web_stack_or_the_portal():
    loaded = loaded_after("import worker.celery_app, worker.tasks")
    assert "celery" in loaded and "boto3" in loaded  # the probe really imported the worker
    assert loaded & FORBIDDEN["worker"] == set()


def test_core_loads_neither_web_nor_aws_libraries():
    loaded = loaded_after("import core.config, core.db, core.lifecycle, core.models, core.plans, "
                          "core.regions, core.validation\ncore.regions.pipeline_regions()")
    assert "sqlalchemy" in loaded
    assert loaded & FORBIDDEN["core"] == set()
