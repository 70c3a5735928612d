"""A buildspec (version 0.2) read as CodeBuild reads it, or refused with CodeBuild's YAML_FILE_ERROR.

Only what the emulator carries out is accepted: a key it would ignore (``proxy``, ``batch``,
``secrets-manager``, ``run-as``, ...) is refused by name, so a build never silently does less
than the buildspec asks. Version 0.1 (a fresh shell per command) is refused too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

PHASES = ("install", "pre_build", "build", "post_build")
ON_FAILURE = ("ABORT", "CONTINUE")
SHELLS = ("bash", "/bin/sh", "sh")
NOT_EMULATED = {
    "top": ("run-as", "proxy", "batch", "cache"),
    "env": ("secrets-manager", "git-credential-helper"),
    "phase": ("run-as",),
    "artifacts": ("secondary-artifacts", "s3-prefix", "enable-symlinks"),
}


class BuildspecError(Exception):
    """The buildspec cannot be run; the message is the phase context's (code YAML_FILE_ERROR)."""


@dataclass(frozen=True)
class Phase:
    name: str  # install, pre_build, build, post_build
    commands: tuple[str, ...] = ()
    finally_commands: tuple[str, ...] = ()
    on_failure: str = "ABORT"
    runtime_versions: dict[str, str] = field(default_factory=dict)

    @property
    def phase_type(self) -> str:
        return self.name.upper()


@dataclass(frozen=True)
class FileSet:
    """The ``files`` of an artifact or a report, and how their paths are written."""

    files: tuple[str, ...]
    base_directory: str = ""
    discard_paths: bool = False
    exclude_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    name: str
    files: FileSet
    file_format: str = "JUNITXML"


@dataclass(frozen=True)
class Buildspec:
    shell: str = "bash"
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)  # variable -> parameter name
    exported_variables: tuple[str, ...] = ()
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: FileSet | None = None
    reports: tuple[Report, ...] = ()


def parse(text: str) -> Buildspec:
    """:raise BuildspecError: not YAML, not version 0.2, or a key the emulator does not carry out."""
    try:
        # Every scalar stays the text it was written as (CodeBuild's agent reads them into strings):
        # `golang: 1.20` is 1.20, not the float 1.2, and `yes` stays yes.
        document = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as err:
        raise BuildspecError(f"Error parsing YAML: {err}".replace("\n", " ")) from None
    if not isinstance(document, dict):
        raise BuildspecError("YAML file does not have the expected structure (a mapping at the top)")
    version = str(document.get("version", ""))
    if version != "0.2":
        raise BuildspecError(f"unsupported buildspec version {version or '(none)'}: the emulator runs version 0.2 "
                             "only (all commands of a build in one shell)")
    _refuse(document, NOT_EMULATED["top"], "")
    env = _mapping(document.get("env"), "env")
    _refuse(env, NOT_EMULATED["env"], "env/")
    shell = str(env.get("shell", "bash"))
    if shell not in SHELLS:
        raise BuildspecError(f"invalid shell {shell!r} in env/shell: supported shells are bash and /bin/sh")
    phases = {name: _phase(name, value) for name, value in _mapping(document.get("phases"), "phases").items()
              if _known_phase(name)}
    artifacts = document.get("artifacts")
    return Buildspec(
        shell=shell,
        variables=_strings(env.get("variables"), "env/variables"),
        parameter_store=_strings(env.get("parameter-store"), "env/parameter-store"),
        exported_variables=_string_list(env.get("exported-variables"), "env/exported-variables"),
        phases=phases,
        artifacts=None if artifacts is None else _file_set(_artifact_section(artifacts), "artifacts"),
        reports=tuple(_report(name, value) for name, value in _mapping(document.get("reports"), "reports").items()),
    )


def _known_phase(name: str) -> bool:
    if name not in PHASES:
        raise BuildspecError(f"unknown phase {name!r} in phases: phases are {', '.join(PHASES)}")
    return True


def _phase(name: str, value: Any) -> Phase:
    section = _mapping(value, f"phases/{name}")
    _refuse(section, NOT_EMULATED["phase"], f"phases/{name}/")
    on_failure = str(section.get("on-failure", "ABORT"))
    if on_failure not in ON_FAILURE:
        raise BuildspecError(f"invalid on-failure {on_failure!r} in phases/{name}: use ABORT or CONTINUE")
    runtimes = _strings(section.get("runtime-versions"), f"phases/{name}/runtime-versions")
    if runtimes and name != "install":
        raise BuildspecError(f"runtime-versions is only allowed in the install phase, not in {name}")
    return Phase(name, _string_list(section.get("commands"), f"phases/{name}/commands"),
                 _string_list(section.get("finally"), f"phases/{name}/finally"), on_failure, runtimes)


def _artifact_section(value: Any) -> dict[str, Any]:
    section = _mapping(value, "artifacts")
    _refuse(section, NOT_EMULATED["artifacts"], "artifacts/")
    if "files" not in section:
        raise BuildspecError("artifacts/files is required when artifacts is given")
    return section


def _report(name: str, value: Any) -> Report:
    section = _mapping(value, f"reports/{name}")
    file_format = str(section.get("file-format", "JUNITXML"))
    if file_format != "JUNITXML":
        raise BuildspecError(f"report {name}: file-format {file_format} is not emulated (JUNITXML only)")
    return Report(name, _file_set(section, f"reports/{name}"), file_format)


def _file_set(section: dict[str, Any], where: str) -> FileSet:
    files = _string_list(section.get("files"), f"{where}/files")
    if not files:
        raise BuildspecError(f"{where}/files names no file")
    return FileSet(files, str(section.get("base-directory") or "").strip("/"),
                   _yes(section.get("discard-paths", False), f"{where}/discard-paths"),
                   _string_list(section.get("exclude-paths"), f"{where}/exclude-paths"))


def _yes(value: Any, where: str) -> bool:
    if str(value).lower() in ("yes", "true"):
        return True
    if str(value).lower() in ("no", "false"):
        return False
    raise BuildspecError(f"invalid value {value!r} in {where}: use yes or no")


def _refuse(section: dict[str, Any], keys: tuple[str, ...], prefix: str) -> None:
    for key in keys:
        if key in section:
            raise BuildspecError(f"{prefix}{key} is not emulated: the emulator refuses it rather than ignore it")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _strings(value: Any, where: str) -> dict[str, str]:
    return {k: _scalar(v, f"{where}/{k}") for k, v in _mapping(value, where).items()}


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise BuildspecError(f"{where} must be a list")
    return tuple(_scalar(item, where) for item in value)


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise BuildspecError(f"{where} must be a string")
    return str(value)
