"""The home page's data, all scoped to one organization: the registered domains' posture,
one ranked "needs attention now" list, the recent-activity timeline, platform counts, and
for a super admin one row per organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.alerting.registry import DOMAIN_PERMISSIONS
from app.dashboard.registry import (
    ATTENTION,
    ORG_COLUMNS,
    POSTURE,
    TIMELINE,
    AttentionItem,
    TimelineItem,
    ordered,
)
from app.models import (
    AuditLog,
    JobRun,
    LoginAttempt,
    Notification,
    Organization,
    Site,
    User,
    UserSession,
    db,
    utcnow,
)
from app.permissions import can

ATTENTION_LIMIT = 15
TIMELINE_LIMIT = 20


def posture(org_id: int, user) -> list[tuple[Any, Any]]:
    """(registration, state) for every domain `user` may see that has something to show."""
    out = []
    for reg in ordered(POSTURE):
        if can(reg.permission, user):
            state = reg.func(org_id)
            if state is not None:
                out.append((reg, state))
    return out


def sees_domain(domain: str, user) -> bool:
    """Whether `user` may see items of this alert domain (an item of no alert domain: yes).
    The open-alerts block lists every domain's alerts; one the user may not open is neither
    shown nor linked (its title alone can name an attacker's address or a user)."""
    permission = DOMAIN_PERMISSIONS.get(domain)
    return permission is None or can(permission, user)


def attention(org_id: int, user, limit: int = ATTENTION_LIMIT) -> list[AttentionItem]:
    """One list across domains: most severe first, then newest."""
    items: list[AttentionItem] = []
    for reg in ordered(ATTENTION):
        if can(reg.permission, user):
            items += [i for i in reg.func(org_id, limit) if sees_domain(i.domain, user)]
    floor = utcnow() - timedelta(days=36500)
    return sorted(items, key=lambda i: (-i.rank, -(i.when or floor).timestamp()))[:limit]


def timeline(org_id: int, user, limit: int = TIMELINE_LIMIT) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    for reg in ordered(TIMELINE):
        if can(reg.permission, user):
            items += [i for i in reg.func(org_id, limit) if sees_domain(i.domain, user)]
    return sorted(items, key=lambda i: i.when, reverse=True)[:limit]


@dataclass
class OrgRow:
    org: Organization
    values: dict[str, Any]


def org_table() -> tuple[list[Any], list[OrgRow]]:
    """For a super admin: the registered columns, and one row per organization (each column
    is one grouped query over every organization)."""
    orgs = db.session.scalars(sa.select(Organization).where(Organization.deleted_at.is_(None))
                              .order_by(Organization.name)).all()
    columns = ordered(ORG_COLUMNS)
    values = {reg.name: reg.func() for reg in columns}
    return columns, [OrgRow(o, {name: found.get(o.id) for name, found in values.items()}) for o in orgs]


def users_per_org() -> dict[int, int]:
    return dict(db.session.execute(sa.select(User.org_id, sa.func.count(User.id)).where(User.deleted_at.is_(None))
                                   .group_by(User.org_id)).all())


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
                # An abandoned run (its worker died) failed as much as a failed one.
                JobRun.org_id == org_id, JobRun.status.in_(("failed", "abandoned")), JobRun.created_at > day_ago
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
