"""What a leaked credential means for the organization.

A credential is the organization's when its e-mail is a user's or a monitored address, its
username is a user's, or its e-mail is on one of the organization's domains. While the
password is still in memory (during the import, never later) it is checked against that
user's current password hash: a match means the account's password is known to be leaked.
That is a critical security event, forces a password change at the next sign-in and is
notified once (a credential is processed once per organization: a second file holding it
is a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from app.alerting.events import publish
from app.core.security_events import record as record_security_event
from app.models import MonitoredEmail, Organization, User, db
from app.passwords import verify_password

EVENT = "leaked_password_in_use"


@dataclass
class Directory:
    """The organization's domains, users and monitored e-mails, loaded once per import."""

    org_id: int
    domains: set[str]
    by_email: dict[str, int]
    by_username: dict[str, int]
    monitored: set[str]
    hashes: dict[int, str | None] = field(default_factory=dict)

    def match(self, email: str | None, username: str | None) -> tuple[str | None, int | None]:
        """(reason, user id): 'user', 'monitored_email', 'org_domain' or (None, None)."""
        if email and email in self.by_email:
            return "user", self.by_email[email]
        if not email and username and username.lower() in self.by_username:
            return "user", self.by_username[username.lower()]
        if email and email in self.monitored:
            return "monitored_email", None
        if email and email.rsplit("@", 1)[-1] in self.domains:
            return "org_domain", None
        return None, None


def org_domains(org: Organization) -> set[str]:
    names = {org.primary_domain or ""} | set(org.domains or [])
    return {n.strip().lower().lstrip("@") for n in names if n and n.strip()}


def load(org_id: int) -> Directory:
    org = db.session.get(Organization, org_id)
    users = db.session.execute(sa.select(User.id, User.email, User.username, User.password_hash).where(
        User.org_id == org_id, User.deleted_at.is_(None))).all()
    monitored = set(db.session.scalars(sa.select(MonitoredEmail.email_address).where(
        MonitoredEmail.org_id == org_id, MonitoredEmail.deleted_at.is_(None),
        MonitoredEmail.is_active.is_(True), MonitoredEmail.confirmed_at.is_not(None))))
    return Directory(
        org_id=org_id, domains=org_domains(org),
        by_email={u.email.lower(): u.id for u in users},
        by_username={u.username.lower(): u.id for u in users if u.username},
        monitored={m.lower() for m in monitored},
        hashes={u.id: u.password_hash for u in users})


def password_in_use(directory: Directory, user_id: int, password: str) -> bool:
    """Whether `password` is that user's current password (argon2 verify; nothing kept)."""
    stored = directory.hashes.get(user_id)
    return bool(stored) and verify_password(stored, password)


def leaked_password_found(org_id: int, user_id: int, upload_id: int, line: int) -> None:
    """Critical event, forced change at next sign-in, one alert (and notification) on the engine."""
    user = db.session.get(User, user_id)
    user.must_change_password = True
    record_security_event(EVENT, "The account's current password is in a leaked credential file.",
                          user=user, org_id=org_id, severity="critical", action="none",
                          details={"upload": upload_id, "line": line, "forced_password_change": True})
    publish("exposure.password_leaked", org_id=org_id, user=user, upload_id=upload_id)  # exposure alert rules
