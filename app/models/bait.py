"""Canary tokens (seed 001, NERVE's BAIT; issue 22): bait planted where only an intruder
would touch it, and every touch recorded.

Seed names and columns are kept; Vigil adds `org_id`, a display `name`, a unique `trigger`
(what the honeypot recognises: the identifier in a URL path, a hostname, a user name) and
an optional expiry. `token_value` holds the fake credential sealed with app/crypto.py: it is
bait, but a secret-shaped string in the database is still a secret-shaped string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, db, utcnow

BAIT_TYPES = ("url", "image", "qr", "html", "dns", "aws", "api", "postgres", "kubeconfig", "docx", "pdf")
BAIT_STATUSES = ("active", "triggered", "expired", "revoked")
ATTRIBUTION_TYPES = ("human", "bot", "tool", "spoofed")
EVIDENCE_STRENGTHS = ("court_ready", "moderate", "weak")
THREAT_LEVELS = ("medium", "high", "critical")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class BaitToken(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """One planted token: its identifier, its trigger and what has touched it."""

    __tablename__ = "bait_tokens"
    __table_args__ = (
        sa.CheckConstraint(_in("bait_type", BAIT_TYPES), name="bait_type"),
        sa.CheckConstraint(_in("status", BAIT_STATUSES), name="status"),
        sa.Index("ix_bait_tokens_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(sa.String(64), unique=True)
    trigger: Mapped[str] = mapped_column(sa.String(300), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    bait_type: Mapped[str] = mapped_column(sa.String(20))
    token_value: Mapped[str | None] = mapped_column(sa.Text)  # sealed JSON of the fake credential
    memo: Mapped[str | None] = mapped_column(sa.Text)  # where it was planted, for whoever reads the alert
    seeded_at: Mapped[datetime | None] = mapped_column()
    seeded_location: Mapped[str | None] = mapped_column(sa.String(500))
    first_access: Mapped[datetime | None] = mapped_column()
    access_count: Mapped[int] = mapped_column(default=0)
    last_access: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    expires_at: Mapped[datetime | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    accesses: Mapped[list[BaitAccess]] = relationship(back_populates="token", cascade="all, delete-orphan",
                                                      order_by="BaitAccess.accessed_at.desc()")


class BaitAccess(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """One touch of a token, with what the client told about itself and what Vigil made of it."""

    __tablename__ = "bait_accesses"
    __table_args__ = (
        sa.Index("ix_bait_accesses_bait_time", "bait_id", "accessed_at"),
        sa.Index("ix_bait_accesses_org_ip", "org_id", "source_ip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bait_id: Mapped[int] = mapped_column(sa.ForeignKey("bait_tokens.id", ondelete="CASCADE"))
    accessed_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(500))
    request_type: Mapped[str | None] = mapped_column(sa.String(20))
    request_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_body: Mapped[str | None] = mapped_column(sa.Text)
    fingerprint: Mapped[str | None] = mapped_column(sa.Text)
    geolocation: Mapped[str | None] = mapped_column(sa.String(200))
    threat_level: Mapped[str] = mapped_column(sa.String(10), default="medium")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    accept_language: Mapped[str | None] = mapped_column(sa.String(300))
    referer: Mapped[str | None] = mapped_column(sa.String(1000))
    sec_fetch_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attribution_type: Mapped[str | None] = mapped_column(sa.String(10))
    attribution_confidence: Mapped[int | None] = mapped_column()
    evidence_strength: Mapped[str | None] = mapped_column(sa.String(12))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    token: Mapped[BaitToken] = relationship(back_populates="accesses")
