"""MFA, password policy, sessions and trusted browsers (issue 3, account protection)."""

from __future__ import annotations

import re
import time

import pyotp
import sqlalchemy as sa

from app.auth import mfa
from app.crypto import decrypt_text
from app.models import (
    MfaBackupCode,
    Organization,
    PasswordHistory,
    SecurityEvent,
    TrustedDevice,
    User,
    UserSession,
    db,
)
from tests import factories
from tests.tenancy import assert_other_org_cannot_reach


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def enrol(client) -> tuple[str, list[str]]:
    """Enrol the signed-in user; return the TOTP secret and the backup codes shown."""
    page = client.get("/auth/mfa/enrol")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    with client.session_transaction() as sess:
        secret = sess["mfa_enrol_secret"]
    done = client.post("/auth/mfa/enrol", data={"code": code_at(secret)})
    assert done.status_code == 200
    codes = re.findall(r'<code class="fs-5">([a-z0-9-]+)</code>', done.get_data(as_text=True))
    return secret, codes


def events(user_id: int, kind: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(SecurityEvent.id)).where(
        SecurityEvent.user_id == user_id, SecurityEvent.event_type == kind)) or 0


def test_enrolment_stores_the_secret_encrypted_and_shows_ten_codes_once(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    wrong = client.post("/auth/mfa/enrol", data={"code": "000000"})
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(c) == 11 for c in codes)
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.mfa_enabled and stored.mfa_secret_encrypted != secret
    assert decrypt_text(stored.mfa_secret_encrypted) == secret
    hashes = db.session.scalars(sa.select(MfaBackupCode.code_hash).where(MfaBackupCode.user_id == user.id)).all()
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    assert events(user.id, "mfa_enrolled") == 1


