"""The threats domain's linkable objects: indicators, users and threats, each with its own
events for an incident's timeline (sightings, security events, detections)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core import linkable
from app.models import IocSighting, SecurityEvent, ThreatEvent, ThreatIntelligence, User, db
from app.notifications.services import app_path
from app.threats.incident_links import incidents_linking

RECENT = 20


def _by_id(model: Any) -> Any:
    def load(org_id: int, object_id: str) -> Any:
        return db.session.scalar(sa.select(model).where(model.org_id == org_id, model.id == int(object_id)))
    return load


def _sightings(ioc: ThreatIntelligence) -> list[tuple[Any, str]]:
    rows = db.session.scalars(sa.select(IocSighting).where(IocSighting.intel_id == ioc.id)
                              .order_by(IocSighting.id.desc()).limit(RECENT)).all()
    return [(s.created_at, f"Indicator {ioc.indicator_value} sighted ({s.observed_value})") for s in reversed(rows)]


def _user_events(user: User) -> list[tuple[Any, str]]:
    rows = db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.user_id == user.id)
                              .order_by(SecurityEvent.id.desc()).limit(RECENT)).all()
    return [(e.created_at, f"{user.email}: {e.event_type} from {e.ip_address or 'unknown'} (risk {e.risk_score:g})")
            for e in reversed(rows)]


def _threat_events(threat: ThreatEvent) -> list[tuple[Any, str]]:
    out = [(threat.detected_at, f"Threat #{threat.id} detected: {threat.description}")]
    if threat.occurrences > 1:
        out.append((threat.last_detected_at, f"Threat #{threat.id} seen again ({threat.occurrences} times)"))
    return out


linkable.register(linkable.LinkableType(
    "indicator", "Indicator", _by_id(ThreatIntelligence), lambda i: f"{i.indicator_type} {i.indicator_value}",
    lambda i: app_path("threats.intel_detail", intel_id=i.id), _sightings))
linkable.register(linkable.LinkableType(
    "user", "User", _by_id(User), lambda u: u.email,
    lambda u: app_path("threats.events", email=u.email), _user_events))
linkable.register(linkable.LinkableType(
    "threat", "Threat", _by_id(ThreatEvent), lambda t: f"#{t.id} {t.threat_type.replace('_', ' ')}",
    lambda t: app_path("threats.threat_detail", threat_id=t.id), _threat_events))
linkable.register_incident_opener("threats.incident_new", "threats.manage")


def _incidents_about(org_id: int, object_type: str, object_id: str) -> list[tuple[str, str]]:
    return [(f"Incident #{i.id} ({i.status}): {i.title}", app_path("threats.incident_detail", incident_id=i.id))
            for i in incidents_linking(org_id, object_type, object_id)]


linkable.register_backlinks(_incidents_about, "threats.view")
