"""The patch registry itself, on stand-in classes: once, atomic, kind-checked, reversible."""
from __future__ import annotations

from typing import Any

import pytest

from emulator.patches import (
    Internal,
    Kind,
    MotoInternalsChanged,
    Patch,
    Registry,
    UntestedMotoError,
    check_moto_version,
    problem_with,
)

HERE = "tests.emulator.test_patches"


class Base:
    def greet(self) -> str:
        return "base"


class Greeter(Base):
    def __init__(self) -> None:
        self.name = "moto"

    def shout(self) -> str:
        return "hello"


def _louder(original: Any, self: Greeter) -> str:
    return original(self).upper() + "!"


def _registry() -> Registry:
    return Registry(version_check=lambda: None)


@pytest.fixture(autouse=True)
def _restore_greeter():
    saved = dict(vars(Greeter))
    yield
    for name in [n for n in vars(Greeter) if n not in saved]:
        delattr(Greeter, name)
    for name, value in saved.items():
        if vars(Greeter).get(name) is not value and name not in ("__dict__", "__weakref__"):
            setattr(Greeter, name, value)


def test_a_patch_is_applied_once_however_often_it_is_installed():
    registry, patch = _registry(), Patch(f"{HERE}:Greeter.shout", _louder, Kind.FUNCTION, "test", wraps=True)

    assert registry.install([patch]) == [patch]
    assert registry.install([patch]) == []

    assert Greeter().shout() == "HELLO!"  # wrapped once, not twice
    assert registry.installed() == [patch]


def test_the_original_is_kept_and_undo_restores_it():
    registry = _registry()
    original = Greeter.shout
    registry.install([Patch(f"{HERE}:Greeter.shout", lambda self: "patched", Kind.FUNCTION, "test")])

    assert registry.original(f"{HERE}:Greeter.shout") is original
    assert Greeter().shout() == "patched"
    registry.undo()

    assert Greeter.shout is original
    assert registry.installed() == []


def test_undoing_a_patch_of_an_inherited_method_inherits_it_again():
    registry = _registry()
    registry.install([Patch(f"{HERE}:Greeter.greet", lambda self: "mine", Kind.FUNCTION, "test")])
    assert "greet" in vars(Greeter)

    registry.undo()

    assert "greet" not in vars(Greeter)
    assert Greeter().greet() == "base"


def test_adding_a_method_expects_it_absent_and_undo_removes_it():
    registry = _registry()
    registry.install([Patch(f"{HERE}:Greeter.wave", lambda self: "wave", Kind.ABSENT, "test")])
    assert Greeter().wave() == "wave"  # type: ignore[attr-defined]

    registry.undo()

    assert not hasattr(Greeter, "wave")


def test_a_target_of_another_kind_is_refused_and_nothing_of_that_install_is_applied():
    registry = _registry()
    fine = Patch(f"{HERE}:Greeter.shout", lambda self: "patched", Kind.FUNCTION, "test")
    # greet exists, so a patch that means to add it has found moto grown: a human must look.
    grown = Patch(f"{HERE}:Greeter.greet", lambda self: "added", Kind.ABSENT, "test")
    gone = Patch(f"{HERE}:Greeter.vanished", lambda self: "x", Kind.FUNCTION, "test")

    with pytest.raises(MotoInternalsChanged) as caught:
        registry.install([fine, grown, gone])

    message = str(caught.value)
    assert f"{HERE}:Greeter.greet: expected absent, found function" in message
    assert f"{HERE}:Greeter.vanished: expected function, found absent" in message
    assert Greeter().shout() == "hello"
    assert registry.installed() == []


def test_a_second_replacement_of_one_target_is_refused():
    registry = _registry()
    registry.install([Patch(f"{HERE}:Greeter.shout", lambda self: "one", Kind.FUNCTION, "first")])

    with pytest.raises(MotoInternalsChanged, match="patched already, by another replacement"):
        registry.install([Patch(f"{HERE}:Greeter.shout", lambda self: "two", Kind.FUNCTION, "second")])

    assert Greeter().shout() == "one"


def test_on_change_runs_after_install_and_after_undo():
    calls: list[str] = []
    registry = _registry()
    patch = Patch(f"{HERE}:Greeter.shout", lambda self: "patched", Kind.FUNCTION, "test",
                  on_change=lambda: calls.append(Greeter().shout()))

    registry.install([patch])
    registry.install([patch])
    registry.undo()

    assert calls == ["patched", "hello"]


def test_the_version_is_checked_before_anything_is_patched():
    def refuse() -> None:
        raise UntestedMotoError("wrong moto")

    registry = Registry(version_check=refuse)
    with pytest.raises(UntestedMotoError, match="wrong moto"):
        registry.install([Patch(f"{HERE}:Greeter.shout", lambda self: "patched", Kind.FUNCTION, "test")])

    assert Greeter().shout() == "hello"


def test_an_untested_moto_release_is_refused_with_what_to_do():
    with pytest.raises(UntestedMotoError) as caught:
        check_moto_version("5.3.0")

    message = str(caught.value)
    assert "moto 5.3.0 is installed" in message
    assert "tested with moto 5.2.5" in message
    assert "tests/emulator/test_moto_seam.py" in message


def test_the_installed_moto_is_the_tested_one():
    check_moto_version()  # raises otherwise


@pytest.mark.parametrize("internal, problem", [
    (Internal(f"{HERE}:Greeter.name", Kind.INSTANCE_ATTRIBUTE, "t"), None),
    (Internal(f"{HERE}:Greeter.nickname", Kind.INSTANCE_ATTRIBUTE, "t"),
     f"{HERE}:Greeter.nickname: no code of Greeter (or its bases) sets self.nickname any more"),
    (Internal(f"{HERE}:Greeter", Kind.CLASS, "t"), None),
    (Internal(f"{HERE}:Greeter", Kind.FUNCTION, "t"), f"{HERE}:Greeter: expected function, found class"),
    (Internal(f"{HERE}:Missing.method", Kind.FUNCTION, "t"), f"{HERE}:Missing.method: {HERE}:Missing does not exist"),
    (Internal("tests.emulator.no_such_module:thing", Kind.VALUE, "t"),
     "tests.emulator.no_such_module:thing: module tests.emulator.no_such_module cannot be imported"),
    (Internal("tests.emulator:helpers", Kind.MODULE, "t"), None),
    (Internal(f"{HERE}:HERE", Kind.VALUE, "t"), None),
])
def test_problem_with_names_what_changed(internal, problem):
    found = problem_with(internal)

    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_a_target_must_name_module_and_attribute():
    with pytest.raises(ValueError, match="not of the form"):
        problem_with(Internal("tests.emulator.test_patches.Greeter", Kind.CLASS, "t"))