def test_sign_in_asks_for_the_code_and_refuses_a_replay(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    secret, _ = enrol(client)
    client.post("/auth/logout")
    first = client.login(user.email)
    assert first.status_code == 303 and first.headers["Location"].endswith("/auth/mfa")
    assert client.get("/").status_code == 302  # not signed in yet
    bad = client.post("/auth/mfa", data={"code": "123456"})
    assert bad.status_code == 422 and events(user.id, "mfa_failed") == 1
    code = code_at(secret, 1)
    ok = client.post("/auth/mfa", data={"code": code})
    assert ok.status_code == 303 and client.get("/").status_code == 200
    client.post("/auth/logout")
    client.login(user.email)
    replay = client.post("/auth/mfa", data={"code": code})
    assert replay.status_code == 422  # the same code (same step) never works twice


def test_a_backup_code_works_once(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    _, codes = enrol(client)
    client.post("/auth/logout")
    client.login(user.email)
    assert client.post("/auth/mfa", data={"code": codes[0]}).status_code == 303
    client.post("/auth/logout")
    client.login(user.email)
    assert client.post("/auth/mfa", data={"code": codes[0]}).status_code == 422
    assert client.post("/auth/mfa", data={"code": codes[1].upper()}).status_code == 303


def test_wrong_codes_count_towards_lockout(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    enrol(client)
    client.post("/auth/logout")
    client.login(user.email)
    for _ in range(4):
        client.post("/auth/mfa", data={"code": "000000"})
    last = client.post("/auth/mfa", data={"code": "000000"})
    assert last.status_code == 303 and last.headers["Location"].endswith("/auth/login")
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


def test_trusted_browser_skips_the_code_until_revoked(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    secret, _ = enrol(client)
    client.post("/auth/logout")
    client.login(user.email)
    response = client.post("/auth/mfa", data={"code": code_at(secret, 1), "trust_browser": "y"})
    assert "vigil_device=" in response.headers.get("Set-Cookie", "")
    client.post("/auth/logout")
    assert client.login(user.email).headers["Location"] == "/"  # no second step
    device = db.session.scalar(sa.select(TrustedDevice).where(TrustedDevice.user_id == user.id))
    assert client.post(f"/auth/devices/{device.id}/revoke").status_code == 303
    client.post("/auth/logout")
    assert client.login(user.email).headers["Location"].endswith("/auth/mfa")


def test_policy_sends_users_to_enrolment_first(client, orgs):
    org = db.session.get(Organization, orgs.a.org.id)
    org.policy = {"mfa_required_roles": ["operator"]}
    db.session.commit()
    client.login(orgs.a.users["operator"].email)
    response = client.get("/jobs/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/mfa/enrol")
    secret, _ = enrol(client)
    assert client.get("/jobs/").status_code == 200
    refused = client.post("/auth/mfa/disable", data={"password": factories.PASSWORD, "code": code_at(secret, 1)})
    assert refused.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, orgs.a.users["operator"].id).mfa_enabled  # still on: required
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/jobs/").status_code == 200  # other roles are not forced


def test_disable_needs_password_and_code(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    secret, _ = enrol(client)
    client.post("/auth/mfa/disable", data={"password": "wrong-password", "code": code_at(secret, 1)})
    db.session.expire_all()
    assert db.session.get(User, user.id).mfa_enabled
    client.post("/auth/mfa/disable", data={"password": factories.PASSWORD, "code": code_at(secret, 1)})
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert not stored.mfa_enabled and stored.mfa_secret_encrypted is None
    assert events(user.id, "mfa_disabled") == 1


def test_password_change_applies_policy_history_and_ends_other_sessions(app, client, orgs):
    user = orgs.a.users["analyst"]
    other = app.test_client()
    other.login(user.email)
    client.login(user.email)
    url = "/auth/password"
    common = client.post(url, data={"current_password": factories.PASSWORD, "password": "password123456",
                                    "confirm": "password123456"})
    assert common.status_code == 422 and "commonly used" in common.get_data(as_text=True)
    same = client.post(url, data={"current_password": factories.PASSWORD, "password": factories.PASSWORD,
                                  "confirm": factories.PASSWORD})
    assert same.status_code == 422 and "recently" in same.get_data(as_text=True)
    wrong = client.post(url, data={"current_password": "nope-nope", "password": "a fresh passphrase 1",
                                   "confirm": "a fresh passphrase 1"})
    assert wrong.status_code == 422
    ok = client.post(url, data={"current_password": factories.PASSWORD, "password": "a fresh passphrase 1",
                                "confirm": "a fresh passphrase 1"})
    assert ok.status_code == 303
    assert client.get("/").status_code == 200  # this session stays
    assert other.get("/").status_code == 302  # the other one ended
    assert db.session.scalar(sa.select(sa.func.count(PasswordHistory.id)).where(PasswordHistory.user_id == user.id)) == 1
    back = client.post(url, data={"current_password": "a fresh passphrase 1", "password": factories.PASSWORD,
                                  "confirm": factories.PASSWORD})
    assert back.status_code == 422  # the previous password is in the history


def test_sessions_page_signs_out_one_or_all_others(app, client, orgs):
    user = orgs.a.users["analyst"]
    second, third = app.test_client(), app.test_client()
    second.login(user.email)
    third.login(user.email)
    client.login(user.email)
    page = client.get("/auth/security").get_data(as_text=True)
    assert page.count("<td>127.0.0.1</td>") == 3 and "this one" in page
    rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)).all()
    assert client.post(f"/auth/sessions/{rows[0].id}/revoke").status_code == 303
    assert second.get("/").status_code == 302 and third.get("/").status_code == 200
    client.post("/auth/sessions/revoke-others")
    assert third.get("/").status_code == 302 and client.get("/").status_code == 200


def test_nobody_reaches_another_users_sessions_or_devices(client, orgs):
    victim = orgs.b.users["analyst"]
    from app.auth.services import open_session

    open_session(victim, "10.0.0.1", "x")
    db.session.commit()
    victim_session = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == victim.id))
    _, device = mfa.trust_browser(victim, "10.0.0.1", "Firefox on Linux")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("POST", f"/auth/sessions/{victim_session.id}/revoke"), ("POST", f"/auth/devices/{device.id}/revoke"),
    ])
    db.session.refresh(victim_session)
    assert victim_session.revoked_at is None


def test_risky_sign_in_asks_for_the_code_even_on_a_trusted_browser(client, orgs):
    from decimal import Decimal

    from app.threats.intel import add_indicator

    user = orgs.a.users["analyst"]
    client.login(user.email)
    secret, _ = enrol(client)
    client.post("/auth/logout")
    client.login(user.email)
    client.post("/auth/mfa", data={"code": code_at(secret, 1), "trust_browser": "y"})
    client.post("/auth/logout")
    db.session.get(User, user.id).trust_score = Decimal("0")
    add_indicator(orgs.a.org.id, "cidr", "203.0.113.0/24", confidence=100)
    client.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    db.session.commit()
    response = client.login(user.email)
    assert response.headers["Location"].endswith("/auth/mfa")  # challenged, not denied, not let through
