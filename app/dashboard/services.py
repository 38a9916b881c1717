"""Counts shown on the dashboard, all scoped to one organization."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import (
    AuditLog,
    JobRun,
    LoginAttempt,
    Notification,
    Site,
    User,
    UserSession,
    db,
    utcnow,
)


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
