"""The organization's security policy page and its effects."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import AuditLog, Organization, User, db, utcnow
from tests import factories


def test_admin_edits_the_policy_and_it_applies(client, orgs):
    client.login(orgs.a.users["admin"].email)
    bad = client.post("/admin/policy", data={"password_min_length": "4", "password_history": "5",
                                             "password_expiry_days": "0"})
    assert bad.status_code == 422
    ok = client.post("/admin/policy", data={"password_min_length": "16", "password_history": "3",
                                            "password_expiry_days": "90", "mfa_required_roles": ["analyst"]})
    assert ok.status_code == 303
    org = db.session.get(Organization, orgs.a.org.id)
    assert org.policy["password_min_length"] == 16 and org.policy["mfa_required_roles"] == ["analyst"]
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "org.policy_changed"))
    assert row.old_values["password_min_length"] == 12 and row.new_values["password_min_length"] == 16
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/").headers["Location"].endswith("/auth/mfa/enrol")
    # the new minimum length applies to password changes
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)
    short = client.post("/auth/password", data={"current_password": factories.PASSWORD,
                                                "password": "fifteen-chars-x", "confirm": "fifteen-chars-x"})
    assert short.status_code == 422 and "at least 16" in short.get_data(as_text=True)


def test_only_admins_edit_the_policy(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/admin/policy").status_code == 403


def test_an_expired_password_must_be_changed_first(client, orgs):
    user = db.session.get(User, orgs.a.users["operator"].id)
    user.password_expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    client.login(user.email)
    assert client.get("/jobs/").headers["Location"].endswith("/auth/password")
    assert client.post("/auth/password", data={"current_password": factories.PASSWORD,
                                               "password": "a brand new passphrase", "confirm": "a brand new passphrase"}
                       ).status_code == 303
    assert client.get("/jobs/").status_code == 200
