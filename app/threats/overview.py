"""Numbers for the security overview page, all for one organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.models import (
    IocSighting,
    RateLimitEntry,
    SecurityEvent,
    SecurityIncident,
    ThreatEvent,
    ThreatIntelligence,
    db,
    utcnow,
)
from app.models.threats import THREAT_OPEN

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def events_per_hour(org_id: int, hours: int = 24) -> dict[str, Any]:
    """Event counts per hour and severity for the chart (buckets computed in Python, so
    SQLite and PostgreSQL agree)."""
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=hours - 1)
    rows = db.session.execute(sa.select(SecurityEvent.created_at, SecurityEvent.severity).where(
        SecurityEvent.org_id == org_id, SecurityEvent.created_at >= start)).all()
    labels = [(start + timedelta(hours=i)).strftime("%H:00") for i in range(hours)]
    series = {sev: [0] * hours for sev in SEVERITY_ORDER}
    for created_at, severity in rows:
        index = int((created_at - start).total_seconds() // 3600)
        if 0 <= index < hours and severity in series:
            series[severity][index] += 1
    return {"labels": labels, "series": {k: v for k, v in series.items() if any(v)}}


def risky(org_id: int, column, days: int = 7, limit: int = 5) -> list[tuple[str, float, int]]:
    since = utcnow() - timedelta(days=days)
    return [(value, float(top), count) for value, top, count in db.session.execute(
        sa.select(column, sa.func.max(SecurityEvent.risk_score), sa.func.count(SecurityEvent.id))
        .where(SecurityEvent.org_id == org_id, SecurityEvent.created_at >= since, column.is_not(None))
        .group_by(column).order_by(sa.func.max(SecurityEvent.risk_score).desc()).limit(limit)
    ).all()]


def by_severity(model, org_id: int, open_statuses) -> dict[str, int]:
    rows = db.session.execute(sa.select(model.severity, sa.func.count(model.id)).where(
        model.org_id == org_id, model.status.in_(open_statuses)).group_by(model.severity)).all()
    return {sev: n for sev, n in sorted(rows, key=lambda r: SEVERITY_ORDER.index(r[0]) if r[0] in SEVERITY_ORDER else 9)}


def summary(org_id: int) -> dict[str, Any]:
    now = utcnow()
    week = now - timedelta(days=7)
    return {
        "chart": events_per_hour(org_id),
        "risky_users": risky(org_id, SecurityEvent.email),
        "risky_ips": risky(org_id, SecurityEvent.ip_address),
        "threats": by_severity(ThreatEvent, org_id, THREAT_OPEN),
        "incidents": by_severity(SecurityIncident, org_id, ("open", "investigating")),
        "blocks": db.session.scalar(sa.select(sa.func.count(RateLimitEntry.id)).where(
            RateLimitEntry.org_id == org_id, RateLimitEntry.is_blocked.is_(True), RateLimitEntry.blocked_until > now)) or 0,
        "sightings": db.session.execute(
            sa.select(IocSighting, ThreatIntelligence).join(ThreatIntelligence, ThreatIntelligence.id == IocSighting.intel_id)
            .where(IocSighting.org_id == org_id, IocSighting.created_at >= week).order_by(IocSighting.id.desc()).limit(8)
        ).all(),
        "events_24h": db.session.scalar(sa.select(sa.func.count(SecurityEvent.id)).where(
            SecurityEvent.org_id == org_id, SecurityEvent.created_at >= now - timedelta(hours=24))) or 0,
    }
