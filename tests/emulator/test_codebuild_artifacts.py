"""The buildspec's artifact rules (files globs, base-directory, discard-paths, exclude-paths) and its reading."""
from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.codebuild import artifacts, buildspec, toolchains
from emulator.codebuild.buildspec import FileSet

TREE = ["packaged.yaml", "config/staging.json", "config/production.json", "build/bootstrap",
        "internal/api/handler.go", "internal/api/deep/x.go", "README.md"]


def _tree(root: Path, names=TREE) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


def _names(root: Path, **kwargs) -> list[str]:
    return sorted(artifacts.select(root, FileSet(**kwargs)))


@pytest.mark.parametrize(("files", "expected"), [
    (("**/*",), sorted(TREE)),
    (("*",), ["README.md", "packaged.yaml"]),  # one segment: the top level only
    (("config/*.json",), ["config/production.json", "config/staging.json"]),
    (("internal/**/*.go",), ["internal/api/deep/x.go", "internal/api/handler.go"]),
    (("./packaged.yaml", "build/bootstrap"), ["build/bootstrap", "packaged.yaml"]),
    (("internal/**/x.go",), ["internal/api/deep/x.go"]),
])
def test_file_patterns_match_as_the_buildspec_reference_describes(tmp_path, files, expected):
    assert _names(_tree(tmp_path), files=files) == expected


def test_base_directory_roots_the_paths_and_discard_paths_flattens_them(tmp_path):
    root = _tree(tmp_path)
    assert _names(root, files=("**/*",), base_directory="internal") == ["api/deep/x.go", "api/handler.go"]
    assert _names(root, files=("**/*",), base_directory="internal", discard_paths=True) == ["handler.go", "x.go"]
    assert _names(root, files=("**/*",), exclude_paths=("internal/**/*", "*.md")) == [
        "build/bootstrap", "config/production.json", "config/staging.json", "packaged.yaml"]


@pytest.mark.parametrize("fileset", [
    FileSet(("dist/*",)), FileSet(("**/*",), base_directory="missing"), FileSet(("*.json",)),
])
def test_nothing_matched_is_codebuilds_client_error(tmp_path, fileset):
    with pytest.raises(artifacts.ArtifactError, match="no matching artifact paths found"):
        artifacts.select(_tree(tmp_path), fileset)


def test_a_base_directory_outside_the_source_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(artifacts.ArtifactError, match="outside the source directory"):
        artifacts.select(tmp_path / "src", FileSet(("**/*",), base_directory="../"))


def test_the_zip_keeps_modes_and_unzip_refuses_entries_escaping_the_target(tmp_path):
    tool = tmp_path / "bootstrap"
    tool.write_bytes(b"\x7fELF")
    tool.chmod(0o755)
    data = artifacts.zip_files({"bootstrap": tool})
    assert artifacts.unzip(data, tmp_path / "out") == 1
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "bootstrap").st_mode) == 0o755
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escaped", "x")
    with pytest.raises(artifacts.ArtifactError, match="outside"):
        artifacts.unzip(evil.getvalue(), tmp_path / "target")


segment = st.text(alphabet="abcxyz", min_size=1, max_size=4)
relative_paths = st.lists(st.lists(segment, min_size=1, max_size=4).map("/".join), min_size=1, max_size=12,
                          unique=True)


@settings(max_examples=60, deadline=None)
@given(paths=relative_paths)
def test_every_file_glob_selects_exactly_the_files_under_the_base_directory(tmp_path_factory, paths):
    paths = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]  # a file cannot be a directory
    root = _tree(tmp_path_factory.mktemp("tree"), paths)
    assert _names(root, files=("**/*",)) == sorted(paths)
    top = sorted({p.split("/")[0] for p in paths if "/" in p})
    if top:
        base = top[0]
        assert _names(root, files=("**/*",), base_directory=base) == sorted(
            p[len(base) + 1:] for p in paths if p.startswith(base + "/"))
    flat = _names(root, files=("**/*",), discard_paths=True)
    assert flat == sorted({p.rsplit("/", 1)[-1] for p in paths})


@given(first=st.lists(segment, min_size=1, max_size=3), second=st.lists(segment, min_size=1, max_size=3))
def test_a_star_never_crosses_a_directory(first, second):
    path = "/".join(first + second)
    assert artifacts.pattern("*").match(path) is None or len(first + second) == 1
    assert artifacts.pattern("**/*").match(path)


def test_the_sample_apps_buildspec_reads_as_codebuild_reads_it():
    spec = buildspec.parse((Path(__file__).resolve().parents[2] / "sample_app" / "buildspec.yaml").read_text())
    assert spec.variables == {"GOTOOLCHAIN": "local", "GOPROXY": "off"}
    assert spec.phases["install"].runtime_versions == {"golang": "1.23"}
    assert spec.phases["build"].commands == ('cd "$CODEBUILD_SRC_DIR/sample_app"', "make build package")
    assert spec.artifacts == FileSet(("packaged.yaml", "config/staging.json", "config/production.json"),
                                     "sample_app", False)
    assert [(r.name, r.files.base_directory) for r in spec.reports] == [("go-tests", "sample_app/reports")]


@pytest.mark.parametrize(("text", "message"), [
    ("version: 0.1\nphases: {}\n", "version 0.1"),
    ("version: 0.2\nproxy:\n  upload-artifacts: yes\n", "proxy is not emulated"),
    ("version: 0.2\nphases:\n  compile:\n    commands: [make]\n", "unknown phase 'compile'"),
    ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n", "invalid on-failure 'RETRY'"),
    ("version: 0.2\nphases:\n  build:\n    runtime-versions:\n      golang: 1.23\n", "only allowed in the install"),
    ("version: 0.2\nartifacts:\n  discard-paths: yes\n", "artifacts/files is required"),
    ("version: 0.2\nenv:\n  secrets-manager:\n    X: s:k\n", "env/secrets-manager is not emulated"),
    ("- just a list\n", "expected structure"),
])
def test_what_the_emulator_would_not_carry_out_is_refused(text, message):
    with pytest.raises(buildspec.BuildspecError, match=message):
        buildspec.parse(text)


def test_numbers_stay_as_written():
    spec = buildspec.parse("version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: 1.20\n")
    assert spec.phases["install"].runtime_versions == {"golang": "1.20"}  # not the float 1.2


@pytest.mark.parametrize(("host", "requested", "honoured"), [
    ("1.27.3", "1.23", True), ("1.27.3", "1.27", True), ("1.27.3", "1.28", False), ("1.27.3", "2.0", False),
    ("3.11.7", "3.11", True), ("3.11.7", "3.12", False), ("1.27.3", "1", True),
])
def test_a_newer_host_toolchain_of_the_same_major_version_honours_a_request(host, requested, honoured):
    assert toolchains.honours(host, requested) is honoured
