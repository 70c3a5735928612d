"""The OpenAPI description of the deployment endpoints: operations, stacks, changes, events, apply, teardown."""
from __future__ import annotations

from typing import Any

from core.models.operations import StackAction, StackPhase
from core.validation import MAX_ID

STRING = {"type": "string"}
STRINGS = {"type": "object", "additionalProperties": STRING}
STACK_ACTIONS = [action.value for action in StackAction]
STACK_PHASES = [phase.value for phase in StackPhase]
EVENT_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": required if required is not None else list(properties),
            "properties": properties}


def schemas(id_schema: dict[str, Any], time: dict[str, Any]) -> dict[str, Any]:
    """Return the component schemas the deployment endpoints use (Operation itself is in openapi.py)."""
    change = _object({
        "action": {"type": "string", "description": "Add, Modify, Remove, Import or Dynamic."},
        "logical_id": STRING, "physical_id": STRING, "type": STRING,
        "replacement": {"type": "string", "description": "True, False, Conditional, or empty for an addition."},
    })
    state = {
        "id": id_schema, "account_id": STRING, "region": STRING, "stack_name": STRING,
        "role": {"type": "string", "enum": ["deploy", "build"]},
        "action": {"type": "string", "enum": STACK_ACTIONS},
        "phase": {"type": "string", "enum": STACK_PHASES},
        "stack_status": {"type": "string", "description": "CloudFormation's status, e.g. CREATE_COMPLETE."},
        "status_reason": STRING,
    }
    stack = _object({
        **state, "stack_id": STRING, "change_set_name": STRING, "change_set_type": STRING,
        "changes": {"type": "array", "items": _ref("Change")}, "parameters": STRINGS, "outputs": STRINGS,
        "launch": {"type": "object", "description": "For an account whose admin launches the stack: "
                                                    "quick_create_url, template_url and cli_command.",
                   "additionalProperties": STRING},
        "console_url": STRING, "emptied_bucket": STRING,
        "unreachable": {"type": "string", "description": "Teardown only: why the worker cannot delete this stack (it "
                                                         "cannot reach the account, or the stack is in a region the "
                                                         "setup left) and how to finish; empty otherwise."},
        "unreachable_reason": {"type": "string", "description": "The reason part of unreachable alone."},
        "delete_command": {"type": "string", "description": "Teardown only: the exact AWS CLI command deleting this "
                                                            "stack, for its account's admin when the worker cannot "
                                                            "(unreachable, or a self-launched account); empty in a "
                                                            "plan or apply."},
        "artifact_bucket": {"type": "string", "description": "For an unreachable build stack: the versioned artifact "
                                                             "bucket to empty (every object version and delete "
                                                             "marker) before running delete_command."},
        "access_from_apply": {"type": "boolean", "description": "Teardown only: the setup no longer uses this "
                                                                "account, and the worker reaches it with the access "
                                                                "its most recent apply recorded."},
    })
    left_stack = _object({
        "role": {"type": "string", "enum": ["", "deploy", "build"], "description": "Empty in entries recorded before "
                                                                                "roles were."},
        "account_id": STRING, "region": STRING,
        "stack_name": STRING,
        "cli_command": {"type": "string", "description": "The exact AWS CLI command deleting the stack."},
        "artifact_bucket": {"type": "string", "description": "For a build stack: the versioned artifact bucket to "
                                                             "empty before running cli_command; empty otherwise."},
    })
    event = _object({
        "id": id_schema, "stack": id_schema, "timestamp": time, "logical_id": STRING, "physical_id": STRING,
        "type": STRING, "status": STRING, "reason": STRING,
    })
    result = _object({
        "outputs": STRINGS,
        "git_commands": {"type": "array", "items": STRING},
        "pipeline_name": STRING, "pipeline_console_url": STRING, "stack_console_urls": STRINGS,
    })
    return {
        "Change": change,
        "StackState": _object(state),
        "Stack": stack,
        "LeftStack": left_stack,
        "Event": event,
        "Result": result,
        "OperationDetail": {"allOf": [_ref("Operation"), _object({
            "root_cause": {"type": "object", "additionalProperties": STRING,
                           "description": "For a failed apply: the first failed resource (resource, type, reason, "
                                          "status, stack, account, region); empty otherwise."},
            "result": _ref("Result"),
            "stacks": {"type": "array", "items": _ref("Stack")},
            "left_in_other_regions": {"type": "array", "items": _ref("LeftStack"),
                                      "description": "Teardown only: stacks the setup's applies deployed in more "
                                                     "than one region; the teardown deleted (or tried) the copy in "
                                                     "the setup's region and leaves these for their admins, each "
                                                     "with its delete command. Empty otherwise."},
        })]},
        "EventPage": _object({
            "operation": {"allOf": [_ref("Operation"), _object({"terminal": {"type": "boolean"}})]},
            "stacks": {"type": "array", "items": _ref("StackState")},
            "events": {"type": "array", "items": _ref("Event")},
            "next_after": {**EVENT_ID, "description": "Pass it as after= next time. Events stored in the last few "
                                                      "seconds come again (a late commit is never skipped): skip "
                                                      "the ids you have."},
        }),
        "OperationList": _object({
            "operations": {"type": "array", "items": _ref("Operation")},
            "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"},
        }),
        "Teardown": {"type": "object", "additionalProperties": False, "required": ["confirmation"],
                     "properties": {"confirmation": {"type": "string", "description": "The application name."}}},
    }


