"""The one way the emulator changes moto: every patch is a ``Patch`` installed through ``MOTO``.

The emulator extends moto by replacing methods and classes inside it, which only holds for the
moto version it was written against. So ``Registry.install`` refuses any other moto version
before touching anything, checks that each target is still the kind of thing the patch expects
(a function to replace, an attribute that must not exist yet, ...), applies each patch once
(installing again is a no-op) and keeps what it replaced, so that a test can list the patches,
call the original, or undo them all. ``emulator/moto_internals.py`` lists what the emulator
reads from moto without replacing it; ``tests/emulator/test_moto_seam.py`` checks both lists
against the installed moto, so an upgrade shows exactly what to re-check.
"""
from __future__ import annotations

import ast
import enum
import functools
import importlib
import importlib.metadata
import inspect
import logging
import textwrap
import threading
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterable

logger = logging.getLogger(__name__)

# The moto release every patch and internal below was checked against; pyproject.toml pins the
# same version (tests/emulator/test_moto_seam.py keeps the two equal).
TESTED_MOTO_VERSION = "5.2.5"

MISSING = object()


class Kind(enum.Enum):
    """What a moto internal is; a change of kind in a new moto release needs a human look."""

    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"  # a plain function, a staticmethod, or a method looked up on its class
    CACHED_FUNCTION = "cached function"  # functools.lru_cache: the emulator clears its cache
    CLASSMETHOD = "classmethod"
    PROPERTY = "property"
    INSTANCE_ATTRIBUTE = "instance attribute"  # assigned to ``self.<name>`` in the class's code
    VALUE = "value"  # any other object: a constant, a BackendDict, a class attribute
    ABSENT = "absent"  # nothing there yet: the emulator adds it


class UntestedMotoError(RuntimeError):
    """The installed moto is not the release the emulator's patches were checked against."""


class MotoInternalsChanged(RuntimeError):
    """A moto internal the emulator needs is missing or is no longer what it was."""


@dataclass(frozen=True)
class Internal:
    """A part of moto the emulator relies on, named ``package.module:Name.attribute``."""

    target: str
    kind: Kind
    why: str


@dataclass(frozen=True)
class Patch:
    """Replace (or add) one attribute of a moto module, class or object.

    ``kind`` is what the target is before the patch (``Kind.ABSENT`` to add something new). With
    ``wraps`` the replacement is called as ``replacement(original, *args, **kwargs)``.
    ``on_change`` runs after the patch is installed and after it is undone, to drop objects
    built by the code that was just swapped out.
    """

    target: str
    replacement: Any
    kind: Kind
    why: str
    wraps: bool = False
    on_change: Callable[[], None] | None = None

    @property
    def internal(self) -> Internal:
        return Internal(self.target, self.kind, self.why)


@dataclass(frozen=True)
class Applied:
    patch: Patch
    owner: Any
    name: str
    original: Any  # as stored on the owner (or inherited), MISSING when the patch added it
    owned: bool  # the owner itself held the original (else it was inherited or absent)


def check_moto_version(installed: str | None = None) -> None:
    """:raise UntestedMotoError: unless moto is the release the emulator was checked against."""
    installed = installed or importlib.metadata.version("moto")
    if installed != TESTED_MOTO_VERSION:
        raise UntestedMotoError(
            f"moto {installed} is installed, but the emulator's patches of moto internals are tested "
            f"with moto {TESTED_MOTO_VERSION} only (pyproject.toml pins it). Install moto=={TESTED_MOTO_VERSION}, "
            "or, to upgrade: run tests/emulator/test_moto_seam.py, re-check every internal it reports, "
            "then change TESTED_MOTO_VERSION in emulator/patches.py and the pin together."
        )


def split_target(target: str) -> tuple[str, list[str]]:
    module, sep, path = target.partition(":")
    if not sep or not module or not path:
        raise ValueError(f"target {target!r} is not of the form 'package.module:Name.attribute'")
    return module, path.split(".")


def locate(target: str) -> tuple[Any, str]:
    """Import the target's module and return (owner, attribute name).

    :raise MotoInternalsChanged: if the module or an object on the way is gone.
    """
    module_name, parts = split_target(target)
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise MotoInternalsChanged(f"{target}: module {module_name} cannot be imported ({err})") from err
    for depth, part in enumerate(parts[:-1]):
        owner = inspect.getattr_static(owner, part, MISSING)
        if owner is MISSING:
            raise MotoInternalsChanged(f"{target}: {module_name}:{'.'.join(parts[:depth + 1])} does not exist")
    if isinstance(owner, types.ModuleType):
        _import_submodule(owner, parts[-1])
    return owner, parts[-1]


def _import_submodule(package: types.ModuleType, name: str) -> None:
    # A submodule is an attribute of its package only once something imported it.
    if hasattr(package, "__path__") and inspect.getattr_static(package, name, MISSING) is MISSING:
        full_name = f"{package.__name__}.{name}"
        try:
            importlib.import_module(full_name)
        except ModuleNotFoundError as err:
            if err.name != full_name:
                raise  # the submodule exists but cannot be imported: that is news, not absence


def kind_of(owner: Any, name: str) -> Kind:
    """The kind of ``owner.<name>`` as stored (an instance attribute reads as ABSENT here)."""
    raw = inspect.getattr_static(owner, name, MISSING)
    if raw is MISSING:
        return Kind.ABSENT
    if isinstance(raw, types.ModuleType):
        return Kind.MODULE
    if isinstance(raw, type):
        return Kind.CLASS
    if isinstance(raw, property):
        return Kind.PROPERTY
    if isinstance(raw, classmethod):
        return Kind.CLASSMETHOD
    if isinstance(raw, staticmethod) or inspect.isfunction(raw) or inspect.isbuiltin(raw):
        return Kind.FUNCTION
    if callable(raw) and hasattr(raw, "cache_clear"):
        return Kind.CACHED_FUNCTION
    return Kind.VALUE


