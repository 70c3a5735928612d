"""The README's two commands, the Makefile and CI agree (import boundaries: test_boundaries.py)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md must have a '## Two commands' section with a sh block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_setup_commands():
    assert readme_commands() == ["make run", "make test"]


def test_makefile_has_the_readme_targets():
    makefile = (ROOT / "Makefile").read_text()
    for command in readme_commands():
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M)


def test_ci_runs_the_readme_test_command():
    assert re.search(r"^make test\b", (ROOT / ".ci/run").read_text(), re.M)


def test_moto_is_pinned_exactly_because_the_emulator_uses_its_internals():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    moto = [d for d in project["optional-dependencies"]["emulator"] if d.startswith("moto")]
    assert len(moto) == 1 and "==" in moto[0]

