"""API tokens: created on a page, shown once, stored hashed, revocable by their owner only."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from core.models import ApiToken, AuditEntry
from portal.db import get_session
from tests.portal.helpers import submit

TOKEN = re.compile(r'<code class="token" id="new-token">(lpp_[^<]+)</code>')


def create_token(client, name="ci") -> str:
    response = submit(client, "/account/tokens", {"name": name})
    assert response.status_code == 201
    return TOKEN.search(response.get_data(as_text=True)).group(1)


def test_shows_a_new_token_once_and_stores_only_its_hash(app, client, auth, users):
    auth.login("viewer")
    token = create_token(client)
    with app.app_context():
        row = get_session().scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12] and row.user_id == users["viewer"]
    page = client.get("/account/tokens").get_data(as_text=True)
    assert token not in page and f"{token[:12]}…" in page


def test_a_token_authenticates_api_calls_until_revoked(app, client, auth, users):
    auth.login("viewer")
    token = create_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/setups", headers=headers).status_code == 200
    with app.app_context():
        token_id = get_session().scalar(select(ApiToken.id))
    response = submit(client, "/account/tokens", {}, action=f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302
    response = client.get("/api/v1/setups", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["The API token is unknown or revoked."]}}
    with app.app_context():
        actions = get_session().scalars(select(AuditEntry.action).where(AuditEntry.action.like("token.%"))).all()
    assert actions == ["token.create", "token.revoke"]


def test_users_cannot_revoke_each_others_tokens(app, client, auth, users):
    auth.login("viewer")
    create_token(client)
    auth.logout()
    auth.login("operator")
    with app.app_context():
        token_id = get_session().scalar(select(ApiToken.id))
    response = submit(client, "/account/tokens", {}, action=f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 404
    with app.app_context():
        assert get_session().get(ApiToken, token_id).revoked_at is None


def test_a_token_needs_a_name(client, auth, users):
    auth.login("viewer")
    response = submit(client, "/account/tokens", {"name": ""})
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)


def test_a_deactivated_users_tokens_stop_working(app, client, auth, users):
    from core.models import User

    auth.login("viewer")
    token = create_token(client)
    with app.app_context():
        get_session().get(User, users["viewer"]).is_active = False
        get_session().commit()
    assert client.get("/api/v1/setups", headers={"Authorization": f"Bearer {token}"}).status_code == 401
