"""Alerting (seed 002 alert_rules, alerts; maintenance windows): rules, fired alerts, each
rule's per-target evaluation state, and the windows that keep alerts quiet.

Domain-neutral: a rule names its `domain` and `rule_type`; a target is a string key the
domain chooses ("device:12", "device:12:mount:/var"). The fleet scopes rules and windows
to devices and sites, so those columns are here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow

ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_STATUSES = ("open", "acknowledged", "resolved", "muted")
RULE_DIRECTIONS = ("above", "below")
WINDOW_RECURRENCES = ("once", "weekly", "cron")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class AlertRule(TimestampMixin, db.Model):
    """When to alert: a rule type, its thresholds and its scope (global, organization or device)."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        sa.CheckConstraint(_in("severity", ALERT_SEVERITIES), name="severity"),
        sa.CheckConstraint(_in("direction", RULE_DIRECTIONS), name="direction"),
        sa.CheckConstraint("device_id IS NULL OR org_id IS NOT NULL", name="device_needs_org"),
        sa.Index("ix_alert_rules_type_enabled", "rule_type", "enabled"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(30), default="fleet")
    rule_type: Mapped[str] = mapped_column(sa.String(50))
    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    threshold_value: Mapped[float | None] = mapped_column(sa.Float)
    recovery_value: Mapped[float | None] = mapped_column(sa.Float)
    direction: Mapped[str] = mapped_column(sa.String(10), default="above")
    threshold_duration_seconds: Mapped[int] = mapped_column(default=300)
    cooldown_seconds: Mapped[int] = mapped_column(default=3600)
    repeat_interval_seconds: Mapped[int | None] = mapped_column()
    severity: Mapped[str] = mapped_column(sa.String(20))
    enabled: Mapped[bool] = mapped_column(default=True)
    notify: Mapped[bool] = mapped_column(default=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def scope(self) -> str:
        return "device" if self.device_id else "organization" if self.org_id else "global"


class AlertRuleVersion(db.Model):
    """A counter per rule scope (0: the global rules, else an organization's id), bumped in
    the transaction that changes any rule of that scope (app/alerting/rule_cache.py), so a
    process that caches rules sees the change on its next read of the counter."""

    __tablename__ = "alert_rule_versions"

    scope: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)


class Alert(OrgOwnedMixin, db.Model):
    """One fired alert: open until it recovers or someone resolves it."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint(_in("severity", ALERT_SEVERITIES), name="severity"),
        sa.CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        sa.Index("ix_alerts_org_status_fired", "org_id", "status", "fired_at"),
        sa.Index("ix_alerts_device_fired", "device_id", "fired_at"),
        sa.Index("ix_alerts_org_domain_status", "org_id", "domain", "status"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(30), default="fleet")
    target_key: Mapped[str] = mapped_column(sa.String(300))
    target_label: Mapped[str] = mapped_column(sa.String(300))
    alert_type: Mapped[str] = mapped_column(sa.String(50))
    severity: Mapped[str] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metric_name: Mapped[str | None] = mapped_column(sa.String(100))
    metric_value: Mapped[float | None] = mapped_column(sa.Float)
    threshold_value: Mapped[float | None] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    notify_count: Mapped[int] = mapped_column(default=0)
    last_notified_at: Mapped[datetime | None] = mapped_column()
    suppressed_reason: Mapped[str | None] = mapped_column(sa.String(300))
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    muted_until: Mapped[datetime | None] = mapped_column()
    muted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    rule: Mapped[AlertRule | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status != "resolved"


class AlertRuleState(db.Model):
    """The state machine's state for one rule and one target (written only when it changes)."""

    __tablename__ = "alert_rule_states"
    __table_args__ = (sa.UniqueConstraint("rule_id", "target_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("alert_rules.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    target_key: Mapped[str] = mapped_column(sa.String(300))
    phase: Mapped[str] = mapped_column(sa.String(10), default="ok")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MaintenanceWindow(OrgOwnedMixin, TimestampMixin, db.Model):
    """A time when alerts of an organization, a site or a device stay quiet."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (sa.CheckConstraint(_in("recurrence", WINDOW_RECURRENCES), name="recurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    recurrence: Mapped[str] = mapped_column(sa.String(10), default="once")
    starts_at: Mapped[datetime | None] = mapped_column()  # once
    ends_at: Mapped[datetime | None] = mapped_column()  # once
    weekdays: Mapped[list[Any]] = mapped_column(default=list)  # weekly: 0 = Monday
    start_time: Mapped[str | None] = mapped_column(sa.String(5))  # weekly: "HH:MM" local
    cron: Mapped[str | None] = mapped_column(sa.String(100))  # cron: start times, local
    duration_minutes: Mapped[int | None] = mapped_column()  # weekly and cron
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def scope(self) -> str:
        return "device" if self.device_id else "site" if self.site_id else "organization"
