"""The JSON API: keys, access tokens, refresh rotation with reuse detection, scopes, OpenAPI."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.models import ApiKey, AuditLog, RefreshToken, SecurityEvent, ThreatIntelligence, db
from tests import factories
from tests.tenancy import assert_other_org_cannot_reach


def tokens(client, email, password=factories.PASSWORD, **extra):
    return client.post("/api/auth/token", json={"email": email, "password": password, **extra})


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_openapi_is_public_and_lists_every_api_route(app, client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    documented = {"/api" + path for path in spec["paths"]}
    # Flask's <int:name> is OpenAPI's {name}.
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()
              if r.endpoint.startswith("api.") and r.endpoint != "api.openapi"}
    assert routes == documented


def test_token_refresh_rotation_and_reuse_revokes_the_family(client, orgs):
    user = orgs.a.users["analyst"]
    first = tokens(client, user.email)
    assert first.status_code == 200 and first.json["expires_in"] == 900
    me = client.get("/api/me", headers=bearer(first.json["access_token"]))
    assert me.status_code == 200 and me.json["user"]["email"] == user.email and "events:read" in me.json["scopes"]
    second = client.post("/api/auth/refresh", json={"refresh_token": first.json["refresh_token"]})
    assert second.status_code == 200 and second.json["refresh_token"] != first.json["refresh_token"]
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first.json["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json["error"]["code"] == "refresh_token_reused"
    # the whole family is gone: the newer refresh token and the access tokens stop working
    assert client.post("/api/auth/refresh", json={"refresh_token": second.json["refresh_token"]}).status_code == 401
    assert client.get("/api/me", headers=bearer(second.json["access_token"])).status_code == 401
    event = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.event_type == "refresh_token_reuse"))
    assert event.severity == "high" and event.user_id == user.id
    assert db.session.scalar(sa.select(sa.func.count(RefreshToken.id)).where(RefreshToken.revoked_at.is_(None))) == 0


def test_a_password_change_ends_api_token_families(client, orgs):
    user = orgs.a.users["analyst"]
    pair = tokens(client, user.email).json
    client.login(user.email)
    assert client.post("/auth/password", data={"current_password": factories.PASSWORD,
                                               "password": "another long phrase", "confirm": "another long phrase"}
                       ).status_code == 303
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_revoke_ends_a_family(client, orgs):
    pair = tokens(client, orgs.a.users["analyst"].email).json
    assert client.post("/api/auth/revoke", json={"refresh_token": pair["refresh_token"]}).json == {"revoked": 1}
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/api/auth/revoke", json={"refresh_token": "nope"}).status_code == 404


def test_token_needs_the_second_factor_when_mfa_is_on(client, orgs):
    import pyotp

    from app.auth import mfa

    user = orgs.a.users["analyst"]
    secret = mfa.new_secret()
    mfa.enable(user, secret, pyotp.TOTP(secret).now())
    db.session.commit()
    assert tokens(client, user.email).json["error"]["code"] == "mfa_required"
    assert tokens(client, user.email, code="000000").json["error"]["code"] == "invalid_mfa_code"
    import time

    ok = tokens(client, user.email, code=pyotp.TOTP(secret).at(time.time() + 30))
    assert ok.status_code == 200
    bad = tokens(client, user.email, password="wrong-password-1")
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_credentials"
    assert tokens(client, "").status_code == 422


def test_api_keys_are_shown_once_scoped_and_revocable(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    page = client.post("/auth/api-keys", data={"name": "SIEM", "scopes": ["events:read"], "expires_days": "30"})
    secret = re.search(r'id="new-api-key">(vgl_[^<]+)<', page.get_data(as_text=True)).group(1)
    key = db.session.scalar(sa.select(ApiKey))
    assert key.key_hash != secret and secret.startswith(key.key_prefix)
    assert secret not in client.get("/auth/api-keys").get_data(as_text=True)  # shown once
    events = client.get("/api/security-events", headers=bearer(secret))
    assert events.status_code == 200 and all(e for e in events.json["items"])
    assert client.get("/api/threats", headers=bearer(secret)).json["error"]["code"] == "insufficient_scope"
    db.session.refresh(key)
    assert key.usage_count == 1 and key.last_used_ip == "127.0.0.1"
    assert client.post(f"/auth/api-keys/{key.id}/revoke").status_code == 303
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_key.revoked"))


def test_keys_only_see_their_organization(client, orgs):
    from app.api.tokens import create_api_key
    from app.threats.intel import add_indicator

    add_indicator(orgs.b.org.id, "domain", "theirs.example")
    secret, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "x", ["intel:read", "intel:write"], None)
    theirs, their_key = create_api_key(orgs.b.users["admin"], orgs.b.org.id, "y", ["intel:read"], None)
    db.session.commit()
    assert client.get("/api/intel", headers=bearer(secret)).json["items"] == []
    created = client.post("/api/intel", headers=bearer(secret), json={"type": "domain", "value": "Bad.Example"})
    assert created.status_code == 201 and created.json["value"] == "bad.example"
    invalid = client.post("/api/intel", headers=bearer(secret), json={"type": "ip", "value": "10.0.0.1"})
    assert invalid.status_code == 422 and invalid.json["error"]["code"] == "invalid_indicator"
    assert db.session.scalar(sa.select(sa.func.count(ThreatIntelligence.id))
                             .where(ThreatIntelligence.org_id == orgs.a.org.id)) == 1
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [("POST", f"/auth/api-keys/{their_key.id}/revoke")])


def test_a_browser_session_is_not_an_api_credential(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.get("/api/me")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"
    assert client.get("/api/me", headers=bearer("garbage")).json["error"]["code"] == "invalid_token"
