"""The emulator's seam to moto: what it patches and what it relies on, checked against moto.

After a moto upgrade, the first test names every internal that moved or changed kind: those are
the places to re-check. The scans keep the lists complete: a new import from moto, a new private
attribute, or a patch made outside ``emulator.patches`` fails here until it is declared.
"""
from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

import botocore.exceptions
import pytest

from emulator.install import install, patches
from emulator.moto_internals import INTERNALS
from emulator.patches import MOTO, TESTED_MOTO_VERSION, Patch
from tests.emulator.helpers import control

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "emulator"
REGISTRY_MODULE = EMULATOR / "patches.py"
EXTENSIONS = ("cfn", "codecommit", "codepipeline", "sts", "s3policy", "eventbridge", "codebuild")  # as emulator.install has them


@pytest.fixture(autouse=True)
def _reset_emulator():
    """No emulator for these checks: they must run (and report) on a moto the emulator refuses."""


def _declared() -> set[str]:
    return {internal.target for internal in INTERNALS} | {patch.target for patch in patches()}


def _patches_or_import_problems() -> tuple[tuple[Patch, ...], list[str]]:
    found: tuple[Patch, ...] = ()
    problems = []
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(f"emulator.{name}")
            found += module.patches() if name in ("cfn", "eventbridge") else module.PATCHES
        except ImportError as err:  # a name moved in moto: the module cannot even be imported
            problems.append(f"emulator.{name} cannot be imported: {err}")
    return found, problems


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(EMULATOR.rglob("*.py"))]


def _moto_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> target of every ``from moto... import name`` in a module."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return names


def test_every_internal_and_every_patched_original_is_still_what_the_emulator_expects():
    # No install() here: on an untested moto this test still runs and lists what to re-check.
    found, problems = _patches_or_import_problems()

    problems += MOTO.problems(INTERNALS + tuple(patch.internal for patch in found))

    assert problems == [], "moto changed under the emulator; re-check:\n" + "\n".join(problems)


def test_install_installs_every_extension_s_patches():
    install()

    assert [patch.target for patch in patches()] == [patch.target for patch in _patches_or_import_problems()[0]]
    assert {patch.target for patch in MOTO.installed()} >= {patch.target for patch in patches()}


def test_every_name_imported_from_moto_is_declared():
    declared = _declared()
    undeclared = sorted(
        f"{path.relative_to(ROOT)}: {target}"
        for path, tree in _modules()
        for target in _moto_imports(tree).values()
        if target not in declared
    )

    assert undeclared == [], "declare these in emulator/moto_internals.py:\n" + "\n".join(undeclared)


def _own_private_names(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """Private names the emulator's own code defines (functions, classes, attributes it sets on self)."""
    names = set()
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)  # dataclass fields
    return names


def test_every_private_attribute_the_emulator_touches_is_its_own_or_declared():
    modules = _modules()
    own = _own_private_names(modules)
    declared = {target.rsplit(".", 1)[-1].rsplit(":", 1)[-1] for target in _declared()}
    unknown = sorted({
        f"{path.relative_to(ROOT)}: .{node.attr}"
        for path, tree in modules
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and re.fullmatch(r"_[a-z]\w*", node.attr)
        and node.attr not in own and node.attr not in declared
    })

    assert unknown == [], "declare the moto internals in emulator/moto_internals.py:\n" + "\n".join(unknown)


def test_no_module_patches_moto_outside_the_registry():
    found = []
    for path, tree in _modules():
        if path == REGISTRY_MODULE:
            continue
        moto_names = _moto_imports(tree)
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id in moto_names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(target)} = ...")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in moto_names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")

    assert found == [], "patch these through emulator.patches.MOTO:\n" + "\n".join(found)


def test_pyproject_pins_the_tested_moto_release():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [requirement for requirement in project["optional-dependencies"]["emulator"]
            if requirement.startswith("moto")]

    assert [pin.split("==", 1)[1] for pin in pins] == [TESTED_MOTO_VERSION]


def test_undo_gives_moto_its_own_code_back_and_install_brings_the_emulator_back(emulator, client):
    control(emulator, "reset", {})
    sts = client("sts")
    missing_role = "arn:aws:iam::222222222222:role/never-created"
    install()
    try:
        MOTO.undo()
        # moto's own AssumeRole lets anyone assume any ARN.
        assert sts.assume_role(RoleArn=missing_role, RoleSessionName="seam")["Credentials"]["AccessKeyId"]
    finally:
        install()

    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sts.assume_role(RoleArn=missing_role, RoleSessionName="seam")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert len(MOTO.installed()) == len(patches())
