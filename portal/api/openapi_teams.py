"""The OpenAPI description of teams and memberships, and of moving a setup to another team."""
from __future__ import annotations

from typing import Any

from core.models import TeamRole
from portal import memberships

ROLE = {"type": "string", "enum": [role.value for role in TeamRole],
        "description": "The role in this team; admin is a global role, no team's."}
TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def schemas(id_schema: dict[str, Any]) -> dict[str, Any]:
    name = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^" + memberships.TEAM_NAME.pattern + "$"}
    return {
        "Team": {"type": "object", "required": ["id", "name", "created_at", "my_role"],
                 "properties": {"id": id_schema, "name": {"type": "string"}, "created_at": TIME,
                                "my_role": {**ROLE, "nullable": True,
                                            "description": "Your role in the team; null for an admin."}}},
        "TeamList": {"type": "object", "required": ["teams"],
                     "properties": {"teams": {"type": "array", "items": _ref("Team")}}},
        "TeamCreate": {"type": "object", "additionalProperties": False, "required": ["name"],
                       "properties": {"name": name}},
        "TeamRename": {"type": "object", "additionalProperties": False, "required": ["name"],
                       "properties": {"name": name}},
        "Member": {"type": "object", "required": ["user_id", "username", "role", "since"],
                   "properties": {"user_id": id_schema, "username": {"type": "string"}, "role": ROLE, "since": TIME}},
        "MemberList": {"type": "object", "required": ["members"],
                       "properties": {"members": {"type": "array", "items": _ref("Member")}}},
        "MemberAdd": {"type": "object", "additionalProperties": False, "required": ["username", "role"],
                      "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 64}, "role": ROLE}},
        "MemberChange": {"type": "object", "additionalProperties": False, "required": ["role"],
                         "properties": {"role": ROLE}},
        "SetupTransfer": {"type": "object", "additionalProperties": False, "required": ["team_id"],
                          "properties": {"team_id": id_schema}},
    }


def paths(setup_id: list[dict[str, Any]], id_parameter: Any, json: Any, errors: Any) -> dict[str, Any]:
    team_id, member = [id_parameter("team_id")], [id_parameter("team_id"), id_parameter("user_id")]
    body = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731
    return {
        "/api/v1/teams": {
            "get": {"operationId": "listTeams", "description": "Your teams, with your role in each; every team for "
                                                               "an admin.",
                    "responses": {"200": json(_ref("TeamList"), "The teams."), **errors("401")}},
            "post": {"operationId": "createTeam", "requestBody": body("TeamCreate"),
                     "description": "Create a team (admins only).",
                     "responses": {"201": json(_ref("Team"), "The team."),
                                   **errors("400", "401", "403", "409", "422")}},
        },
        "/api/v1/teams/{team_id}": {
            "get": {"operationId": "getTeam", "parameters": team_id,
                    "responses": {"200": json(_ref("Team"), "The team."), **errors("401", "404")}},
            "patch": {"operationId": "renameTeam", "parameters": team_id, "requestBody": body("TeamRename"),
                      "description": "Rename the team (admins only); audited. 409: the name is taken, or "
                                     "the team is the default one (setups saved without a team land in it "
                                     "by its name).",
                      "responses": {"200": json(_ref("Team"), "The renamed team."),
                                    **errors("400", "401", "403", "404", "409", "422")}},
            "delete": {"operationId": "deleteTeam", "parameters": team_id,
                       "description": "Delete an empty team (admins only); its memberships go, its audit "
                                      "entries stay. 409: the team owns setups (move them first), or it is "
                                      "the default team.",
                       "responses": {"204": {"description": "Deleted."},
                                     **errors("401", "403", "404", "409")}},
        },
        "/api/v1/teams/{team_id}/members": {
            "get": {"operationId": "listMembers", "parameters": team_id,
                    "responses": {"200": json(_ref("MemberList"), "The team's members by name."),
                                  **errors("401", "404")}},
            "post": {"operationId": "addMember", "parameters": team_id, "requestBody": body("MemberAdd"),
                     "description": "Add a user with a role (admins only); it takes effect on their next request.",
                     "responses": {"201": json(_ref("Member"), "The membership."),
                                   **errors("400", "401", "403", "404", "409", "422")}},
        },
        "/api/v1/teams/{team_id}/members/{user_id}": {
            "patch": {"operationId": "changeMember", "parameters": member, "requestBody": body("MemberChange"),
                      "description": "Change a member's role (admins only).",
                      "responses": {"200": json(_ref("Member"), "The membership."),
                                    **errors("400", "401", "403", "404", "422")}},
            "delete": {"operationId": "removeMember", "parameters": member,
                       "description": "Remove a member (admins only): their sessions and tokens lose the team's "
                                      "setups on their next request.",
                       "responses": {"204": {"description": "Removed."}, **errors("401", "403", "404")}},
        },
        "/api/v1/setups/{setup_id}/transfer": {
            "post": {"operationId": "transferSetup", "parameters": setup_id, "requestBody": body("SetupTransfer"),
                     "description": "Move the setup to another team (admins only); audited under both teams.",
                     "responses": {"200": json(_ref("Setup"), "The setup in its new team."),
                                   **errors("400", "401", "403", "404", "422")}},
        },
    }
