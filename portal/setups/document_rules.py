"""Rules over a whole setup document, shared by the wizard and the JSON API (core/validation.py checks one value).

The field rules live in core.validation; this module applies them to a setup document (the API's
JSON shape, also what a saved setup turns into), adds the rules that span fields, and names each
error by the field it belongs to: ``name``, ``tags``, ``access.111111111111.role_name``...
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import validation as v
from core.models import AccessMethod, SourceProvider

Errors = dict[str, list[str]]

ACCOUNT_FIELDS = ("build_account_id", "staging_account_id", "production_account_id", "region")
APPLICATION_FIELDS = ("name", "branch", "source_provider", "connection_arn", "full_repository_id",
                      "approval_email", "tags", "stage_parameters", "two_person_approval")
ACCESS_FIELDS = ("access",)
DOCUMENT_FIELDS = ACCOUNT_FIELDS + APPLICATION_FIELDS + ACCESS_FIELDS
STRING_FIELDS = ACCOUNT_FIELDS + APPLICATION_FIELDS[:6]
NOT_A_STRING = "Must be a string."
NOT_AN_OBJECT = "Must be a JSON object."
UNKNOWN_FIELD = "Unknown field."


def _run(check: Callable[[Any], Any], value: Any, field: str, errors: Errors) -> Any:
    try:
        return check(value)
    except v.InvalidValue as err:
        errors.setdefault(field, []).extend(err.messages)
        return None


def distinct_accounts(values: dict[str, Any]) -> list[str]:
    """Return the valid account ids among build, staging and production, each once, build first."""
    ordered = [values.get(field) for field in ACCOUNT_FIELDS[:3]]
    return list(dict.fromkeys(a for a in ordered if isinstance(a, str) and v.ACCOUNT_ID.fullmatch(a)))


def check_accounts(values: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    clean = {field: _run(v.check_account_id, values.get(field, ""), field, errors) for field in ACCOUNT_FIELDS[:3]}
    clean["region"] = _run(v.check_region, values.get("region", ""), "region", errors)
    return clean, errors


def connection_problems(arn: str, build_account_id: str, region: str) -> list[str]:
    """Return why the connection cannot serve a pipeline in this build account and region."""
    try:
        v.check_connection_placement(v.check_connection_arn(arn), build_account_id, region)
    except v.InvalidValue as err:
        return err.messages
    return []


def check_stage_parameters(params: Any) -> tuple[dict[str, Any], Errors]:
    """Check ``{"staging": {"LogLevel": ...}, "production": {...}}``; every stage and parameter is required."""
    errors: Errors = {}
    if not isinstance(params, dict):
        return {}, {"stage_parameters": [NOT_AN_OBJECT]}
    for stage in params.keys() - set(v.STAGES):
        errors[f"stage_parameters.{stage}"] = [f"Unknown stage; the stages are {', '.join(v.STAGES)}."]
    clean: dict[str, Any] = {}
    for stage in v.STAGES:
        given = params.get(stage)
        if not isinstance(given, dict):
            errors[f"stage_parameters.{stage}"] = [NOT_AN_OBJECT if given is not None else v.REQUIRED]
            continue
        for name in given.keys() - set(v.STAGE_PARAMETER_CHECKS):
            errors[f"stage_parameters.{stage}.{name}"] = [UNKNOWN_FIELD]
        clean[stage] = {}
        for name, check in v.STAGE_PARAMETER_CHECKS.items():
            field = f"stage_parameters.{stage}.{name}"
            value = given.get(name, "")
            # JSON is typed: memory size and log retention are numbers there, while forms send text.
            expected = int if name in v.STAGE_NUMBER_PARAMETERS else str
            if name in given and (not isinstance(value, expected) or isinstance(value, bool)):
                errors[field] = [NOT_A_STRING if expected is str else "Must be a whole number."]
                continue
            clean[stage][name] = _run(check, value, field, errors)
    return clean, errors


def check_application(values: dict[str, Any], build_account_id: str, region: str) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    clean: dict[str, Any] = {
        "name": _run(v.check_application_name, values.get("name", ""), "name", errors),
        "branch": _run(v.check_branch, values.get("branch", ""), "branch", errors),
        "source_provider": _run(v.check_source_provider, values.get("source_provider", ""), "source_provider", errors),
        "approval_email": _run(v.check_approval_email, values.get("approval_email", ""), "approval_email", errors),
        "connection_arn": "",
        "full_repository_id": "",
    }
    if clean["source_provider"] == SourceProvider.GITHUB.value:
        arn = values.get("connection_arn", "")
        if problems := connection_problems(arn, build_account_id, region):
            errors["connection_arn"] = problems
        clean["connection_arn"] = arn
        repository = values.get("full_repository_id", "")
        clean["full_repository_id"] = _run(v.check_repository_id, repository, "full_repository_id", errors)
    tags = values.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(value, str) for value in tags.values()):
        errors["tags"] = ["Must be a JSON object of tag keys to string values."]
    else:
        clean["tags"] = _run(v.check_tags, tags, "tags", errors)
    two_person = values.get("two_person_approval", False)
    if isinstance(two_person, bool):
        clean["two_person_approval"] = two_person
    else:
        errors["two_person_approval"] = ["Must be true or false."]
    clean["stage_parameters"], stage_errors = check_stage_parameters(values.get("stage_parameters", {}))
    errors.update(stage_errors)
    return clean, errors


def check_account_access(entry: Any, prefix: str) -> tuple[dict[str, str], Errors]:
    """Check how the portal reaches one account: assume a role, or its admin launches the stack."""
    errors: Errors = {}
    if not isinstance(entry, dict):
        return {}, {prefix: [NOT_AN_OBJECT]}
    for key in entry.keys() - {"method", "role_name", "external_id"}:
        errors[f"{prefix}.{key}"] = [UNKNOWN_FIELD]
    for key in ("method", "role_name", "external_id"):
        if not isinstance(entry.get(key, ""), str):
            errors[f"{prefix}.{key}"] = [NOT_A_STRING]
    if errors:
        return {}, errors
    method = _run(v.check_access_method, entry.get("method", ""), f"{prefix}.method", errors)
    if method != AccessMethod.ASSUME_ROLE.value:
        return {"method": method}, errors
    clean = {
        "method": method,
        "role_name": _run(v.check_role_name, entry.get("role_name", ""), f"{prefix}.role_name", errors),
        "external_id": _run(v.check_external_id, entry.get("external_id", ""), f"{prefix}.external_id", errors),
    }
    return clean, errors


def check_access(access: Any, accounts: list[str]) -> tuple[dict[str, Any], Errors]:
    """Check the access entry of every distinct account; entries for other accounts are errors."""
    if not isinstance(access, dict):
        return {}, {"access": [NOT_AN_OBJECT]}
    errors: Errors = {}
    for account in access.keys() - set(accounts):
        errors[f"access.{account}"] = ["This account is not one of the setup's accounts."]
    clean: dict[str, Any] = {}
    for account in accounts:
        if account not in access:
            errors[f"access.{account}"] = ["Say how the portal reaches this account."]
            continue
        clean[account], entry_errors = check_account_access(access[account], f"access.{account}")
        errors.update(entry_errors)
    return clean, errors


def default_access(accounts: list[str]) -> dict[str, Any]:
    entry = {"method": AccessMethod.ASSUME_ROLE.value, "role_name": v.DEFAULT_ROLE_NAME, "external_id": ""}
    return {account: dict(entry) for account in accounts}


def validate_document(doc: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Validate a whole setup document; the clean copy is complete only when there are no errors."""
    errors: Errors = {field: [UNKNOWN_FIELD] for field in doc.keys() - set(DOCUMENT_FIELDS)}
    for field in STRING_FIELDS:
        if field in doc and not isinstance(doc[field], str):
            errors[field] = [NOT_A_STRING]
    if errors:
        return {}, errors
    clean, account_errors = check_accounts(doc)
    application, application_errors = check_application(doc, clean["build_account_id"] or "", clean["region"] or "")
    clean.update(application)
    clean["access"], access_errors = check_access(doc.get("access", {}), distinct_accounts(clean))
    for found in (account_errors, application_errors, access_errors):
        errors.update(found)
    return clean, errors


def first_incomplete_step(errors: Errors) -> str:
    """Return the wizard step holding the first error, or "review" when there is none."""
    fields = {key.split(".", 1)[0] for key in errors}
    for step, step_fields in (("accounts", ACCOUNT_FIELDS), ("application", APPLICATION_FIELDS),
                              ("access", ACCESS_FIELDS)):
        if fields & set(step_fields):
            return step
    return "review"
