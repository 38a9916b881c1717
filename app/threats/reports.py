"""The threat report: incidents, indicator sightings, blocked addresses, riskiest users."""

from __future__ import annotations

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
)
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    def within(column: Any) -> list[Any]:
        return [column >= period.start, column < period.end]

    incidents = Table(["Opened", "Title", "Severity", "Status", "Hours to acknowledge", "Hours to resolve"], [
        [i.created_at, i.title, i.severity, i.status,
         None if i.time_to_acknowledge is None else round(i.time_to_acknowledge / 3600, 1),
         None if i.time_to_resolve is None else round(i.time_to_resolve / 3600, 1)]
        for i in db.session.scalars(sa.select(SecurityIncident).where(
            SecurityIncident.org_id == org_id, *within(SecurityIncident.created_at)).order_by(SecurityIncident.created_at))])
    sightings = Table(["Seen", "Indicator", "Type", "Severity", "Observed value", "Where"], [
        [s.observed_at, t.indicator_value, t.indicator_type, t.severity, s.observed_value, s.object_label or s.source]
        for s, t in db.session.execute(sa.select(IocSighting, ThreatIntelligence)
                                       .join(ThreatIntelligence, ThreatIntelligence.id == IocSighting.intel_id)
                                       .where(IocSighting.org_id == org_id, *within(IocSighting.observed_at))
                                       .order_by(IocSighting.observed_at))])
    blocks = Table(["Address", "Endpoint", "Blocked until", "Reason"], [
        [b.ip_address, b.endpoint, b.blocked_until, b.reason]
        for b in db.session.scalars(sa.select(RateLimitEntry).where(
            RateLimitEntry.org_id == org_id, RateLimitEntry.is_blocked.is_(True), *within(RateLimitEntry.window_start))
            .order_by(RateLimitEntry.window_start))])
    risky = Table(["User", "Events", "Highest risk", "Mean risk"], [
        [email, n, float(top), round(float(mean), 1)]
        for email, n, top, mean in db.session.execute(
            sa.select(SecurityEvent.email, sa.func.count(SecurityEvent.id), sa.func.max(SecurityEvent.risk_score),
                      sa.func.avg(SecurityEvent.risk_score))
            .where(SecurityEvent.org_id == org_id, SecurityEvent.email.is_not(None), *within(SecurityEvent.created_at))
            .group_by(SecurityEvent.email).order_by(sa.func.max(SecurityEvent.risk_score).desc()).limit(15))])
    by_type = db.session.execute(sa.select(ThreatEvent.threat_type, sa.func.count(ThreatEvent.id)).where(
        ThreatEvent.org_id == org_id, *within(ThreatEvent.detected_at)).group_by(ThreatEvent.threat_type)).all()
    context = {"detections_svg": bar_chart([(t, n) for t, n in by_type], title="Detections by type") if by_type else None,
               "detection_count": sum(n for _, n in by_type)}
    return ReportContent("threats.html", context, {"incidents": incidents, "indicator_sightings": sightings,
                                                   "blocks": blocks, "riskiest_users": risky})


register_report("threats", "Threat report", "threats.view", build)
