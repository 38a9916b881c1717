"""Account protection (seed 004 with NERVE's account security): backup codes, password
history, trusted devices and risk-scored security events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, db, utcnow
from app.models.identity import User

EVENT_SEVERITIES = ("info", "low", "medium", "high", "critical")
EVENT_ACTIONS = ("allow", "challenge", "deny", "block", "lock", "none")


class MfaBackupCode(db.Model):
    __tablename__ = "mfa_backup_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordHistory(db.Model):
    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrustedDevice(TimestampMixin, db.Model):
    """A browser a user chose to trust after MFA; the browser keeps a random token whose
    hash is `device_fingerprint`."""

    __tablename__ = "trusted_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    device_name: Mapped[str | None] = mapped_column(sa.String(255))
    device_type: Mapped[str] = mapped_column(sa.String(20), default="desktop")
    trust_score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("60.00"))
    is_trusted: Mapped[bool] = mapped_column(default=True)
    trusted_until: Mapped[datetime | None] = mapped_column()
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()

    def is_valid(self, now: datetime) -> bool:
        return self.is_trusted and self.revoked_at is None and (self.trusted_until is None or self.trusted_until > now)


class SecurityEvent(db.Model):
    """One security-relevant event (NERVE and UltraCore columns merged), risk-scored."""

    __tablename__ = "security_events"
    __table_args__ = (
        sa.Index("ix_security_events_org_time", "org_id", "created_at"),
        sa.Index("ix_security_events_user_time", "user_id", "created_at"),
        sa.Index("ix_security_events_ip_time", "ip_address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(50), index=True)
    event_category: Mapped[str] = mapped_column(sa.String(30), default="authentication")
    severity: Mapped[str] = mapped_column(sa.String(10), default="info", index=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    device_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    geolocation: Mapped[dict[str, Any] | None] = mapped_column()
    description: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None] = mapped_column()
    risk_score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    risk_factors: Mapped[dict[str, Any] | None] = mapped_column()
    action_taken: Mapped[str] = mapped_column(sa.String(10), default="none")
    acknowledged: Mapped[bool] = mapped_column(default=False)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
