"""Rules behind the admin pages: organizations, sites and users.

Plain functions over the session; no request objects. Each use case writes its one
audit row here, in the same transaction as the change; the view commits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import mfa
from app.auth import services as auth_services
from app.core.security_events import record as record_security_event
from app.models import Organization, Site, User, UserSession, db, utcnow
from app.models.base import as_dict
from app.permissions import ADMINS, ASSIGNABLE_ROLES
from app.tenancy import scoped

ORG_FIELDS = [
    "name", "slug", "type", "primary_domain", "domains", "billing_email", "technical_email", "phone",
    "address_line1", "address_line2", "city", "state", "postal_code", "country", "subscription_tier",
    "max_seats", "notes", "tags",
]
SITE_FIELDS = [
    "name", "slug", "address_line1", "address_line2", "city", "state", "postal_code", "country",
    "public_ip", "lan_subnet", "site_contact_name", "site_contact_email", "site_contact_phone", "notes", "tags",
]
USER_FIELDS = ["first_name", "last_name", "phone_number", "role"]
# Users who occupy a seat of their organization.
SEAT_STATUSES = ("active", "invited", "suspended")


class RuleError(Exception):
    """A change the rules refuse; the message is shown to the user as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _apply(obj: Any, values: dict[str, Any], fields: list[str]) -> None:
    for name in fields:
        if name in values:
            setattr(obj, name, values[name])


def _flush_unique(field: str, message: str) -> None:
    """Flush; a unique-constraint race (two admins at once) becomes a field error, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise RuleError(message, field=field) from None


def _search(stmt: sa.Select, q: str | None, *columns: Any) -> sa.Select:
    if not q:
        return stmt
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return stmt.where(sa.or_(*(col.ilike(pattern, escape="\\") for col in columns)))


# Organizations ---------------------------------------------------------------------------

def orgs_query(q: str | None = None) -> sa.Select:
    """Live (not soft-deleted) organizations, by name."""
    stmt = sa.select(Organization).where(Organization.deleted_at.is_(None))
    return _search(stmt, q, Organization.name, Organization.slug, Organization.primary_domain).order_by(
        Organization.name, Organization.id)


def live_org(org_id: int) -> Organization | None:
    org = db.session.get(Organization, org_id)
    return org if org is not None and org.deleted_at is None else None


def org_slug_problem(slug: str | None, exclude_id: int | None = None) -> str | None:
    """Why this slug cannot be used (slugs are unique across all organizations, deleted ones too)."""
    if not slug:
        return None
    other = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if other is None or other.id == exclude_id:
        return None
    if other.deleted_at is not None:
        return "A deleted organization still holds this slug; choose another."
    return "Another organization already uses this slug."


def create_org(values: dict[str, Any]) -> Organization:
    org = Organization()
    _apply(org, values, ORG_FIELDS)
    db.session.add(org)
    _flush_unique("slug", "Another organization already uses this slug.")
    audit.record("org.created", resource_type="organization", resource_id=org.id, org_id=org.id,
                 new=as_dict(org, ORG_FIELDS))
    return org


def update_org(org: Organization, values: dict[str, Any]) -> dict[str, Any]:
    """Apply the submitted values; returns the changed fields (empty: nothing changed)."""
    old = as_dict(org, ORG_FIELDS)
    _apply(org, values, ORG_FIELDS)
    _flush_unique("slug", "Another organization already uses this slug.")
    before, after = audit.changes(old, as_dict(org, ORG_FIELDS))
    if after:
        audit.record("org.updated", resource_type="organization", resource_id=org.id, org_id=org.id,
                     old=before, new=after)
    return after


def delete_org(org: Organization) -> None:
    """Soft-delete: the organization leaves lists and the switcher; its users can no longer sign in."""
    org.soft_delete()
    audit.record("org.deleted", resource_type="organization", resource_id=org.id, org_id=org.id,
                 old={"deleted_at": None}, new={"deleted_at": org.deleted_at.isoformat()})


# Sites -----------------------------------------------------------------------------------

def sites_query(q: str | None = None) -> sa.Select:
    """The current organization's live sites, by name."""
    return _search(scoped(Site), q, Site.name, Site.slug, Site.city).order_by(Site.name, Site.id)


def site_slug_problem(org_id: int, slug: str | None, exclude_id: int | None = None) -> str | None:
    """Why this slug cannot be used in this organization (deleted sites still hold theirs)."""
    if not slug:
        return None
    other = db.session.scalar(sa.select(Site).where(Site.org_id == org_id, Site.slug == slug))
    if other is None or other.id == exclude_id:
        return None
    if other.deleted_at is not None:
        return "A deleted site of this organization still holds this slug; choose another."
    return "Another site of this organization already uses this slug."


