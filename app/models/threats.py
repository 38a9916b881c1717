"""Threat intelligence (seed 004 `threat_intelligence`) and the sightings that match it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow

INDICATOR_TYPES = ("ip", "cidr", "domain", "url", "email", "md5", "sha1", "sha256")
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


class ThreatIntelligence(OrgOwnedMixin, TimestampMixin, db.Model):
    """One indicator of compromise. IP and CIDR indicators also carry their address range
    as fixed-width hex (IPv4 mapped into IPv6), so "which indicator covers this address"
    is an indexed range query on every backend."""

    __tablename__ = "threat_intelligence"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "indicator_type", "indicator_value"),
        sa.Index("ix_threat_intelligence_range", "org_id", "range_start", "range_end"),
        sa.Index("ix_threat_intelligence_org_newest", "org_id", "id"),  # the list's first page (0037)
        sa.Index("ix_threat_intelligence_active_expires", "is_active", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_type: Mapped[str] = mapped_column(sa.String(10))
    indicator_value: Mapped[str] = mapped_column(sa.String(500))
    range_start: Mapped[str | None] = mapped_column(sa.String(32))
    range_end: Mapped[str | None] = mapped_column(sa.String(32))
    threat_type: Mapped[str | None] = mapped_column(sa.String(100))
    severity: Mapped[str] = mapped_column(sa.String(10), default="medium")
    confidence: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("50"))
    source: Mapped[str] = mapped_column(sa.String(100), default="manual")
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    tlp: Mapped[str] = mapped_column(sa.String(12), default="amber")
    description: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None] = mapped_column()
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)
    sighting_count: Mapped[int] = mapped_column(default=0)
    last_sighting_at: Mapped[datetime | None] = mapped_column()


class IocSighting(OrgOwnedMixin, db.Model):
    """An observed value that matched an indicator, and where it was seen: `source` names
    a registered place (app/indicators/matching.py: a sign-in, a device's public IP, a user's
    e-mail...) and `object_id` the row there. One sighting per (indicator, place, object,
    value): seeing the same value on the same object again does not add another."""

    __tablename__ = "ioc_sightings"
    __table_args__ = (
        sa.UniqueConstraint("intel_id", "source", "object_id", "observed_value", name="uq_ioc_sightings_object"),
        sa.Index("ix_ioc_sightings_org_observed", "org_id", "observed_value"),
        sa.Index("ix_ioc_sightings_source_object", "source", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intel_id: Mapped[int] = mapped_column(sa.ForeignKey("threat_intelligence.id", ondelete="CASCADE"), index=True)
    security_event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("security_events.id", ondelete="CASCADE"), index=True
    )
    observed_value: Mapped[str] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(40), default="security_event", server_default="security_event")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    object_label: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_by: Mapped[str] = mapped_column(sa.String(12), default="ingest", server_default="ingest")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


THREAT_STATUSES = ("detected", "investigating", "mitigated", "resolved")
THREAT_OPEN = ("detected", "investigating")


class ThreatEvent(OrgOwnedMixin, db.Model):
    """A detected threat (seed 004 `threat_events`). A repeated finding updates the open
    threat with the same `dedupe_key` instead of creating another."""

    __tablename__ = "threat_events"
    __table_args__ = (
        sa.Index("ix_threat_events_org_status", "org_id", "status"),
        sa.Index("ix_threat_events_dedupe", "org_id", "dedupe_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    threat_type: Mapped[str] = mapped_column(sa.String(50), index=True)
    severity: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(15), default="detected")
    description: Mapped[str] = mapped_column(sa.Text)
    indicators: Mapped[list[Any]] = mapped_column(default=list)
    affected_user_ids: Mapped[list[Any]] = mapped_column(default=list)
    detection_method: Mapped[str] = mapped_column(sa.String(30), default="rule_based")
    confidence: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("50"))
    response_action: Mapped[str] = mapped_column(sa.String(20))
    response_status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    response_details: Mapped[dict[str, Any] | None] = mapped_column()
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    occurrences: Mapped[int] = mapped_column(default=1)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    mitigated_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()


class RateLimitEntry(db.Model):
    """A rate-limit window for one (user or IP, endpoint group), and blocks (seed 004).

    org_id is null for anonymous traffic (an IP before sign-in)."""

    __tablename__ = "rate_limit_entries"
    __table_args__ = (
        sa.Index("ix_rate_limit_ip_endpoint", "ip_address", "endpoint"),
        sa.Index("ix_rate_limit_user_endpoint", "user_id", "endpoint"),
        sa.Index("ix_rate_limit_blocked", "is_blocked", "blocked_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    request_count: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    window_end: Mapped[datetime] = mapped_column(default=utcnow)
    base_limit: Mapped[int] = mapped_column(default=0)
    adaptive_limit: Mapped[int] = mapped_column(default=0)
    trust_multiplier: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("1"))
    threat_multiplier: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("1"))
    is_blocked: Mapped[bool] = mapped_column(default=False)
    blocked_until: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    threat_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("threat_events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
