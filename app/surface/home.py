"""The home page's attack-surface parts: the worst risk level over the organization's
domains, open critical/high findings, unverified domains; open critical/high findings and
lost verifications in "needs attention now"; new findings on the timeline."""

from __future__ import annotations

import sqlalchemy as sa

from app.dashboard.registry import (
    AttentionItem,
    PostureState,
    TimelineItem,
    Worst,
    register_attention,
    register_org_column,
    register_posture,
    register_timeline,
)
from app.models import LightboxFinding, SurfaceDomain, db
from app.notifications.services import app_path
from app.surface.findings import severity_order

LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # risk.py's level table, best first
URGENT = ("critical", "high")


def _open_urgent(org_id: int | None = None):
    stmt = (sa.select(LightboxFinding.id, LightboxFinding.domain_id, LightboxFinding.title,
                      LightboxFinding.finding_type, LightboxFinding.asset, LightboxFinding.severity,
                      LightboxFinding.discovered_at, SurfaceDomain.domain)
            .join(SurfaceDomain, SurfaceDomain.id == LightboxFinding.domain_id)
            .where(LightboxFinding.status == "open", LightboxFinding.severity.in_(URGENT),
                   LightboxFinding.deleted_at.is_(None), SurfaceDomain.deleted_at.is_(None)))
    return stmt.where(LightboxFinding.org_id == org_id) if org_id is not None else stmt


def surface_posture(org_id: int) -> PostureState | None:
    """Worst risk level of the listed domains, with open critical/high findings and unverified domains."""
    live = sa.and_(SurfaceDomain.org_id == org_id, SurfaceDomain.deleted_at.is_(None))
    worst_rank = sa.func.max(sa.case({lv: i + 1 for i, lv in enumerate(LEVELS)},
                                     value=sa.func.upper(SurfaceDomain.risk_level), else_=0))
    domains, unverified, rank = db.session.execute(sa.select(
        sa.func.count(SurfaceDomain.id), sa.func.count(SurfaceDomain.id).filter(SurfaceDomain.state != "verified"),
        worst_rank).where(live)).one()
    if not domains:
        return None
    urgent = _open_urgent(org_id).subquery()
    critical, high = db.session.execute(
        sa.select(sa.func.count().filter(urgent.c.severity == "critical"),
                  sa.func.count().filter(urgent.c.severity == "high"))).one()
    top = db.session.execute(_open_urgent(org_id).order_by(severity_order(), LightboxFinding.discovered_at.desc())
                             .limit(1)).first()
    level = LEVELS[rank - 1] if rank else "not scanned"
    return PostureState(
        value=level, caption=f"worst risk level · {critical} critical, {high} high open findings · "
                             f"{unverified} of {domains} domain(s) unverified",
        url=app_path("surface.index"), higher_is_better=False,
        worst=Worst(f"{top.title or top.finding_type} ({top.asset})",
                    app_path("surface.findings_list", domain_id=top.domain_id)) if top else None,
        status="bad" if critical or level == "CRITICAL" else "warn" if high or unverified or level == "HIGH" else "ok")


def urgent_findings(org_id: int, limit: int) -> list[AttentionItem]:
    """One item per domain with open critical/high findings (each finding is also its own alert)."""
    urgent = _open_urgent(org_id).subquery()
    critical = sa.func.count().filter(urgent.c.severity == "critical")
    rows = db.session.execute(
        sa.select(urgent.c.domain_id, urgent.c.domain, critical.label("critical"),
                  sa.func.count().filter(urgent.c.severity == "high").label("high"),
                  sa.func.max(urgent.c.discovered_at).label("at"))
        .group_by(urgent.c.domain_id, urgent.c.domain)
        .order_by(critical.desc(), sa.desc("high"), urgent.c.domain_id).limit(limit)).all()
    return [AttentionItem("critical" if row.critical else "high",
                          f"{row.domain}: {row.critical} critical and {row.high} high open finding(s)",
                          app_path("surface.findings_list", domain_id=row.domain_id), row.at,
                          "attack surface", "surface") for row in rows]


def lost_verification(org_id: int, limit: int) -> list[AttentionItem]:
    rows = db.session.execute(
        sa.select(SurfaceDomain.id, SurfaceDomain.domain, SurfaceDomain.last_checked_at, SurfaceDomain.last_check_error)
        .where(SurfaceDomain.org_id == org_id, SurfaceDomain.deleted_at.is_(None), SurfaceDomain.state == "failed")
        .order_by(SurfaceDomain.last_checked_at.desc().nulls_last(), SurfaceDomain.id).limit(limit)).all()
    return [AttentionItem("high", f"{row.domain} lost its proof of ownership (active scans stopped)",
                          app_path("surface.domain", domain_id=row.id), row.last_checked_at,
                          (row.last_check_error or "")[:120], "surface") for row in rows]


def new_findings(org_id: int, limit: int) -> list[TimelineItem]:
    rows = db.session.execute(_open_urgent(org_id).order_by(LightboxFinding.discovered_at.desc()).limit(limit)).all()
    return [TimelineItem(row.discovered_at, f"New {row.severity} finding on {row.domain}: "
                         f"{row.title or row.finding_type}", app_path("surface.findings_list", domain_id=row.domain_id),
                         row.asset, "surface") for row in rows]


def open_urgent_per_org() -> dict[int, int]:
    sub = _open_urgent().add_columns(LightboxFinding.org_id).subquery()
    return dict(db.session.execute(sa.select(sub.c.org_id, sa.func.count()).group_by(sub.c.org_id)).all())


register_posture("surface", "Attack surface", "data.read", surface_posture, order=50)
register_attention("surface_findings", "Critical and high findings", "data.read", urgent_findings, order=50)
register_attention("surface_verification", "Lost domain verification", "data.read", lost_verification, order=51)
register_timeline("surface", "Attack-surface findings", "data.read", new_findings, order=50)
register_org_column("surface_findings", "Open critical/high findings", open_urgent_per_org, order=50)
