"""In-app notifications and the per-organization channels that deliver them outward."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow

SEVERITIES = ("info", "warning", "critical")
CHANNEL_KINDS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "sent", "failed", "abandoned")


class Notification(OrgOwnedMixin, db.Model):
    """One message in one user's bell."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(100))
    severity: Mapped[str] = mapped_column(sa.String(10), default="info")
    title: Mapped[str] = mapped_column(sa.String(255))
    body: Mapped[str | None] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()


class NotificationChannel(OrgOwnedMixin, TimestampMixin, db.Model):
    """A webhook or e-mail destination an organization's events are delivered to."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str] = mapped_column(sa.String(100))
    # webhook: url, secret; email: recipients, smtp_host, smtp_port, sender, starttls.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    min_severity: Mapped[str] = mapped_column(sa.String(10), default="warning")
    is_enabled: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(255))
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class NotificationDelivery(OrgOwnedMixin, db.Model):
    """One attempt chain to push one event to one channel."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    channel: Mapped[NotificationChannel] = relationship()


class NotificationRoute(OrgOwnedMixin, TimestampMixin, db.Model):
    """A routing rule: events of these domains (empty: all) at or above a severity go to a channel.

    An organization without routes sends every event to every channel its minimum severity
    admits (the behaviour before routing existed); with routes, a channel only gets what a
    route sends it.
    """

    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
                                            index=True)
    domains: Mapped[list[str]] = mapped_column(default=list)
    min_severity: Mapped[str] = mapped_column(sa.String(10), default="warning")
    is_enabled: Mapped[bool] = mapped_column(default=True)

    channel: Mapped[NotificationChannel] = relationship()


class NotificationPolicy(OrgOwnedMixin, TimestampMixin, db.Model):
    """An organization's quiet hours and daily digest, in its own time zone (one row per organization)."""

    __tablename__ = "notification_policies"
    __table_args__ = (sa.UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    quiet_start: Mapped[str | None] = mapped_column(sa.String(5))  # "HH:MM" local; both set: quiet hours on
    quiet_end: Mapped[str | None] = mapped_column(sa.String(5))
    quiet_allows_critical: Mapped[bool] = mapped_column(default=True)  # critical still goes out at night
    digest_enabled: Mapped[bool] = mapped_column(default=False)
    digest_hour: Mapped[int] = mapped_column(default=8)  # local hour the digest goes out
    last_digest_on: Mapped[date | None] = mapped_column(sa.Date)