def paths(setup_id: list[dict[str, Any]], operation_id: list[dict[str, Any]], page: dict[str, Any],
          json: Any, errors: Any) -> dict[str, Any]:
    """Return the deployment paths; ``json`` and ``errors`` build responses as openapi.py does."""
    after = {"name": "after", "in": "query", "required": False, "schema": {**EVENT_ID, "default": 0},
             "description": "Only events with a larger id: the next_after of the previous answer."}
    teardown_body = {"required": True, "content": {"application/json": {"schema": _ref("Teardown")}}}
    return {
        "/api/v1/setups/{setup_id}/operations": {
            "get": {"operationId": "listOperations", "parameters": [*setup_id, page],
                    "responses": {"200": json(_ref("OperationList"), "The setup's operations, newest first."),
                                  **errors("400", "401", "404")}},
        },
        "/api/v1/operations/{operation_id}": {
            "get": {"operationId": "getOperation", "parameters": operation_id,
                    "responses": {"200": json(_ref("OperationDetail"),
                                              "The operation with its stacks and their changes, its root cause "
                                              "and results."),
                                  **errors("401", "404")}},
        },
        "/api/v1/operations/{operation_id}/events": {
            "get": {"operationId": "getOperationEvents", "parameters": [*operation_id, after],
                    "responses": {"200": json(_ref("EventPage"), "Status, stack states and the new events."),
                                  **errors("400", "401", "404")}},
        },
        "/api/v1/operations/{operation_id}/apply": {
            "post": {"operationId": "applyPlan", "parameters": operation_id,
                     "description": "Execute the reviewed plan's change sets. Refused (409) when the plan did not "
                                    "succeed, a change set is not described, every stack is up to date, the "
                                    "setup changed since, a newer plan exists, the plan was applied already, or "
                                    "another apply or teardown is requested or under way.",
                     "responses": {"202": json(_ref("Operation"), "The apply operation, pending."),
                                   **errors("401", "403", "404", "409", "503")}},
        },
        "/api/v1/operations/{operation_id}/cancel": {
            "post": {"operationId": "cancelOperation", "parameters": operation_id,
                     "description": "Cancel an operation that changes nothing in AWS: one no worker has started "
                                    "yet (pending), e.g. one whose task was lost, or an apply or teardown waiting "
                                    "for a stack an account's admin launches or deletes (waiting) while none of "
                                    "its stacks is being changed. What a waiting one finished stays. Refused "
                                    "(409) while it runs, while a stack of it is being changed, or once it has "
                                    "finished.",
                     "responses": {"200": json(_ref("Operation"), "The operation, cancelled."),
                                   **errors("401", "403", "404", "409")}},
        },
        "/api/v1/setups/{setup_id}/teardown": {
            "post": {"operationId": "requestTeardown", "parameters": setup_id, "requestBody": teardown_body,
                     "description": "Delete the portal's stacks of the setup, the build account's first. The "
                                    "application stacks the pipeline deployed (APP-staging, APP-production) stay.",
                     "responses": {"202": json(_ref("Operation"), "The teardown operation, pending."),
                                   **errors("400", "401", "403", "404", "409", "422", "503")}},
        },
    }
