"""Incident rules: SLA due dates, status transitions, timeline, time-to-acknowledge/resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting.events import publish
from app.models import (
    IncidentUpdate,
    SecurityEvent,
    SecurityIncident,
    ThreatEvent,
    User,
    db,
    utcnow,
)
from app.models.incidents import INCIDENT_TRANSITIONS

# Hours from opening to the due date, by severity (the SLA).
SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}


class IncidentError(ValueError):
    """A change the incident's rules do not allow; the message is shown to the user."""


def add_timeline(incident: SecurityIncident, user: User | None, kind: str, body: str | None = None,
                 old: dict[str, Any] | None = None, new: dict[str, Any] | None = None) -> None:
    db.session.add(IncidentUpdate(org_id=incident.org_id, incident_id=incident.id, user_id=getattr(user, "id", None),
                                  kind=kind, body=body, old_value=old, new_value=new))


def _existing_ids(model, org_id: int, ids: list[int]) -> list[int]:
    if not ids:
        return []
    return sorted(db.session.scalars(sa.select(model.id).where(model.org_id == org_id, model.id.in_(ids))))


def create(org_id: int, user: User, *, title: str, severity: str, priority: str, incident_type: str,
           description: str | None = None, assigned_to_id: int | None = None,
           threat_ids: list[int] | None = None, event_ids: list[int] | None = None) -> SecurityIncident:
    """Open an incident; linked threats/events must belong to the same organization."""
    now = utcnow()
    threats = _existing_ids(ThreatEvent, org_id, threat_ids or [])
    events = _existing_ids(SecurityEvent, org_id, event_ids or [])
    if len(threats) != len(set(threat_ids or [])) or len(events) != len(set(event_ids or [])):
        raise IncidentError("Some linked threats or events do not exist in this organization.")
    incident = SecurityIncident(
        org_id=org_id, title=title, severity=severity, priority=priority, incident_type=incident_type,
        description=description, assigned_to_id=assigned_to_id, created_by_id=user.id,
        related_threat_ids=threats, related_event_ids=events, due_at=now + timedelta(hours=SLA_HOURS[severity]),
    )
    db.session.add(incident)
    db.session.flush()
    add_timeline(incident, user, "created", f"Opened with severity {severity}",
                 new={"threats": threats, "events": events})
    if threats:
        # Linked threats move to investigating: someone is on them now.
        for threat in db.session.scalars(sa.select(ThreatEvent).where(ThreatEvent.id.in_(threats))):
            if threat.status == "detected":
                threat.status = "investigating"
    publish("threats.incident_changed", incident=incident)
    audit.record("incident.created", resource_type="security_incident", resource_id=incident.id,
                 new={"title": title, "severity": severity, "threats": threats, "events": events})
    return incident


def _acknowledge(incident: SecurityIncident) -> None:
    if incident.acknowledged_at is None:
        incident.acknowledged_at = utcnow()
        incident.time_to_acknowledge = int((incident.acknowledged_at - incident.created_at).total_seconds())


class ResolutionRequired(IncidentError):
    """Closing or resolving an open incident needs its resolution written down."""


def change_status(incident: SecurityIncident, user: User, new_status: str, note: str | None = None) -> None:
    old = incident.status
    if new_status == old:
        return
    if new_status not in INCIDENT_TRANSITIONS.get(old, ()):
        raise IncidentError(f"An incident cannot go from {old} to {new_status}.")
    if new_status in ("resolved", "closed") and old in ("open", "investigating") and not (note or "").strip():
        raise ResolutionRequired("Say how the incident was resolved.")
    now = utcnow()
    incident.status = new_status
    if new_status in ("investigating", "resolved", "closed"):
        _acknowledge(incident)
    if new_status == "resolved" or (new_status == "closed" and incident.resolved_at is None):
        incident.resolved_at = now
        incident.time_to_resolve = int((now - incident.created_at).total_seconds())
    if new_status == "closed":
        incident.closed_at = now
    if new_status == "investigating" and old in ("resolved", "closed"):
        incident.resolved_at = incident.closed_at = None
        incident.time_to_resolve = None
    add_timeline(incident, user, "status", note, old={"status": old}, new={"status": new_status})
    publish("threats.incident_changed", incident=incident)
    audit.record("incident.status_changed", resource_type="security_incident", resource_id=incident.id,
                 old={"status": old}, new={"status": new_status})


def assign(incident: SecurityIncident, user: User, assignee: User | None) -> None:
    if assignee is not None and assignee.org_id != incident.org_id:
        raise IncidentError("That person is not in this organization.")
    old = incident.assigned_to_id
    new = assignee.id if assignee else None
    if old == new:
        return
    incident.assigned_to_id = new
    if assignee is not None:
        _acknowledge(incident)
    add_timeline(incident, user, "assignment", f"Assigned to {assignee.email}" if assignee else "Unassigned",
                 old={"assigned_to_id": old}, new={"assigned_to_id": new})
    audit.record("incident.assigned", resource_type="security_incident", resource_id=incident.id,
                 old={"assigned_to_id": old}, new={"assigned_to_id": new})


def comment(incident: SecurityIncident, user: User, body: str) -> None:
    add_timeline(incident, user, "comment", body)
    audit.record("incident.commented", resource_type="security_incident", resource_id=incident.id,
                 details={"length": len(body)})


def timeline(incident: SecurityIncident) -> list[IncidentUpdate]:
    return db.session.scalars(sa.select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id)
                              .order_by(IncidentUpdate.id)).all()
