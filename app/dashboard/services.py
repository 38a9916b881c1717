"""The home page's data, all scoped to one organization: the registered domains' posture,
one ranked "needs attention now" list, the recent-activity timeline, platform counts, and
for a super admin one row per organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.dashboard.registry import (
    ATTENTION,
    POSTURE,
    TIMELINE,
    AttentionItem,
    TimelineItem,
    ordered,
)
from app.fleet.services import online_cutoff
from app.models import (
    Alert,
    AuditLog,
    Device,
    FrameworkScore,
    JobRun,
    LoginAttempt,
    Notification,
    Organization,
    SecurityIncident,
    Site,
    User,
    UserSession,
    db,
    utcnow,
)
from app.permissions import can

ATTENTION_LIMIT = 15
TIMELINE_LIMIT = 20
OPEN_INCIDENT = ("open", "investigating")
ACTIVE_ALERT = ("open", "acknowledged", "muted")


def posture(org_id: int, user) -> list[tuple[Any, Any]]:
    """(registration, state) for every domain `user` may see that has something to show."""
    out = []
    for reg in ordered(POSTURE):
        if can(reg.permission, user):
            state = reg.func(org_id)
            if state is not None:
                out.append((reg, state))
    return out


def attention(org_id: int, user, limit: int = ATTENTION_LIMIT) -> list[AttentionItem]:
    """One list across domains: most severe first, then newest."""
    items: list[AttentionItem] = []
    for reg in ordered(ATTENTION):
        if can(reg.permission, user):
            items += reg.func(org_id, limit)
    floor = utcnow() - timedelta(days=36500)
    return sorted(items, key=lambda i: (-i.rank, -(i.when or floor).timestamp()))[:limit]


def timeline(org_id: int, user, limit: int = TIMELINE_LIMIT) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    for reg in ordered(TIMELINE):
        if can(reg.permission, user):
            items += reg.func(org_id, limit)
    return sorted(items, key=lambda i: i.when, reverse=True)[:limit]


@dataclass
class OrgRow:
    org: Organization
    csf_score: float | None = None
    critical_alerts: int = 0
    open_incidents: int = 0
    devices_offline: int = 0
    users: int = 0


def org_table() -> list[OrgRow]:
    """For a super admin: one row per organization, in a fixed number of grouped queries."""
    orgs = db.session.scalars(sa.select(Organization).where(Organization.deleted_at.is_(None))
                              .order_by(Organization.name)).all()
    rows = {o.id: OrgRow(o) for o in orgs}

    def grouped(stmt: sa.Select) -> dict[int, Any]:
        return dict(db.session.execute(stmt).all())

    newest = (sa.select(FrameworkScore.org_id, sa.func.max(FrameworkScore.calculated_at).label("at"))
              .group_by(FrameworkScore.org_id).subquery())
    scores = grouped(sa.select(FrameworkScore.org_id, sa.func.max(FrameworkScore.overall_score))
                     .join(newest, sa.and_(newest.c.org_id == FrameworkScore.org_id,
                                           newest.c.at == FrameworkScore.calculated_at))
                     .group_by(FrameworkScore.org_id))
    alerts = grouped(sa.select(Alert.org_id, sa.func.count(Alert.id))
                     .where(Alert.status.in_(ACTIVE_ALERT), Alert.severity == "critical").group_by(Alert.org_id))
    incidents = grouped(sa.select(SecurityIncident.org_id, sa.func.count(SecurityIncident.id))
                        .where(SecurityIncident.status.in_(OPEN_INCIDENT)).group_by(SecurityIncident.org_id))
    offline = grouped(sa.select(Device.org_id, sa.func.count(Device.id))
                      .where(Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
                             Device.status.not_in(("suspended", "decommissioned")),
                             sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < online_cutoff()))
                      .group_by(Device.org_id))
    users = grouped(sa.select(User.org_id, sa.func.count(User.id)).where(User.deleted_at.is_(None))
                    .group_by(User.org_id))
    for org_id, row in rows.items():
        row.csf_score = float(scores[org_id]) if scores.get(org_id) is not None else None
        row.critical_alerts = alerts.get(org_id, 0)
        row.open_incidents = incidents.get(org_id, 0)
        row.devices_offline = offline.get(org_id, 0)
        row.users = users.get(org_id, 0)
    return list(rows.values())


def summary(org_id: int, user_id: int) -> dict[str, int]:
    day_ago = utcnow() - timedelta(days=1)

    def count(stmt: sa.Select) -> int:
        return db.session.scalar(stmt) or 0

    return {
        "users": count(sa.select(sa.func.count(User.id)).where(User.org_id == org_id, User.deleted_at.is_(None))),
        "active_users": count(
            sa.select(sa.func.count(User.id)).where(
                User.org_id == org_id, User.deleted_at.is_(None), User.status == "active"
            )
        ),
        "sites": count(sa.select(sa.func.count(Site.id)).where(Site.org_id == org_id, Site.deleted_at.is_(None))),
        "live_sessions": count(
            sa.select(sa.func.count(UserSession.id))
            .join(User, User.id == UserSession.user_id)
            .where(User.org_id == org_id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())
        ),
        "failed_logins_24h": count(
            sa.select(sa.func.count(LoginAttempt.id)).where(
                LoginAttempt.org_id == org_id, LoginAttempt.success.is_(False), LoginAttempt.attempted_at > day_ago
            )
        ),
        "audit_events_24h": count(
            sa.select(sa.func.count(AuditLog.id)).where(AuditLog.org_id == org_id, AuditLog.created_at > day_ago)
        ),
        "jobs_active": count(
            sa.select(sa.func.count(JobRun.id)).where(JobRun.org_id == org_id, JobRun.status.in_(("queued", "running")))
        ),
        "jobs_failed_24h": count(
            sa.select(sa.func.count(JobRun.id)).where(
                JobRun.org_id == org_id, JobRun.status == "failed", JobRun.created_at > day_ago
            )
        ),
        "unread_notifications": count(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        ),
    }


def recent_activity(org_id: int, limit: int = 8) -> list[AuditLog]:
    return db.session.scalars(
        sa.select(AuditLog).where(AuditLog.org_id == org_id).order_by(AuditLog.id.desc()).limit(limit)
    ).all()


def audit_timeline(org_id: int, limit: int) -> list[TimelineItem]:
    """The audit log as timeline entries (who did what)."""
    return [TimelineItem(row.created_at, f"{row.actor_label or row.actor_type}: {row.action}",
                         None, f"{row.resource_type or ''} {row.resource_id or ''}".strip(), "platform")
            for row in recent_activity(org_id, limit)]
