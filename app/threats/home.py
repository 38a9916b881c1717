"""The home page's threat parts: the incidents tile, open incidents and compromised accounts
in "needs attention now", indicator sightings and new incidents in the timeline."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from app.dashboard.registry import (
    SEVERITY_RANK,
    AttentionItem,
    PostureState,
    TimelineItem,
    Worst,
    register_attention,
    register_org_column,
    register_posture,
    register_timeline,
)
from app.indicators import matching
from app.models import IocSighting, SecurityEvent, SecurityIncident, User, db, utcnow
from app.threats.risk import DENY_AT

OPEN = ("open", "investigating")
COMPROMISE_WINDOW = timedelta(days=30)
RISKY_WINDOW = timedelta(hours=24)


def _open_incidents(org_id: int, limit: int) -> list[SecurityIncident]:
    rank = sa.case({s: -r for s, r in SEVERITY_RANK.items()}, value=SecurityIncident.severity, else_=0)
    return list(db.session.scalars(
        sa.select(SecurityIncident).where(SecurityIncident.org_id == org_id, SecurityIncident.status.in_(OPEN))
        .order_by(rank, SecurityIncident.created_at.desc()).limit(limit)))


def threats_posture(org_id: int) -> PostureState | None:
    """Open incidents; the trend is opened this week against the week before."""
    now = utcnow()
    week, fortnight = now - timedelta(days=7), now - timedelta(days=14)
    open_count, this_week, last_week = db.session.execute(sa.select(
        sa.func.count(SecurityIncident.id).filter(SecurityIncident.status.in_(OPEN)),
        sa.func.count(SecurityIncident.id).filter(SecurityIncident.created_at >= week),
        sa.func.count(SecurityIncident.id).filter(SecurityIncident.created_at >= fortnight,
                                                  SecurityIncident.created_at < week),
    ).where(SecurityIncident.org_id == org_id)).one()
    worst = _open_incidents(org_id, 1)
    return PostureState(
        value=str(open_count), caption="open incidents", url=url_for("threats.incident_list"),
        trend=this_week - last_week, higher_is_better=False,
        worst=Worst(f"{worst[0].title} ({worst[0].severity})",
                    url_for("threats.incident_detail", incident_id=worst[0].id)) if worst else None,
        status="bad" if worst and worst[0].severity == "critical" else "warn" if open_count else "ok",
    )


def incidents(org_id: int, limit: int) -> list[AttentionItem]:
    return [AttentionItem(i.severity, f"Incident: {i.title}", url_for("threats.incident_detail", incident_id=i.id),
                          i.created_at, i.status, "threats") for i in _open_incidents(org_id, limit)]


def compromised_accounts(org_id: int, limit: int) -> list[AttentionItem]:
    """Users whose e-mail matched an indicator (30 days), or who had a sign-in risky enough
    to deny (24 h)."""
    now = utcnow()
    sighted = db.session.execute(
        sa.select(User.id, User.email, sa.func.max(IocSighting.observed_at))
        .join(IocSighting, sa.and_(IocSighting.source == "user", IocSighting.object_id == sa.cast(User.id, sa.String)))
        .where(User.org_id == org_id, IocSighting.observed_at >= now - COMPROMISE_WINDOW)
        .group_by(User.id, User.email).limit(limit)).all()
    risky = db.session.execute(
        sa.select(User.id, User.email, sa.func.max(SecurityEvent.created_at), sa.func.max(SecurityEvent.risk_score))
        .join(SecurityEvent, SecurityEvent.user_id == User.id)
        .where(User.org_id == org_id, SecurityEvent.risk_score >= DENY_AT,
               SecurityEvent.created_at >= now - RISKY_WINDOW)
        .group_by(User.id, User.email).limit(limit)).all()
    items = {uid: AttentionItem("critical", f"Account {email} matches threat intelligence",
                                url_for("threats.entity_page", v=email), when, "e-mail listed by an indicator",
                                "threats") for uid, email, when in sighted}
    for uid, email, when, score in risky:
        items.setdefault(uid, AttentionItem("high", f"Risky sign-in for {email}",
                                            url_for("threats.events", email=email), when,
                                            f"risk {float(score):.0f}", "threats"))
    return list(items.values())[:limit]


def sightings(org_id: int, limit: int) -> list[TimelineItem]:
    rows = db.session.scalars(sa.select(IocSighting).where(IocSighting.org_id == org_id)
                              .order_by(IocSighting.observed_at.desc()).limit(limit))
    return [TimelineItem(row["when"], f"Indicator sighting: {row['value']} in {row['where'].lower()}",
                         url_for("threats.intel_detail", intel_id=row["sighting"].intel_id), row["label"], "threats")
            for row in map(matching.describe, rows)]


def new_incidents(org_id: int, limit: int) -> list[TimelineItem]:
    rows = db.session.scalars(sa.select(SecurityIncident).where(SecurityIncident.org_id == org_id)
                              .order_by(SecurityIncident.created_at.desc()).limit(limit))
    return [TimelineItem(i.created_at, f"Incident opened: {i.title}", url_for("threats.incident_detail", incident_id=i.id),
                         i.severity, "threats") for i in rows]


register_posture("threats", "Threats and incidents", "threats.view", threats_posture, order=20)
register_attention("incidents", "Open incidents", "threats.view", incidents, order=15)
register_attention("compromised_accounts", "Compromised accounts", "threats.view", compromised_accounts, order=30)
register_timeline("sightings", "Indicator sightings", "threats.view", sightings, order=10)
register_timeline("incidents", "Incidents", "threats.view", new_incidents, order=15)


def open_incidents_by_org() -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(SecurityIncident.org_id, sa.func.count(SecurityIncident.id))
        .where(SecurityIncident.status.in_(OPEN)).group_by(SecurityIncident.org_id)).all())


register_org_column("open_incidents", "Open incidents", open_incidents_by_org, order=30)
