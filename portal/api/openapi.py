"""The OpenAPI 3 description of /api/v1, built from the same rules the API enforces."""
from __future__ import annotations

from typing import Any

from core import validation as v
from core.regions import pipeline_regions
from portal.api import openapi_approvals, openapi_operations, openapi_pipelines, openapi_teams

ACCOUNT = {"type": "string", "pattern": r"^[0-9]{12}$", "example": "111111111111"}
ID = {"type": "integer", "minimum": 1, "maximum": v.MAX_ID}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
ERROR_RESPONSES = {
    "400": "The body is not a JSON object, or a query parameter is malformed.",
    "401": "No API token, or an unknown or revoked one.",
    "403": "The token's user does not have the role for this in the setup's team.",
    "404": "No such object, or a setup of a team the token's user is not in.",
    "409": "A conflict: the version is stale, the name is taken, or the setup is not ready.",
    "422": "A field breaks a rule; each message is under the field's name.",
    "503": "The task queue is down; the operation is recorded as failed.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _json(_ref("Errors"), ERROR_RESPONSES[code]) for code in codes}


def _id_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _input_properties() -> dict[str, Any]:
    stage = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "LogLevel": {"type": "string", "enum": list(v.LOG_LEVELS)},
            # No control characters (Unicode category Cc).
            "Greeting": {"type": "string", "minLength": 1, "maxLength": v.GREETING_MAX,
                         "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"},
            "MemorySize": {"type": "integer", "minimum": v.MEMORY_MIN, "maximum": v.MEMORY_MAX,
                           "description": "The function's memory in MB."},
            "LogRetentionInDays": {"type": "integer", "enum": list(v.LOG_RETENTION_DAYS),
                                   "description": "Days CloudWatch Logs keeps the function's logs."},
        },
        "description": "Parameters of the stage's application stack; the pipeline passes them as "
                       "ParameterOverrides, which win over sample_app/config/<stage>.json. Omitted ones keep "
                       "their current value (or the default).",
    }
    access = {
        "type": "object",
        "additionalProperties": False,
        "required": ["method"],
        "properties": {
            "method": {"type": "string", "enum": list(v.ACCESS_METHODS)},
            "role_name": {"type": "string", "pattern": r"^([\w+=,.@-]{1,64})?$"},
            "external_id": {"type": "string", "pattern": r"^([\w+=,.@:/-]{2,1224})?$"},
        },
    }
    return {
        "name": {"type": "string", "minLength": v.APPLICATION_NAME_MIN, "maxLength": v.APPLICATION_NAME_MAX,
                 "pattern": "^[a-z](-?[a-z0-9])+$", "example": "orders-api"},
        "build_account_id": ACCOUNT,
        "staging_account_id": ACCOUNT,
        "production_account_id": ACCOUNT,
        "region": {"type": "string", "enum": [region.name for region in pipeline_regions()]},
        "branch": {"type": "string", "minLength": 1, "maxLength": v.BRANCH_MAX,
                   "description": "A branch name git check-ref-format --branch accepts."},
        "source_provider": {"type": "string", "enum": list(v.SOURCE_PROVIDERS)},
        "connection_arn": {"type": "string", "pattern": "^(" + v.CONNECTION_ARN.pattern + ")?$",
                           "description": "GitHub only: the CodeConnections connection in the build account."},
        "full_repository_id": {"type": "string",
                               "pattern": "^(" + v.GITHUB_OWNER.pattern + "/" + v.GITHUB_REPOSITORY.pattern + ")?$",
                               "description": "GitHub only: owner/repo."},
        "approval_email": {"type": "string", "maxLength": 254, "description": "An e-mail address, or empty."},
        # OpenAPI 3.0 (the version declared) has no propertyNames or patternProperties: a rule on keys is
        # written in the description and enforced by the server (a 422 under the field's name).
        "tags": {"type": "object", "maxProperties": v.TAG_COUNT_MAX,
                 "additionalProperties": {"type": "string", "maxLength": v.TAG_VALUE_MAX},
                 "description": "Tags of the stacks the portal creates (APP-deploy-dependencies, APP-pipeline). "
                                f"Each key is 1 to {v.TAG_KEY_MAX} characters (letters, digits, spaces and "
                                "_ . : / = + - @), not starting with " + " or ".join(v.RESERVED_TAG_PREFIXES)
                                + "; other keys are refused with 422 under tags. The application stacks' "
                                "tags come from sample_app/config/<stage>.json."},
        "stage_parameters": {"type": "object", "additionalProperties": False,
                             "properties": {name: stage for name in v.STAGES}},
        "access": {"type": "object", "additionalProperties": access,
                   "description": "How the portal reaches each of the setup's distinct accounts, keyed by "
                                  "the 12-digit account id; a key that is not one of the setup's accounts is "
                                  "refused with 422 under access.<key>."},
        "two_person_approval": {"type": "boolean", "default": False,
                                "description": "Production needs two distinct approvers: the first approval is "
                                               "recorded, the second (by someone else) is sent."},
    }