def create_site(org_id: int, values: dict[str, Any]) -> Site:
    site = Site(org_id=org_id)
    _apply(site, values, SITE_FIELDS)
    db.session.add(site)
    _flush_unique("slug", "Another site of this organization already uses this slug.")
    audit.record("site.created", resource_type="site", resource_id=site.id, org_id=org_id,
                 new=as_dict(site, SITE_FIELDS))
    return site


def update_site(site: Site, values: dict[str, Any]) -> dict[str, Any]:
    old = as_dict(site, SITE_FIELDS)
    _apply(site, values, SITE_FIELDS)
    _flush_unique("slug", "Another site of this organization already uses this slug.")
    before, after = audit.changes(old, as_dict(site, SITE_FIELDS))
    if after:
        audit.record("site.updated", resource_type="site", resource_id=site.id, org_id=site.org_id,
                     old=before, new=after)
    return after


def delete_site(site: Site) -> None:
    site.soft_delete()
    audit.record("site.deleted", resource_type="site", resource_id=site.id, org_id=site.org_id,
                 old={"deleted_at": None}, new={"deleted_at": site.deleted_at.isoformat()})


# Users -----------------------------------------------------------------------------------

def users_query(q: str | None = None, role: str | None = None, status: str | None = None) -> sa.Select:
    """The current organization's users, filtered, by email."""
    stmt = scoped(User)
    if role:
        stmt = stmt.where(User.role == role)
    if status:
        stmt = stmt.where(User.status == status)
    return _search(stmt, q, User.email, User.first_name, User.last_name, User.username).order_by(User.email)


def live_session_counts(user_ids: list[int]) -> dict[int, int]:
    """Sessions that would still be accepted (not revoked, not expired, not idle too long)."""
    if not user_ids:
        return {}
    now = utcnow()
    idle_since = now - timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    rows = db.session.execute(
        sa.select(UserSession.user_id, sa.func.count(UserSession.id))
        .where(UserSession.user_id.in_(user_ids), UserSession.revoked_at.is_(None),
               UserSession.expires_at > now, UserSession.last_activity > idle_since)
        .group_by(UserSession.user_id)
    ).all()
    return {user_id: count for user_id, count in rows}


def email_taken(email: str | None) -> bool:
    """Emails are unique across the platform, case-insensitively (deleted users included)."""
    if not email:
        return False
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(sa.func.lower(User.email) == email.strip().lower())
    ) > 0


def seats_used(org_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.org_id == org_id, User.deleted_at.is_(None), User.status.in_(SEAT_STATUSES))
    ) or 0


def _check_seat(org_id: int) -> None:
    org = db.session.get(Organization, org_id)
    if org is not None and seats_used(org_id) >= org.max_seats:
        raise RuleError(f"{org.name} uses all its {org.max_seats} seats; deactivate someone or ask for more seats.")


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.org_id == user.org_id, User.id != user.id, User.deleted_at.is_(None),
            User.status == "active", User.role.in_(ADMINS))
    ) or 0


def _is_last_active_admin(user: User) -> bool:
    return user.role in ADMINS and user.status == "active" and user.org_id is not None \
        and _other_active_admins(user) == 0


def check_may_manage(actor: User, target: User) -> None:
    """An admin may not act on a super admin's account."""
    if target.role not in ASSIGNABLE_ROLES.get(actor.role, ()):
        raise RuleError("Only a super admin can change a super admin's account.")


def invite_user(actor: User, org_id: int, values: dict[str, Any]) -> User:
    """Create a user with status "invited"; they choose a password through a one-time link."""
    if values["role"] not in ASSIGNABLE_ROLES.get(actor.role, ()):
        raise RuleError("Your role cannot grant that role.", field="role")
    _check_seat(org_id)
    user = User(org_id=org_id, email=values["email"].strip().lower(), first_name=values.get("first_name"),
                last_name=values.get("last_name"), role=values["role"], status="invited", password_hash=None)
    db.session.add(user)
    _flush_unique("email", "A user with this email address already exists.")
    audit.record("user.invited", resource_type="user", resource_id=user.id, org_id=org_id,
                 new=as_dict(user, ["email", *USER_FIELDS, "status"]))
    return user


