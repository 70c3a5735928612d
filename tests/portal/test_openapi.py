"""The API against its OpenAPI document: property-based with schemathesis, in-process over WSGI.

Every operation gets schema-valid (positive) and schema-breaking (negative) requests; each answer must
be documented, match its schema, and never be a 5xx.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.models import Setup
from portal import tokens
from portal.api.openapi import build_spec
from portal.db import get_session
from tests.portal import factories
from tests.portal.test_pipelines import seed_snapshot

OPERATIONS = [(method.upper(), path) for path, item in build_spec()["paths"].items() for method in item]
EXAMPLES = 20
# Valid-per-schema requests may still break rules a JSON schema cannot state (an access entry per
# account of the same body, a connection in the build account and region, git's branch rules, a free
# name): those are 4xx by design, so "positive data is accepted" does not hold for this API.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture
def headers(app, users, broker):
    with app.app_context():
        _, plaintext = tokens.create_token(get_session(), users["operator"], "schemathesis")
        get_session().commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def existing(db, make_setup) -> list[dict[str, int]]:
    """Path parameters of objects that exist: a setup with a plan, a failed apply with stack events, and a
    deployed setup whose pipeline the worker has read (a failed build), for the dashboard's endpoints."""
    setup, deployed = db.get(Setup, make_setup()), db.get(Setup, make_setup(name="dashboard-api"))
    plan = factories.add_plan(db, setup)
    applied = factories.add_apply(db, setup, factories.add_plan(db, setup), status="failed",
                                  root_cause={"resource": "DeployRole", "type": "AWS::IAM::Role", "reason": "denied"})
    factories.add_event(db, applied.stacks[0], "DeployRole", "AWS::IAM::Role", "CREATE_FAILED", "denied")
    deployed_apply = factories.add_apply(db, deployed, factories.add_plan(db, deployed), status="succeeded")
    db.commit()
    seed_snapshot(db, deployed, build_status="Failed")
    team = setup.team_id  # the token's user's team: they read it, but may not rename or delete it (403)
    return [{"setup_id": setup.id, "operation_id": plan.id, "team_id": team},
            {"setup_id": setup.id, "operation_id": applied.id, "team_id": team},
            {"setup_id": deployed.id, "operation_id": deployed_apply.id, "team_id": team}]


def has_input(method: str, path: str) -> bool:
    operation = build_spec()["paths"][path][method.lower()]
    return bool(operation.get("parameters") or operation.get("requestBody"))


# A negative case breaks a parameter or the body: an operation with neither has none, so it gets only the
# positive run (a skipped test would say nothing either way).
CASES = [(method, path, mode) for method, path in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE or has_input(method, path)]


@pytest.mark.parametrize("method, path, mode", CASES, ids=[f"{m} {p}-{mode.value}" for m, p, mode in CASES])
def test_api_conforms_to_its_openapi_document(app, headers, existing, method, path, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    # Every case carries the test's own token, so a generated (or, in negative mode, dropped) Authorization
    # header would only be replaced again, and a "missing header" request would wrongly count as accepted.
    schema.config.generation.update(with_security_parameters=False)
    operation = schema[path][method]
    # Half the cases address objects that exist, so more than the 404 path gets exercised.
    strategy = operation.as_strategy(generation_mode=mode)
    for ids in existing:
        fixed = {name: ids[name] for name in ("setup_id", "operation_id", "team_id")
                 if "{" + name + "}" in path}
        if fixed:
            strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, path_parameters=fixed))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)

    check()
