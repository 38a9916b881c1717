"""Admin: users of the current organization (invite, roles, account actions, protections)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.models import AuditLog, MfaBackupCode, User, UserSession, db, utcnow
from tests import factories
from tests.tenancy import assert_other_org_cannot_reach

NEW_PASSWORD = "violet-lantern-orbit-42"


def audit_rows(action: str, resource_id=None) -> list[AuditLog]:
    stmt = sa.select(AuditLog).where(AuditLog.action == action)
    if resource_id is not None:
        stmt = stmt.where(AuditLog.resource_id == str(resource_id))
    return db.session.scalars(stmt.order_by(AuditLog.id)).all()


def audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditLog.id)))


def by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def live_sessions(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)))


def signed_in(app, user: User):
    """Another browser, signed in as `user`."""
    other = app.test_client()
    assert other.login(user.email).status_code == 303
    return other


def invite_link(html: str) -> str | None:
    match = re.search(r"<p class=\"secret-once[^\"]*\" data-link>(http[^<]+)</p>", html)
    return match.group(1) if match else None


def test_list_shows_only_this_organizations_users_with_sessions_and_state(client, app, orgs):
    analyst = orgs.a.users["analyst"]
    signed_in(app, analyst)
    signed_in(app, analyst)
    analyst.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    html = client.get("/admin/users").get_data(as_text=True)
    for user in orgs.a.users.values():
        assert f'data-user-id="{user.id}"' in html
    for user in orgs.b.users.values():
        assert f'data-user-id="{user.id}"' not in html
    assert f'data-user-id="{orgs.super_admin.id}"' not in html
    row = html.split(f'data-user-id="{analyst.id}"')[1].split("</tr>")[0]
    assert 'data-sessions="2"' in row and "bi-lock" in row
    other_row = html.split(f'data-user-id="{orgs.a.users["operator"].id}"')[1].split("</tr>")[0]
    assert 'data-sessions="0"' in other_row and "bi-lock" not in other_row


def test_filters_search_and_pagination(client, orgs):
    for n in range(30):
        factories.user(orgs.a.org.id, "read_only", email=f"bulk{n:02d}@example.test")
    factories.user(orgs.a.org.id, "operator", email="zed@example.test", first_name="Zora", status="deactivated")
    orgs.a.org.max_seats = 100
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    first = client.get("/admin/users?role=read_only").get_data(as_text=True)
    assert first.count("data-user-id=") == 25 and "Page 1 of 2 (31)" in first
    second = client.get("/admin/users?role=read_only&page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second and second.count("data-user-id=") == 6
    assert "role=read_only" in second  # the pager keeps the filter
    by_name = client.get("/admin/users?q=zora").get_data(as_text=True)
    assert by_name.count("data-user-id=") == 1 and "zed@example.test" in by_name
    by_status = client.get("/admin/users?status=deactivated").get_data(as_text=True)
    assert by_status.count("data-user-id=") == 1
    bad = client.get("/admin/users?role=wizard")
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)


def test_roles_without_user_permissions_are_refused(client, orgs):
    target = orgs.a.users["read_only"]
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@example.test", "role": "analyst"}).status_code == 403
    assert client.get(f"/admin/users/{target.id}").status_code == 403
    for action in ("deactivate", "reactivate", "unlock", "reset-mfa", "revoke-sessions", "invite-link"):
        assert client.post(f"/admin/users/{target.id}/{action}").status_code == 403, action
    db.session.refresh(target)
    assert target.status == "active" and by_email("x@example.test") is None


def test_invite_shows_the_link_once_and_it_works_once_end_to_end(client, app, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/admin/users/new", data={
        "email": " New.Person@Example.TEST ", "first_name": "New", "last_name": "Person", "role": "analyst"})
    assert response.status_code == 303
    user = by_email("new.person@example.test")
    assert user.status == "invited" and user.org_id == orgs.a.org.id and user.role == "analyst"
    assert user.password_hash is None
    assert response.headers["Location"].endswith(f"/admin/users/{user.id}")
    [row] = audit_rows("user.invited", user.id)
    assert row.new_values == {"email": "new.person@example.test", "first_name": "New", "last_name": "Person",
                              "phone_number": None, "role": "analyst", "status": "invited"}

    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    link = invite_link(page)
    assert link and "/auth/set-password/" in link and link.startswith("http")
    assert invite_link(client.get(f"/admin/users/{user.id}").get_data(as_text=True)) is None  # shown once

    browser = app.test_client()
    path = link.split("localhost", 1)[1]
    assert browser.get(path).status_code == 200
    done = browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303
    db.session.refresh(user)
    assert user.status == "active"
    assert browser.login("new.person@example.test", NEW_PASSWORD).status_code == 303
    assert browser.get("/").status_code == 200
    reused = app.test_client().get(path)
    assert reused.status_code == 400 and "already been used" in reused.get_data(as_text=True)


def test_invite_validation(client, orgs):
    admin = orgs.a.users["admin"]
    client.login(admin.email)
    before = audit_count()
    taken = client.post("/admin/users/new", data={"email": admin.email.upper(), "role": "analyst"})
    assert taken.status_code == 422 and "A user with this email address already exists." in taken.get_data(as_text=True)
    other_org = client.post("/admin/users/new", data={"email": orgs.b.users["analyst"].email, "role": "analyst"})
    assert other_org.status_code == 422
    bad = client.post("/admin/users/new", data={"email": "not-an-email", "role": "analyst"})
    assert bad.status_code == 422 and "Enter a valid email address." in bad.get_data(as_text=True)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="admin"' in page and 'value="super_admin"' not in page
    minted = client.post("/admin/users/new", data={"email": "boss@example.test", "role": "super_admin"})
    assert minted.status_code == 422 and "Not a valid choice" in minted.get_data(as_text=True)
    assert by_email("boss@example.test") is None and audit_count() == before


def test_htmx_invite_errors_return_the_form_fragment(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/admin/users/new", data={"email": "", "role": "analyst"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and "This field is required." in html


def test_seats_limit_invitations(client, orgs):
    orgs.a.org.max_seats = 4  # the fixture's four users fill it
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    response = client.post("/admin/users/new", data={"email": "fifth@example.test", "role": "analyst"})
    assert response.status_code == 422 and "uses all its 4 seats" in response.get_data(as_text=True)
    assert by_email("fifth@example.test") is None


def test_super_admin_manages_the_users_of_the_organization_it_works_in(client, orgs):
    client.login(orgs.super_admin.email)
    client.post("/org/switch", data={"org_id": orgs.b.org.id})
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="super_admin"' in page
    assert client.post("/admin/users/new", data={"email": "b-new@example.test", "role": "admin"}).status_code == 303
    assert by_email("b-new@example.test").org_id == orgs.b.org.id
    html = client.get("/admin/users").get_data(as_text=True)
    assert f'data-user-id="{orgs.b.users["analyst"].id}"' in html
    assert f'data-user-id="{orgs.a.users["analyst"].id}"' not in html
    assert client.get(f"/admin/users/{orgs.a.users['analyst'].id}").status_code == 404


def test_change_role_is_audited_with_old_and_new_values(client, orgs):
    target = orgs.a.users["analyst"]
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/admin/users/{target.id}", data={"first_name": "Ana", "last_name": "", "role": "admin"})
    assert response.status_code == 303
    db.session.refresh(target)
    assert target.role == "admin" and target.first_name == "Ana"
    [row] = audit_rows("user.updated", target.id)
    assert row.old_values == {"role": "analyst", "first_name": None}
    assert row.new_values == {"role": "admin", "first_name": "Ana"}


def test_admin_cannot_promote_to_super_admin(client, orgs):
    target = orgs.a.users["analyst"]
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/admin/users/{target.id}", data={"role": "super_admin"})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    db.session.refresh(target)
    assert target.role == "analyst"


def test_nobody_changes_their_own_role_or_deactivates_themselves(client, orgs):
    admin = orgs.a.users["admin"]
    factories.user(orgs.a.org.id, "admin", email="second-admin@example.test")  # not the last admin
    db.session.commit()
    client.login(admin.email)
    before = audit_count()
    response = client.post(f"/admin/users/{admin.id}", data={"role": "analyst"})
    assert response.status_code == 422 and "You cannot change your own role" in response.get_data(as_text=True)
    refused = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in refused.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.status == "active" and audit_count() == before


def test_the_last_active_admin_of_an_organization_is_protected(client, orgs):
    admin = orgs.a.users["admin"]
    client.login(orgs.super_admin.email)
    client.post("/org/switch", data={"org_id": orgs.a.org.id})
    before = audit_count()
    demote = client.post(f"/admin/users/{admin.id}", data={"role": "analyst"})
    assert demote.status_code == 422 and "last active admin of this organization" in demote.get_data(as_text=True)
    deactivate = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "last active admin of this organization" in deactivate.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.status == "active" and audit_count() == before
    # With a second active admin, the first may go.
    factories.user(orgs.a.org.id, "admin", email="backup-admin@example.test")
    db.session.commit()
    assert client.post(f"/admin/users/{admin.id}", data={"role": "analyst"}).status_code == 303
    db.session.refresh(admin)
    assert admin.role == "analyst"


def test_deactivate_ends_sessions_and_reactivate_restores(client, app, orgs):
    target = orgs.a.users["operator"]
    browser = signed_in(app, target)
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 303
    db.session.refresh(target)
    assert target.status == "deactivated" and live_sessions(target) == 0
    [row] = audit_rows("user.deactivated", target.id)
    assert row.old_values == {"status": "active"} and row.new_values == {"status": "deactivated"}
    assert row.details == {"sessions_ended": 1}
    assert browser.get("/").status_code == 302  # signed out
    assert app.test_client().login(target.email).status_code == 422
    assert client.post(f"/admin/users/{target.id}/reactivate").status_code == 303
    db.session.refresh(target)
    assert target.status == "active"
    [row] = audit_rows("user.reactivated", target.id)
    assert row.old_values == {"status": "deactivated"} and row.new_values == {"status": "active"}
    assert app.test_client().login(target.email).status_code == 303


def test_reactivating_an_invited_user_who_never_set_a_password_keeps_them_invited(client, orgs):
    pending = factories.user(orgs.a.org.id, "analyst", password=None, status="deactivated")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/admin/users/{pending.id}/reactivate").status_code == 303
    db.session.refresh(pending)
    assert pending.status == "invited"


def test_unlock_lifts_a_lockout(client, orgs):
    target = orgs.a.users["analyst"]
    target.locked_until = utcnow() + timedelta(minutes=30)
    target.failed_login_attempts = 5
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert 'data-locked="yes"' in page and f'action="/admin/users/{target.id}/unlock"' in page
    assert client.post(f"/admin/users/{target.id}/unlock").status_code == 303
    db.session.refresh(target)
    assert not target.is_locked() and target.failed_login_attempts == 0
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert 'data-locked="no"' in page and f'action="/admin/users/{target.id}/unlock"' not in page
    [row] = audit_rows("user.unlocked", target.id)
    assert row.old_values["failed_login_attempts"] == 5 and row.new_values["failed_login_attempts"] == 0
    again = client.post(f"/admin/users/{target.id}/unlock", follow_redirects=True)
    assert "is not locked" in again.get_data(as_text=True) and len(audit_rows("user.unlocked", target.id)) == 1


def test_reset_mfa_clears_the_authenticator_and_backup_codes(client, orgs):
    target = orgs.a.users["analyst"]
    target.mfa_enabled = True
    target.mfa_secret_encrypted = "encrypted-secret"
    target.mfa_enrolled_at = utcnow()
    db.session.add(MfaBackupCode(user_id=target.id, code_hash="x" * 64))
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/admin/users/{target.id}/reset-mfa").status_code == 303
    db.session.refresh(target)
    assert (target.mfa_enabled, target.mfa_secret_encrypted, target.mfa_enrolled_at) == (False, None, None)
    assert db.session.scalar(sa.select(sa.func.count(MfaBackupCode.id)).where(MfaBackupCode.user_id == target.id)) == 0
    [row] = audit_rows("user.mfa_reset", target.id)
    assert row.old_values["mfa_enabled"] is True and row.new_values == {"mfa_enabled": False, "mfa_enrolled_at": None}


def test_revoke_sessions_signs_the_user_out_everywhere(client, app, orgs):
    target = orgs.a.users["read_only"]
    first, second = signed_in(app, target), signed_in(app, target)
    client.login(orgs.a.users["admin"].email)
    assert 'data-sessions="2"' in client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert client.post(f"/admin/users/{target.id}/revoke-sessions").status_code == 303
    assert live_sessions(target) == 0
    assert first.get("/").status_code == 302 and second.get("/").status_code == 302
    [row] = audit_rows("user.sessions_revoked", target.id)
    assert row.old_values == {"live_sessions": 2} and row.new_values == {"live_sessions": 0}


def test_admin_revoking_its_own_sessions_keeps_the_current_one(client, app, orgs):
    admin = orgs.a.users["admin"]
    elsewhere = signed_in(app, admin)
    client.login(admin.email)
    assert client.post(f"/admin/users/{admin.id}/revoke-sessions").status_code == 303
    assert client.get("/admin/users").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_a_new_link_resets_an_active_users_password(client, app, orgs):
    target = orgs.a.users["operator"]
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/admin/users/{target.id}/invite-link").status_code == 303
    [row] = audit_rows("user.set_password_link_issued", target.id)
    assert row.details == {"kind": "password_reset"}
    link = invite_link(client.get(f"/admin/users/{target.id}").get_data(as_text=True))
    path = link.split("localhost", 1)[1]
    browser = app.test_client()
    assert browser.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert browser.login(target.email, NEW_PASSWORD).status_code == 303


def test_no_link_for_a_deactivated_user(client, orgs):
    target = factories.user(orgs.a.org.id, "analyst", status="deactivated")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/admin/users/{target.id}/invite-link", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "reactivate them first" in html and invite_link(html) is None
    assert audit_rows("user.set_password_link_issued", target.id) == []


def test_an_admin_cannot_change_a_super_admins_account(client, orgs):
    boss = factories.user(orgs.a.org.id, "super_admin", email="boss-in-org@example.test")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/admin/users/{boss.id}").get_data(as_text=True)
    assert "Only a super admin can change this account." in page
    demote = client.post(f"/admin/users/{boss.id}", data={"role": "read_only"})
    assert demote.status_code == 422
    for action in ("deactivate", "reset-mfa", "revoke-sessions", "invite-link"):
        response = client.post(f"/admin/users/{boss.id}/{action}", follow_redirects=True)
        assert "Only a super admin can change a super admin" in response.get_data(as_text=True), action
    db.session.refresh(boss)
    assert boss.role == "super_admin" and boss.status == "active"


def test_another_organizations_users_are_404(client, orgs):
    target = orgs.b.users["analyst"]
    client.login(orgs.a.users["admin"].email)
    urls = [("GET", f"/admin/users/{target.id}"), ("POST", f"/admin/users/{target.id}")]
    urls += [("POST", f"/admin/users/{target.id}/{action}") for action in
             ("deactivate", "reactivate", "unlock", "reset-mfa", "revoke-sessions", "invite-link")]
    assert_other_org_cannot_reach(client, urls, data={"role": "read_only"})
    db.session.refresh(target)
    assert target.status == "active" and target.role == "analyst"
    assert audit_rows("user.set_password_link_issued", target.id) == []


def test_each_action_writes_exactly_one_audit_row(client, orgs):
    target = orgs.a.users["operator"]
    target.locked_until = utcnow() + timedelta(minutes=5)
    target.mfa_enabled = True
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    for action in ("unlock", "reset-mfa", "revoke-sessions", "invite-link", "deactivate", "reactivate"):
        before = audit_count()
        assert client.post(f"/admin/users/{target.id}/{action}").status_code == 303, action
        assert audit_count() == before + 1, action
