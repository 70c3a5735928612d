"""The OpenAPI document is valid for the version it declares, and the key rules it can only describe are the
server's (OpenAPI 3.0 has no propertyNames or patternProperties)."""
from __future__ import annotations

import json

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from portal import tokens
from portal.api.openapi import build_spec
from portal.db import get_session
from tests.portal.helpers import BUILD, PRODUCTION, STAGING


def test_the_served_document_is_valid_openapi_of_the_version_it_declares(client, auth, users):
    auth.login("viewer")
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = json.loads(served.get_data(as_text=True))
    assert document == json.loads(json.dumps(build_spec())) and document["openapi"].startswith("3.0.")
    validate(document)  # picks the validator of the declared version
    assert list(OpenAPIV30SpecValidator(document).iter_errors()) == []


def test_the_validator_refuses_what_openapi_3_0_lacks():
    """The check above could not pass a document that used propertyNames again."""
    document = build_spec()
    tags = document["components"]["schemas"]["SetupCreate"]["properties"]["tags"]
    tags["propertyNames"] = {"maxLength": 128}
    with pytest.raises(OpenAPIValidationError):
        validate(document)


@pytest.fixture
def api(app, users):
    with app.app_context():
        _, plaintext = tokens.create_token(get_session(), users["operator"], "document")
        get_session().commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plaintext}"}
    return lambda body: client.post("/api/v1/setups", json=body, headers=headers)


SETUP = {"name": "orders-api", "build_account_id": BUILD, "staging_account_id": STAGING,
         "production_account_id": PRODUCTION, "region": "eu-west-1"}


@pytest.mark.parametrize("tags", [{"": "x"}, {"k" * 129: "x"}, {"aws:team": "x"}, {"a|b": "x"}],
                         ids=["empty", "too long", "reserved", "bad character"])
def test_a_tag_key_the_description_forbids_is_a_422_under_tags(api, tags):
    answer = api({**SETUP, "tags": tags})
    assert answer.status_code == 422 and list(answer.get_json()["errors"]) == ["tags"]


def test_an_access_key_that_is_not_one_of_the_setups_accounts_is_a_422_under_its_name(api):
    answer = api({**SETUP, "access": {"44444444444": {"method": "assume_role"}}})
    assert answer.status_code == 422 and "access.44444444444" in answer.get_json()["errors"]
