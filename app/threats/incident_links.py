"""Incidents link anything: objects of any registered linkable type (app/core/linkable.py),
validated against the incident's organization, shown with their own events on the
timeline; closing an incident can resolve the alerts linked to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting import service as alerting
from app.core import linkable
from app.models import Alert, IncidentLink, SecurityIncident, User, db, utcnow
from app.threats.incidents import IncidentError, add_timeline

MAX_LINKS = 50
TIMELINE_PER_OBJECT = 20


def parse_refs(text: str | None) -> list[tuple[str, str]]:
    """"alert:12, network:5" as [("alert", "12"), ("network", "5")]; IncidentError names a bad one."""
    refs: list[tuple[str, str]] = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, ident = part.partition(":")
        if kind not in linkable.TYPES or not ident.strip():
            known = ", ".join(sorted(linkable.TYPES))
            raise IncidentError(f"'{part}' is not a link: write type:id, with a type of {known}.")
        if (kind, ident.strip()) not in refs:
            refs.append((kind, ident.strip()))
    if len(refs) > MAX_LINKS:
        raise IncidentError(f"At most {MAX_LINKS} links at once.")
    return refs


def link(incident: SecurityIncident, user: User | None, object_type: str, object_id: str) -> IncidentLink | None:
    """Link one of the organization's objects (None when it was linked already); IncidentError if it is not there."""
    obj = linkable.resolve(incident.org_id, object_type, object_id)
    if obj is None:
        label = linkable.TYPES[object_type].label if object_type in linkable.TYPES else object_type
        raise IncidentError(f"There is no {label.lower()} {object_id} in this organization.")
    exists = db.session.scalar(sa.select(IncidentLink.id).where(
        IncidentLink.incident_id == incident.id, IncidentLink.object_type == object_type,
        IncidentLink.object_id == str(object_id)))
    if exists is not None:
        return None
    title = linkable.TYPES[object_type].title(obj)[:300]
    row = IncidentLink(org_id=incident.org_id, incident_id=incident.id, object_type=object_type,
                       object_id=str(object_id), label=title, created_by_id=getattr(user, "id", None))
    db.session.add(row)
    add_timeline(incident, user, "link", f"Linked {linkable.TYPES[object_type].label.lower()}: {title}",
                 new={"type": object_type, "id": str(object_id)})
    audit.record("incident.linked", resource_type="security_incident", resource_id=incident.id,
                 org_id=incident.org_id, new={"type": object_type, "id": str(object_id)})
    return row


def missing(org_id: int, refs: list[tuple[str, str]]) -> str | None:
    """Why these refs cannot all be linked (the first one not in the organization), or None."""
    for kind, ident in refs:
        if linkable.resolve(org_id, kind, ident) is None:
            return f"There is no {linkable.TYPES[kind].label.lower()} {ident} in this organization."
    return None


def title_of(org_id: int, refs: list[tuple[str, str]]) -> str | None:
    """A title for an incident opened from one object: that object's name."""
    if len(refs) != 1:
        return None
    obj = linkable.resolve(org_id, *refs[0])
    return linkable.TYPES[refs[0][0]].title(obj)[:500] if obj is not None else None


def severity_of(org_id: int, refs: list[tuple[str, str]]) -> str | None:
    """The severity an incident opened from these objects starts with (an alert's: its own), or None."""
    return linkable.incident_severity(org_id, refs)


def link_all(incident: SecurityIncident, user: User | None, refs: list[tuple[str, str]]) -> int:
    """Link every ref, or none: the first missing object raises before anything is written."""
    problem = missing(incident.org_id, refs)
    if problem:
        raise IncidentError(problem)
    return sum(link(incident, user, kind, ident) is not None for kind, ident in refs)


def unlink(incident: SecurityIncident, user: User | None, row: IncidentLink) -> None:
    add_timeline(incident, user, "link", f"Unlinked {row.label}", old={"type": row.object_type, "id": row.object_id})
    audit.record("incident.unlinked", resource_type="security_incident", resource_id=incident.id,
                 org_id=incident.org_id, old={"type": row.object_type, "id": row.object_id})
    db.session.delete(row)


def links_of(incident: SecurityIncident) -> list[tuple[IncidentLink, Any, str | None]]:
    """Each link with its object (None: since deleted) and the object's page."""
    out = []
    for row in db.session.scalars(sa.select(IncidentLink).where(IncidentLink.incident_id == incident.id)
                                  .order_by(IncidentLink.id)):
        obj = linkable.resolve(incident.org_id, row.object_type, row.object_id)
        out.append((row, obj, linkable.TYPES[row.object_type].url(obj) if obj is not None else None))
    return out


def linked_events(links: list[tuple[IncidentLink, Any, str | None]]) -> list[tuple[datetime, str, str | None]]:
    """The linked objects' own events (their latest few each), oldest first, with the object's page."""
    events = []
    for row, obj, url in links:
        if obj is not None:
            recent = linkable.timeline(row.object_type, obj)[-TIMELINE_PER_OBJECT:]
            events.extend((when, text, url) for when, text in recent)
    return sorted(events, key=lambda e: e[0])


def linked_alerts(incident: SecurityIncident) -> list[Alert]:
    ids = db.session.scalars(sa.select(IncidentLink.object_id).where(IncidentLink.incident_id == incident.id,
                                                                     IncidentLink.object_type == "alert")).all()
    numeric = [int(i) for i in ids if i.isdigit()]
    return list(db.session.scalars(sa.select(Alert).where(Alert.org_id == incident.org_id, Alert.id.in_(numeric),
                                                          Alert.status != "resolved"))) if numeric else []


def resolve_alerts(incident: SecurityIncident, user: User, note: str) -> int:
    """Resolve the incident's linked alerts that are still active, with the incident's resolution."""
    alerts = linked_alerts(incident)
    for alert in alerts:
        alerting.resolve(alert, utcnow(), note=f"Incident #{incident.id}: {note}", actor=user)
    if alerts:
        add_timeline(incident, user, "link", f"Resolved {len(alerts)} linked alert(s)",
                     new={"alerts": [a.id for a in alerts]})
    return len(alerts)


def incidents_linking(org_id: int, object_type: str, object_id: str) -> list[SecurityIncident]:
    """The organization's incidents that link this object (for object pages)."""
    return list(db.session.scalars(sa.select(SecurityIncident).join(
        IncidentLink, IncidentLink.incident_id == SecurityIncident.id).where(
        IncidentLink.org_id == org_id, IncidentLink.object_type == object_type,
        IncidentLink.object_id == str(object_id)).order_by(SecurityIncident.id.desc())))