def update_user(actor: User, user: User, values: dict[str, Any]) -> dict[str, Any]:
    """Change names and role; refuses self-demotion, leaving an org without an active admin,
    and roles the actor may not grant."""
    check_may_manage(actor, user)
    new_role = values.get("role", user.role)
    if new_role != user.role:
        if new_role not in ASSIGNABLE_ROLES.get(actor.role, ()):
            raise RuleError("Your role cannot grant that role.", field="role")
        if user.id == actor.id:
            raise RuleError("You cannot change your own role; ask another admin.", field="role")
        if new_role not in ADMINS and _is_last_active_admin(user):
            raise RuleError(f"{user.email} is the last active admin of this organization; "
                            "make someone else an admin first.", field="role")
    old = as_dict(user, USER_FIELDS)
    _apply(user, values, USER_FIELDS)
    before, after = audit.changes(old, as_dict(user, USER_FIELDS))
    if after:
        audit.record("user.updated", resource_type="user", resource_id=user.id, org_id=user.org_id,
                     old=before, new=after)
    return after


def deactivate_user(actor: User, user: User) -> int:
    """Status "deactivated" and every session ended; returns how many sessions ended."""
    check_may_manage(actor, user)
    if user.id == actor.id:
        raise RuleError("You cannot deactivate your own account.")
    if user.status == "deactivated":
        raise RuleError(f"{user.email} is already deactivated.")
    if _is_last_active_admin(user):
        raise RuleError(f"{user.email} is the last active admin of this organization; "
                        "make someone else an admin first.")
    old_status = user.status
    user.status = "deactivated"
    ended = auth_services.revoke_all_sessions(user, "deactivated")
    audit.record("user.deactivated", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 old={"status": old_status}, new={"status": "deactivated"}, details={"sessions_ended": ended})
    return ended


def reactivate_user(actor: User, user: User) -> None:
    """Back to "active", or to "invited" when they never chose a password."""
    check_may_manage(actor, user)
    if user.status not in ("deactivated", "suspended"):
        raise RuleError(f"{user.email} is not deactivated.")
    if user.org_id is not None:
        _check_seat(user.org_id)
    old_status = user.status
    user.status = "active" if user.password_hash else "invited"
    audit.record("user.reactivated", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 old={"status": old_status}, new={"status": user.status})


def unlock_user(actor: User, user: User) -> None:
    check_may_manage(actor, user)
    if not user.is_locked():
        raise RuleError(f"{user.email} is not locked.")
    old = as_dict(user, ["locked_until", "failed_login_attempts"])
    auth_services.unlock(user)
    audit.record("user.unlocked", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 old=old, new=as_dict(user, ["locked_until", "failed_login_attempts"]))


def reset_mfa(actor: User, user: User) -> None:
    """Remove the authenticator, backup codes and trusted browsers; they enrol again."""
    check_may_manage(actor, user)
    if not user.mfa_enabled and user.mfa_secret_encrypted is None:
        raise RuleError(f"{user.email} has no MFA to reset.")
    old = as_dict(user, ["mfa_enabled", "mfa_enrolled_at"])
    mfa.disable(user)
    audit.record("user.mfa_reset", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 old=old, new=as_dict(user, ["mfa_enabled", "mfa_enrolled_at"]))
    record_security_event("mfa_disabled", "MFA reset by an admin", user=user, details={"by": actor.email})


def revoke_sessions(actor: User, user: User) -> int:
    """Sign the user out everywhere (an admin revoking their own keeps the current session)."""
    check_may_manage(actor, user)
    keep = actor.session_token if user.id == actor.id else None
    before = live_session_counts([user.id]).get(user.id, 0)
    ended = auth_services.revoke_all_sessions(user, "admin_revoked", except_token=keep)
    after = live_session_counts([user.id]).get(user.id, 0)
    audit.record("user.sessions_revoked", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 old={"live_sessions": before}, new={"live_sessions": after}, details={"sessions_ended": ended})
    record_security_event("session_revoked", "Sessions signed out by an admin", user=user, details={"ended": ended})
    return ended


def issue_set_password_token(actor: User, user: User) -> str:
    """A new one-time link token: an invitation for invited users, a reset for the others."""
    check_may_manage(actor, user)
    if user.status in ("deactivated", "suspended"):
        raise RuleError(f"{user.email} is {user.status}; reactivate them first.")
    kind = "invitation" if user.status == "invited" else "password_reset"
    audit.record("user.set_password_link_issued", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 details={"kind": kind})
    return auth_services.make_set_password_token(user)
