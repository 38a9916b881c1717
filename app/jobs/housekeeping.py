"""Housekeeping that keeps the platform tables from growing without bound (`platform.prune`)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.jobs.registry import job
from app.models import JobRun, LoginAttempt, Notification, UserSession, db, utcnow


@job("platform.prune", title="Prune expired sessions and old records", queue="low")
def prune(ctx, **_params) -> dict:
    """Delete ended sessions, old login attempts, old finished job runs and old read notifications."""
    now = utcnow()
    counts = {}
    counts["sessions"] = db.session.execute(
        sa.delete(UserSession).where(
            sa.or_(UserSession.expires_at < now - timedelta(days=30),
                   UserSession.revoked_at < now - timedelta(days=30))
        )
    ).rowcount
    ctx.progress(25, "sessions pruned")
    counts["login_attempts"] = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - timedelta(days=180))
    ).rowcount
    ctx.progress(50, "login attempts pruned")
    counts["job_runs"] = db.session.execute(
        sa.delete(JobRun).where(
            JobRun.id != ctx.run_id,
            sa.or_(
                JobRun.finished_at < now - timedelta(days=90),
                # Periodic housekeeping runs (no organization) are kept for a week.
                sa.and_(JobRun.org_id.is_(None), JobRun.finished_at < now - timedelta(days=7)),
            ),
        )
    ).rowcount
    ctx.progress(75, "job runs pruned")
    counts["notifications"] = db.session.execute(
        sa.delete(Notification).where(Notification.read_at < now - timedelta(days=90))
    ).rowcount
    return {"message": "Pruned " + ", ".join(f"{v} {k}" for k, v in counts.items()), **counts}