@functools.lru_cache(maxsize=None)
def assigned_attributes(cls: type) -> frozenset[str]:
    """Names the code of ``cls`` and its bases assigns to ``self.<name>``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # a builtin or generated class has no source to read
            continue
        for node in ast.walk(ast.parse(source)):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "self":
                    names.add(target.attr)
    return frozenset(names)


def problem_with(internal: Internal, current: tuple[Any, str] | None = None,
                 original: Any = MISSING) -> str | None:
    """Say what is wrong with an internal in the installed moto, or None if it is as expected.

    ``current`` and ``original`` let an installed patch be judged by what it replaced.
    """
    try:
        owner, name = current or locate(internal.target)
    except MotoInternalsChanged as err:
        return str(err)
    if internal.kind is Kind.INSTANCE_ATTRIBUTE:
        if not isinstance(owner, type):
            return f"{internal.target}: the owner is not a class"
        if name not in assigned_attributes(owner):
            return f"{internal.target}: no code of {owner.__name__} (or its bases) sets self.{name} any more"
        return None
    if original is not MISSING:
        holder = types.SimpleNamespace(**{name: original})
        actual = kind_of(holder, name)
    elif current is not None:
        actual = Kind.ABSENT  # an installed patch that added the name
    else:
        actual = kind_of(owner, name)
    if actual is not internal.kind:
        return f"{internal.target}: expected {internal.kind.value}, found {actual.value}"
    return None


def methods(owner: str, kind: Kind, why: str, **functions: Callable[..., Any]) -> tuple[Patch, ...]:
    """One patch per function, each the method of that name on the class ``owner``."""
    return tuple(Patch(f"{owner}.{name}", function, kind, why) for name, function in functions.items())


def _wrapped(replacement: Callable[..., Any], original: Any) -> Callable[..., Any]:
    @functools.wraps(replacement)
    def patched(*args: Any, **kwargs: Any) -> Any:
        return replacement(original, *args, **kwargs)

    return patched


class Registry:
    """The patches installed into one library; installs once, remembers what it replaced."""

    def __init__(self, version_check: Callable[[], None] = check_moto_version) -> None:
        self._version_check = version_check
        self._version_checked = False
        self._applied: dict[str, Applied] = {}
        self._lock = threading.RLock()

    def install(self, patches: Iterable[Patch]) -> list[Patch]:
        """Apply the patches not applied yet; return those applied now.

        :raise UntestedMotoError: for another moto release (nothing is patched).
        :raise MotoInternalsChanged: if a target is not what its patch expects (nothing of this
            call is patched).
        """
        patches = list(patches)
        with self._lock:
            if not self._version_checked:
                self._version_check()
                self._version_checked = True
            pending = [p for p in patches if not self._already(p)]
            problems = [problem for p in pending if (problem := problem_with(p.internal)) is not None]
            if problems:
                raise MotoInternalsChanged("moto is not what the emulator's patches expect:\n  "
                                           + "\n  ".join(problems))
            located = {p.target: locate(p.target) for p in pending}
            for patch in pending:
                owner, name = located[patch.target]
                self._apply(patch, owner, name)
            for patch in pending:
                if patch.on_change is not None:
                    patch.on_change()
        if pending:
            logger.debug("installed %d moto patches", len(pending))
        return pending

    def _already(self, patch: Patch) -> bool:
        applied = self._applied.get(patch.target)
        if applied is None:
            return False
        if applied.patch.replacement is not patch.replacement:
            raise MotoInternalsChanged(
                f"{patch.target} is patched already, by another replacement ({applied.patch.why})")
        return True

    def _apply(self, patch: Patch, owner: Any, name: str) -> None:
        owned = name in getattr(owner, "__dict__", {})
        original = inspect.getattr_static(owner, name, MISSING)
        value = _wrapped(patch.replacement, getattr(owner, name)) if patch.wraps else patch.replacement
        setattr(owner, name, value)
        self._applied[patch.target] = Applied(patch, owner, name, original, owned)

    def installed(self) -> list[Patch]:
        """The patches in force, in the order they were installed."""
        with self._lock:
            return [applied.patch for applied in self._applied.values()]

    def original(self, target: str) -> Any:
        """What the patch of ``target`` replaced, as it was stored (MISSING if the patch added it).

        :raise KeyError: if no patch of that target is installed.
        """
        with self._lock:
            return self._applied[target].original

    def problems(self, internals: Iterable[Internal]) -> list[str]:
        """What is wrong with each internal (and each installed patch's original) in this moto."""
        with self._lock:
            applied = dict(self._applied)
        found = []
        for internal in internals:
            if internal.target in applied:
                done = applied[internal.target]
                problem = problem_with(internal, (done.owner, done.name), done.original)
            else:
                problem = problem_with(internal)
            if problem is not None:
                found.append(problem)
        return found

    def undo(self) -> None:
        """Restore every original, newest patch first, and forget the patches."""
        with self._lock:
            undone = list(reversed(self._applied.values()))
            for applied in undone:
                if applied.owned:
                    setattr(applied.owner, applied.name, applied.original)
                else:
                    delattr(applied.owner, applied.name)  # inherited again, or gone as before
            self._applied.clear()
        for applied in undone:
            if applied.patch.on_change is not None:
                applied.patch.on_change()
        logger.debug("undid %d moto patches", len(undone))


MOTO = Registry()
