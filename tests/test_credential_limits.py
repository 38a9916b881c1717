"""Every credential-accepting endpoint shares the sign-in limiter and the lockout (issue
11.5), and a locked account answers like an unknown one while its owner is told by e-mail
(issue 11.6)."""

from __future__ import annotations

from email import message_from_bytes

import sqlalchemy as sa

from app.auth import services
from app.models import LoginAttempt, User, db
from app.passwords import verify_password
from app.threats.blocks import block_ip
from tests.factories import PASSWORD
from tests.test_password_reset import mail  # noqa: F401 - the fake SMTP server fixture
from tests.test_ratelimit import one_window  # noqa: F401 - the limiter's clock held still


def token(client, email: str, password: str):
    return client.post("/api/auth/token", json={"email": email, "password": password}, csrf=False)


def test_an_address_blocked_on_the_form_is_refused_at_the_token_endpoint(client, orgs, one_window):  # noqa: F811
    user = orgs.a.users["analyst"]
    codes = [client.login("nobody@example.test", "x" * 12).status_code for _ in range(11)]
    assert codes[-1] == 429
    response = token(client, user.email, PASSWORD)  # the right password, still refused
    assert response.status_code == 429 and response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 60
    assert "access_token" not in response.json


def test_forty_wrong_token_attempts_get_429_and_lock_the_account(client, orgs, one_window):  # noqa: F811
    user = orgs.a.users["operator"]
    codes = [token(client, user.email, "wrong-password-123").status_code for _ in range(40)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    db.session.expire_all()
    assert db.session.get(User, user.id).is_locked()
    # Only the attempts that reached the password check were counted (the limiter refused the rest).
    assert db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)).where(LoginAttempt.user_id == user.id)) == 10


def test_a_threat_response_block_covers_the_token_endpoint(client, orgs):
    block_ip("127.0.0.1", 30, "credential stuffing (test)")
    db.session.commit()
    assert token(client, orgs.a.users["analyst"].email, PASSWORD).status_code == 429
    assert client.login(orgs.a.users["analyst"].email).status_code == 429


def test_a_locked_account_answers_like_an_unknown_address(client, orgs):
    user = orgs.a.users["operator"]
    for _ in range(5):
        client.login(user.email, "wrong-password-123")
    locked = client.login(user.email)  # the right password
    unknown = client.login("nobody@example.test", PASSWORD)
    assert locked.status_code == unknown.status_code == 422
    assert services.GENERIC_FAILURE in locked.get_data(as_text=True)
    assert services.GENERIC_FAILURE in unknown.get_data(as_text=True)
    assert "locked" not in locked.get_data(as_text=True).lower()
    api_locked, api_unknown = token(client, user.email, PASSWORD), token(client, "nobody@example.test", PASSWORD)
    assert api_locked.status_code == api_unknown.status_code == 401
    assert api_locked.json == api_unknown.json


def test_the_owner_is_mailed_once_per_lockout(client, orgs, mail):  # noqa: F811
    user = orgs.a.users["operator"]
    for _ in range(5):
        client.login(user.email, "wrong-password-123")
    for _ in range(3):  # more attempts while locked: no more mail
        client.login(user.email, "wrong-password-123")
    [envelope] = mail.envelopes
    assert envelope.rcpt_tos == [user.email]
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    assert "locked" in body and "5 failed sign-in attempts" in body and "127.0.0.1" in body
    assert "wrong-password-123" not in body


def test_wrong_passwords_on_the_account_page_count_towards_the_lockout(client, orgs):
    user = orgs.a.users["analyst"]
    assert client.login(user.email).status_code == 303
    data = {"current_password": "wrong-password-123", "password": "a new long passphrase",
            "confirm": "a new long passphrase"}
    for _ in range(5):
        assert client.post("/auth/password", data=data).status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).is_locked()
    # Locked: even the right current password is not checked now, and nothing changes.
    right = client.post("/auth/password", data={**data, "current_password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"].endswith("/auth/security")
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_the_document_lists_the_token_endpoints_429_and_why(client):
    responses = client.get("/api/openapi.json").json["paths"]["/auth/token"]["post"]["responses"]
    assert "sign-in form's limiter and lockout" in responses["429"]["description"]
    assert "Retry-After" in responses["429"]["headers"]
