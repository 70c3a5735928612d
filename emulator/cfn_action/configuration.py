"""An action's configuration read as CodePipeline reads it: artifact paths, template configuration,
parameter overrides, capabilities.

- ``TemplatePath`` and ``TemplateConfiguration`` are ``ArtifactName::path/in/the/zip``; the artifact
  must be one of the action's input artifacts.
- The template configuration file is a JSON object with ``Parameters`` and ``Tags`` (objects of
  strings) and ``StackPolicy`` (a policy document); ``ParameterOverrides`` (a JSON object) wins
  over its ``Parameters``. An override may be ``{"Fn::GetParam": [artifact, file, key]}``, a value
  read from a JSON file of an input artifact, as CodePipeline's parameter override functions allow.
- ``Capabilities`` is a comma-separated list.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from emulator.cfn_action.access import ActionError

# (artifact name, path) -> the file's bytes
FileReader = Callable[[str, str], bytes]


@dataclass(frozen=True)
class StackInput:
    template: str
    parameters: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    stack_policy: str | None = None


def artifact_path(value: str, setting: str, inputs: list[str]) -> tuple[str, str]:
    """(artifact, path) of ``Artifact::path``. :raise ActionError: malformed, or no such input artifact."""
    name, separator, path = value.partition("::")
    if not separator or not name or not path:
        raise ActionError(f"{setting} {value!r} must have the form ArtifactName::FileName.", "ConfigurationError")
    if name not in inputs:
        raise ActionError(f"{setting} names the artifact {name}, which is not an input artifact of this action "
                          f"(inputs: {', '.join(inputs) or 'none'}).", "ConfigurationError")
    return name, path


def capabilities(configuration: dict[str, str]) -> list[str]:
    return [c.strip() for c in configuration.get("Capabilities", "").split(",") if c.strip()]


def stack_input(configuration: dict[str, str], inputs: list[str], read: FileReader) -> StackInput:
    """The template, parameters, tags and stack policy the action hands to CloudFormation.

    :raise ActionError: a file is missing or is not the JSON CodePipeline expects.
    """
    if not configuration.get("TemplatePath"):
        raise ActionError("TemplatePath is required for this action mode.", "ConfigurationError")
    template = read(*artifact_path(configuration["TemplatePath"], "TemplatePath", inputs)).decode("utf-8")
    parameters: dict[str, str] = {}
    tags: dict[str, str] = {}
    stack_policy = None
    if configuration.get("TemplateConfiguration"):
        name, path = artifact_path(configuration["TemplateConfiguration"], "TemplateConfiguration", inputs)
        settings = _json_object(read(name, path), f"The template configuration file {path}")
        parameters = _strings(settings.get("Parameters") or {}, f"Parameters of {path}")
        tags = _strings(settings.get("Tags") or {}, f"Tags of {path}")
        if settings.get("StackPolicy") is not None:
            stack_policy = json.dumps(settings["StackPolicy"])
    if configuration.get("ParameterOverrides"):
        overrides = _json_object(configuration["ParameterOverrides"].encode(), "ParameterOverrides")
        parameters.update({key: _override(value, key, inputs, read) for key, value in overrides.items()})
    return StackInput(template, parameters, tags, stack_policy)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ActionError(f"{what} is not valid JSON: {err}", "ConfigurationError") from None
    if not isinstance(value, dict):
        raise ActionError(f"{what} must be a JSON object.", "ConfigurationError")
    return value


def _strings(values: Any, what: str) -> dict[str, str]:
    if not isinstance(values, dict) or not all(isinstance(v, (str, int, float, bool)) for v in values.values()):
        raise ActionError(f"{what} must be an object of string values.", "ConfigurationError")
    return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}


def _override(value: Any, key: str, inputs: list[str], read: FileReader) -> str:
    if isinstance(value, dict) and list(value) == ["Fn::GetParam"]:
        arguments = value["Fn::GetParam"]
        if not (isinstance(arguments, list) and len(arguments) == 3 and all(isinstance(a, str) for a in arguments)):
            raise ActionError(f"Fn::GetParam of parameter {key} takes [artifact, file, key].", "ConfigurationError")
        artifact, path, name = arguments
        if artifact not in inputs:
            raise ActionError(f"Fn::GetParam of parameter {key} names the artifact {artifact}, which is not an "
                              "input artifact of this action.", "ConfigurationError")
        found = _json_object(read(artifact, path), f"The file {path} of {artifact}").get(name)
        if found is None:
            raise ActionError(f"The file {path} of {artifact} has no key {name} (Fn::GetParam of parameter {key}).",
                              "ConfigurationError")
        return str(found)
    if isinstance(value, (dict, list)) or value is None:
        raise ActionError(f"ParameterOverrides: the value of {key} must be a string.", "ConfigurationError")
    return str(value).lower() if isinstance(value, bool) else str(value)
