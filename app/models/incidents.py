"""Security incidents (seed 004 `security_incidents`) and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow
from app.models.identity import User

INCIDENT_STATUSES = ("open", "investigating", "resolved", "closed")
INCIDENT_SEVERITIES = ("low", "medium", "high", "critical")
# Which status may follow which (reopening goes back to investigating).
INCIDENT_TRANSITIONS = {
    "open": ("investigating", "resolved", "closed"),
    "investigating": ("resolved", "closed"),
    "resolved": ("closed", "investigating"),
    "closed": ("investigating",),
}


class SecurityIncident(OrgOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "security_incidents"
    __table_args__ = (sa.Index("ix_security_incidents_org_status", "org_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_type: Mapped[str] = mapped_column(sa.String(50), default="other")
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.Text)
    severity: Mapped[str] = mapped_column(sa.String(10), default="medium")
    priority: Mapped[str] = mapped_column(sa.String(10), default="medium")
    status: Mapped[str] = mapped_column(sa.String(15), default="open", index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    related_threat_ids: Mapped[list[Any]] = mapped_column(default=list)
    related_event_ids: Mapped[list[Any]] = mapped_column(default=list)
    due_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    # Seconds from creation to acknowledgement / resolution (feed the metrics domain).
    time_to_acknowledge: Mapped[int | None] = mapped_column()
    time_to_resolve: Mapped[int | None] = mapped_column()

    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])

    def is_overdue(self, now: datetime | None = None) -> bool:
        return (self.status in ("open", "investigating") and self.due_at is not None
                and self.due_at < (now or utcnow()))


class IncidentUpdate(OrgOwnedMixin, db.Model):
    """One line of an incident's timeline: a comment or a change."""

    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("security_incidents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # comment, created, status, assignment, field, link
    body: Mapped[str | None] = mapped_column(sa.Text)
    old_value: Mapped[dict[str, Any] | None] = mapped_column()
    new_value: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class IncidentLink(OrgOwnedMixin, db.Model):
    """An object of any domain linked to an incident, by registered type and id (app/core/linkable.py)."""

    __tablename__ = "incident_links"
    __table_args__ = (sa.UniqueConstraint("incident_id", "object_type", "object_id"),
                      sa.Index("ix_incident_links_object", "org_id", "object_type", "object_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("security_incidents.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(30))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
