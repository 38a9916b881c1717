"""People and their sign-ins: users, server-side sessions and login attempts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import SoftDeleteMixin, TimestampMixin, db, utcnow
from app.models.tenancy import Organization

ROLES = ("super_admin", "admin", "analyst", "operator", "read_only")
USER_STATUSES = ("active", "invited", "suspended", "deactivated")
THEMES = ("light", "dark", "auto")


class User(TimestampMixin, SoftDeleteMixin, db.Model):
    """The union of the five seeds' user columns that a real product needs."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('super_admin', 'admin', 'analyst', 'operator', 'read_only')", name="role"
        ),
        sa.CheckConstraint(
            "status IN ('active', 'invited', 'suspended', 'deactivated')", name="status"
        ),
        # Everyone but a super admin belongs to exactly one organization.
        sa.CheckConstraint("role = 'super_admin' OR org_id IS NOT NULL", name="org_required"),
        sa.Index("ix_users_org_role", "org_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    username: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    phone_number: Mapped[str | None] = mapped_column(sa.String(50))
    avatar_url: Mapped[str | None] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.String(20), default="read_only", index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", index=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    # MFA (enrolment and verification arrive with the identity domain).
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    mfa_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column()
    # Set by threat response (e.g. credential stuffing): this user must enrol MFA.
    mfa_forced: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The last TOTP time step accepted: a code of that step or earlier is a replay.
    mfa_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Lockout and password lifecycle.
    failed_login_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    password_expires_at: Mapped[datetime | None] = mapped_column()
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Preferences.
    timezone: Mapped[str] = mapped_column(sa.String(50), default="UTC")
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    theme: Mapped[str] = mapped_column(sa.String(10), default="auto")
    email_notifications: Mapped[bool] = mapped_column(default=True)
    security_alerts: Mapped[bool] = mapped_column(default=True)
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trust_score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("50.00"))
    sso_provider: Mapped[str | None] = mapped_column(sa.String(50))
    sso_subject: Mapped[str | None] = mapped_column(sa.String(255))
    last_login_at: Mapped[datetime | None] = mapped_column()
    last_login_ip: Mapped[str | None] = mapped_column(sa.String(45))

    org: Mapped[Organization | None] = relationship()

    # Set by the session loader: the token of the server-side session this request uses.
    session_token = None  # str | None; not a column

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == "active" and self.deleted_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        # Flask-Login keeps this in the cookie; it names the server-side session, so a
        # revoked session stops working on its next request.
        return self.session_token

    # Display ---------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.username or self.email

    @property
    def is_super_admin(self) -> bool:
        return self.role == "super_admin"

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserSession(db.Model):
    """One row per sign-in; the browser holds only a random token whose hash is here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    device_type: Mapped[str] = mapped_column(sa.String(20), default="web")
    device_name: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(100))

    user: Mapped[User] = relationship()

    def is_valid(self, now: datetime, idle_limit_seconds: int) -> bool:
        if self.revoked_at is not None or self.expires_at <= now:
            return False
        return (now - self.last_activity).total_seconds() <= idle_limit_seconds


class LoginAttempt(db.Model):
    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_email_time", "email", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    ip_address: Mapped[str] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    success: Mapped[bool] = mapped_column()
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
