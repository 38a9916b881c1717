"""Sign-in: passwords, lockout, server-side sessions, CSRF and security headers."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth import services
from app.models import AuditLog, LoginAttempt, User, UserSession, db
from tests import factories


def test_login_success_opens_a_server_side_session(client, orgs):
    user = orgs.a.users["analyst"]
    response = client.login(user.email)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/")
    sessions = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(sessions) == 1 and sessions[0].revoked_at is None
    attempt = db.session.scalar(sa.select(LoginAttempt).where(LoginAttempt.user_id == user.id))
    assert attempt.success is True
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_the_same_message_as_an_unknown_user(client, orgs):
    bad = client.login(orgs.a.users["analyst"].email, "not-the-password")
    unknown = client.login("nobody@example.test", "whatever-password")
    assert bad.status_code == unknown.status_code == 422
    assert services.GENERIC_FAILURE.encode() in bad.data
    assert services.GENERIC_FAILURE.encode() in unknown.data
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(client, orgs):
    user = orgs.a.users["operator"]
    for _ in range(5):
        client.login(user.email, "wrong-password-123")
    db.session.expire_all()
    locked = db.session.get(User, user.id)
    assert locked.locked_until is not None
    response = client.login(user.email)  # correct password, still refused
    assert response.status_code == 422
    # The same answer as for an unknown address: the form does not tell who has an account.
    assert services.GENERIC_FAILURE.encode() in response.data and b"locked" not in response.data
    reasons = db.session.scalars(
        sa.select(LoginAttempt.failure_reason).where(LoginAttempt.user_id == user.id).order_by(LoginAttempt.id)
    ).all()
    assert reasons == ["bad_credentials"] * 5 + ["locked"]
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "user.locked", AuditLog.resource_id == str(user.id)))


def test_unlock_forgets_earlier_failures(client, orgs):
    user = orgs.a.users["operator"]
    for _ in range(5):
        client.login(user.email, "wrong-password-123")
    db.session.expire_all()
    services.unlock(db.session.get(User, user.id))
    db.session.commit()
    client.login(user.email, "wrong-password-123")  # one more failure must not re-lock
    assert client.login(user.email).status_code == 303


def test_revoked_session_stops_working_at_once(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    assert client.get("/").status_code == 200
    row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    services.revoke_session(row, "admin")
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_deactivated_user_cannot_keep_using_a_session(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    db.session.get(User, user.id).status = "deactivated"
    db.session.commit()
    assert client.get("/").status_code == 302


def test_logout_revokes_the_session(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    assert client.post("/auth/logout").status_code == 303
    row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    db.session.refresh(row)
    assert row.revoked_reason == "logout"
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_refused(client, orgs):
    user = orgs.a.users["analyst"]
    response = client.post("/auth/login", data={"email": user.email, "password": factories.PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0


def test_login_ignores_an_offsite_next(client, orgs):
    response = client.post("/auth/login?next=//evil.example/", data={"email": orgs.a.users["admin"].email,
                                                                     "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"


def test_security_headers_forbid_inline_script(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script>" not in response.get_data(as_text=True)


def test_set_password_link_works_once(client, orgs, app):
    user = factories.user(orgs.a.org.id, "analyst", status="invited", password=None)
    db.session.commit()
    with app.test_request_context():
        token = services.make_set_password_token(user)
    url = f"/auth/set-password/{token}"
    assert client.get(url).status_code == 200
    short = client.post(url, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"at least 12" in short.data
    ok = client.post(url, data={"password": "a-long-enough-passphrase", "confirm": "a-long-enough-passphrase"})
    assert ok.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).status == "active"
    assert client.get(url).status_code == 400  # used: the link no longer works
    assert client.login(user.email, "a-long-enough-passphrase").status_code == 303


def test_health_reports_database_and_queue(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "queue": "ok"},
                             "workers": 0}
