"""Per-organization password and MFA policy, read from Organization.policy with defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.models import Organization, PasswordHistory, User, db, utcnow
from app.passwords import hash_password, verify_password

COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt"


@dataclass(frozen=True)
class SecurityPolicy:
    password_min_length: int = 12
    password_history: int = 5  # refuse the last N passwords (0: no check)
    password_expiry_days: int = 0  # 0: passwords do not expire
    mfa_required: bool = False  # everyone in the organization
    mfa_required_roles: tuple[str, ...] = ()  # e.g. ("admin",): those roles must enrol

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SecurityPolicy:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        if "mfa_required_roles" in values:
            values["mfa_required_roles"] = tuple(values["mfa_required_roles"])
        return cls(**values)


def policy_for(user: User) -> SecurityPolicy:
    if user.org_id is None:
        return SecurityPolicy()
    org = db.session.get(Organization, user.org_id)
    return SecurityPolicy.from_dict(org.policy if org else None)


def mfa_required(user: User) -> bool:
    """The organization's policy (everyone, or the user's role) or a threat response requires MFA."""
    if user.mfa_forced:
        return True
    policy = policy_for(user)
    return policy.mfa_required or user.role in policy.mfa_required_roles


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip() for line in COMMON_PASSWORDS_FILE.read_text().splitlines() if line.strip())


def password_problems(user: User, password: str) -> list[str]:
    """Why this password may not be used by this user (an empty list: it may)."""
    policy = policy_for(user)
    problems = []
    if len(password) < policy.password_min_length:
        problems.append(f"Use at least {policy.password_min_length} characters.")
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append("This password is on the list of commonly used passwords; choose another.")
    local_part = user.email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not build the password from your email address.")
    if policy.password_history and _recently_used(user, password, policy.password_history):
        problems.append(f"You used this password recently; choose one you have not used in your last {policy.password_history}.")
    return problems


def _recently_used(user: User, password: str, count: int) -> bool:
    if user.password_hash and verify_password(user.password_hash, password):
        return True
    previous = db.session.scalars(
        sa.select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(count - 1 if count > 1 else 0)
    ).all()
    return any(verify_password(h, password) for h in previous)


def apply_new_password(user: User, password: str) -> None:
    """Store a new password: keep the old hash in history, stamp dates and expiry."""
    if user.password_hash:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    user.password_hash = hash_password(password)
    now = utcnow()
    user.password_changed_at = now
    expiry = policy_for(user).password_expiry_days
    user.password_expires_at = now + timedelta(days=expiry) if expiry else None
    user.must_change_password = False
