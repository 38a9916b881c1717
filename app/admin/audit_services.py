"""Queries behind the audit viewer."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app.models import AuditLog, JobRun, db
from app.models.base import UTC


def filtered(org_id: int, *, actor: str | None, action: str | None, resource: str | None,
             date_from, date_to) -> sa.Select:
    stmt = sa.select(AuditLog).where(AuditLog.org_id == org_id)
    if actor:
        stmt = stmt.where(AuditLog.actor_label.ilike(f"%{actor}%"))
    if action:
        stmt = stmt.where(AuditLog.action.ilike(f"{action}%"))
    if resource:
        kind, _, ident = resource.partition(":")
        stmt = stmt.where(AuditLog.resource_type == kind.strip())
        if ident.strip():
            stmt = stmt.where(AuditLog.resource_id == ident.strip())
    if date_from:
        stmt = stmt.where(AuditLog.created_at >= datetime.combine(date_from, time.min, UTC))
    if date_to:
        stmt = stmt.where(AuditLog.created_at < datetime.combine(date_to + timedelta(days=1), time.min, UTC))
    return stmt.order_by(AuditLog.id.desc())


def last_verification(org_id: int) -> JobRun | None:
    return db.session.scalar(
        sa.select(JobRun)
        .where(JobRun.kind == "audit.verify", sa.or_(JobRun.org_id == org_id, JobRun.org_id.is_(None)))
        .order_by(JobRun.id.desc())
        .limit(1)
    )
