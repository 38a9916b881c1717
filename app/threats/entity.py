"""The entity page's data: everything Vigil knows about one IP, domain, URL, e-mail or hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.indicators import geo
from app.indicators.matching import appearances, canonical, describe, indicators_for
from app.models import IocSighting, ThreatIntelligence, db

DETECT_ORDER = ("ip", "email", "hash", "url", "domain")


@dataclass
class Entity:
    kind: str
    value: str
    indicators: list[ThreatIntelligence] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    location: dict[str, Any] | None = None


def detect(raw: str | None) -> tuple[str, str] | None:
    """(kind, canonical value) of what was typed, or None when it is none of the kinds."""
    for kind in DETECT_ORDER:
        value = canonical(kind, raw)
        if value:
            return kind, value
    return None


def build(org_id: int, kind: str, value: str, user) -> Entity:
    """Indicators the value hits, and every place it appears with its sightings, newest first."""
    entity = Entity(kind, value, indicators=indicators_for(org_id, kind, value))
    if kind == "ip":
        entity.location = geo.locate(value)
    timeline = [{"where": place.label, "label": occ.label, "value": occ.value, "when": occ.observed_at,
                 "url": place.link(occ.object_id, occ.value), "kind": "appearance"}
                for place, occ in appearances(org_id, kind, value, user)]
    sightings = db.session.scalars(
        sa.select(IocSighting).where(IocSighting.org_id == org_id, IocSighting.observed_value == value)
        .order_by(IocSighting.observed_at.desc()).limit(200))
    timeline += [{**describe(s), "kind": "sighting"} for s in sightings]
    entity.timeline = sorted(timeline, key=lambda row: row["when"], reverse=True)
    return entity
