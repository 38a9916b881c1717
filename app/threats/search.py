"""Global search: threat indicators and incidents."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import SecurityIncident, ThreatIntelligence, db
from app.search.registry import Hit, register_provider
from app.search.text import contains, rank
from app.threats import entity


def search_indicators(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(ThreatIntelligence.id, ThreatIntelligence.indicator_type, ThreatIntelligence.indicator_value,
                  ThreatIntelligence.severity, ThreatIntelligence.sighting_count)
        .where(ThreatIntelligence.org_id == org_id, contains(ThreatIntelligence.indicator_value, term))
        .order_by(rank(ThreatIntelligence.indicator_value, term), ThreatIntelligence.id).limit(limit)
    ).all()
    return [Hit(row.indicator_value, url_for("threats.intel_detail", intel_id=row.id),
                f"{row.indicator_type} · {row.severity} · {row.sighting_count} sightings") for row in rows]


def search_incidents(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(SecurityIncident.id, SecurityIncident.title, SecurityIncident.severity, SecurityIncident.status)
        .where(SecurityIncident.org_id == org_id, contains(SecurityIncident.title, term))
        .order_by(SecurityIncident.created_at.desc(), SecurityIncident.id.desc()).limit(limit)
    ).all()
    return [Hit(row.title, url_for("threats.incident_detail", incident_id=row.id), f"{row.severity} · {row.status}")
            for row in rows]


def search_entity(org_id: int, term: str, limit: int) -> list[Hit]:
    """A term that is itself an IP, domain, URL, e-mail or hash: the page of everywhere it appears."""
    detected = entity.detect(term)
    if detected is None:
        return []
    kind, value = detected
    return [Hit(f"Everywhere {value} appears", url_for("threats.entity_page", v=value), f"{kind} · entity page")]


register_provider("entity", "Where it appears", "threats.view", search_entity, order=5)
register_provider("indicators", "Threat indicators", "threats.view", search_indicators, order=40)
register_provider("incidents", "Incidents", "threats.view", search_incidents, order=10)