def _schemas() -> dict[str, Any]:
    inputs = _input_properties()
    setup_output = {key: {"type": "string"} for key in inputs if key not in ("tags", "stage_parameters", "access")}
    setup_output.update({key: {"type": "object"} for key in ("tags", "stage_parameters", "access")})
    setup_output["two_person_approval"] = {"type": "boolean"}
    return {
        "SetupCreate": {"type": "object", "additionalProperties": False,
                        "properties": inputs | {"team_id": {**ID, "description": "The team that owns it: one where "
                                                            "you are an operator; needed only if you have several."}},
                        "required": ["name", "build_account_id", "staging_account_id", "production_account_id",
                                     "region"]},
        "SetupUpdate": {"type": "object", "additionalProperties": False, "required": ["version"],
                        "properties": inputs | {"version": {"type": "integer", "minimum": 1,
                                                            "description": "The version you read."}}},
        "Operation": {
            "type": "object",
            "required": ["id", "setup_id", "kind", "status", "requested_by", "created_at", "error", "plan_id"],
            "properties": {
                "id": ID, "setup_id": ID,
                "kind": {"type": "string", "enum": ["plan", "apply", "teardown"]},
                "status": {"type": "string",
                           "enum": ["pending", "running", "waiting", "succeeded", "failed", "cancelled"]},
                "requested_by": {"type": "string"},
                "created_at": TIME, "started_at": NULLABLE_TIME, "finished_at": NULLABLE_TIME,
                "error": {"type": "string"},
                "plan_id": {**ID, "nullable": True, "description": "For an apply: the plan it executes."},
            },
        },
        "Setup": {
            "type": "object",
            "required": ["id", "version", "team_id", "status", "wizard_step", "created_at", "updated_at",
                         "operations", *setup_output],
            "properties": setup_output | {
                "id": ID, "version": {"type": "integer"}, "team_id": ID,
                "status": {"type": "string", "enum": ["draft", "ready"]},
                "wizard_step": {"type": "string", "enum": ["accounts", "application", "access", "review"]},
                "created_at": TIME, "updated_at": TIME,
                "operations": {"type": "array", "items": _ref("Operation")},
            },
        },
        "SetupList": {
            "type": "object",
            "required": ["setups", "page", "pages", "total"],
            "properties": {"setups": {"type": "array", "items": _ref("Setup")}, "page": {"type": "integer"},
                           "pages": {"type": "integer"}, "total": {"type": "integer"}},
        },
        "Errors": {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "operation": _ref("Operation"),
            },
        },
        **openapi_operations.schemas(ID, TIME),
        **openapi_pipelines.schemas(ID),
        **openapi_approvals.schemas(ID),
        **openapi_teams.schemas(ID),
    }


def build_spec() -> dict[str, Any]:
    """Return the OpenAPI document for /api/v1."""
    setup_id = [_id_parameter("setup_id")]
    body = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731
    page = {"name": "page", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lambda Pipeline Portal API", "version": "1.0.0",
                 "description": "Create and change setups, ask for plans, apply them, follow their stack events "
                                "and tear setups down. "
                                "Authenticate with a personal API token: Authorization: Bearer <token>."},
        "components": {"schemas": _schemas(),
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/api/v1/setups": {
                "get": {"operationId": "listSetups", "parameters": [page],
                        "responses": {"200": _json(_ref("SetupList"), "Setups, newest change first."),
                                      **_errors("400", "401")}},
                "post": {"operationId": "createSetup", "requestBody": body("SetupCreate"),
                         "responses": {"201": _json(_ref("Setup"), "The setup, ready for a plan."),
                                       **_errors("400", "401", "403", "409", "422")}},
            },
            "/api/v1/setups/{setup_id}": {
                "get": {"operationId": "getSetup", "parameters": setup_id,
                        "responses": {"200": _json(_ref("Setup"), "The setup."), **_errors("401", "404")}},
                "patch": {"operationId": "updateSetup", "parameters": setup_id, "requestBody": body("SetupUpdate"),
                          "responses": {"200": _json(_ref("Setup"), "The changed setup."),
                                        **_errors("400", "401", "403", "404", "409", "422")}},
            },
            "/api/v1/setups/{setup_id}/plan": {
                "post": {"operationId": "requestPlan", "parameters": setup_id,
                         "description": "Create the change sets for review. While a plan of this same version of "
                                        "the setup is being prepared, that plan is answered instead of a second "
                                        "one; while a plan of an older version is, the request is refused (409).",
                         "responses": {"202": _json(_ref("Operation"), "The plan operation, pending."),
                                       **_errors("401", "403", "404", "409", "503")}},
            },
            **openapi_operations.paths(setup_id, [_id_parameter("operation_id")], page, _json, _errors),
            **openapi_pipelines.paths(setup_id, page, _json, _errors),
            **openapi_approvals.paths(setup_id, _json, _errors),
            **openapi_teams.paths(setup_id, _id_parameter, _json, _errors),
        },
    }
