"""The portal's packages import in one direction: setups' pages show deployments, never the reverse."""
from __future__ import annotations

import ast

from core.config import REPO_ROOT


def imported_modules(package: str) -> set[str]:
    found = set()
    for path in (REPO_ROOT / "portal" / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_deployments_never_import_setups():
    assert sorted(m for m in imported_modules("deployments") if m.startswith("portal.setups")) == []

