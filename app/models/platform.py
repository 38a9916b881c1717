"""Cross-domain platform tables: settings, the audit log and background job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import JSONType, db, utcnow

AUDIT_RESULTS = ("success", "failure", "partial", "denied")
ACTOR_TYPES = ("user", "agent", "job", "system")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "abandoned")
# abandoned: the worker running it died (its lease ran out); what it committed is kept.
JOB_FINAL = ("succeeded", "failed", "cancelled", "abandoned")


class Setting(db.Model):
    """Key/value configuration an admin can change at run time (seed 000 `settings`)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(sa.String(255))


class AuditLog(db.Model):
    """Append-only record of every state change (seeds 001, 002, 004 merged).

    Each row carries the SHA-256 of the previous row's hash plus its own content, so
    a changed or removed row breaks the chain; PostgreSQL also refuses UPDATE/DELETE.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_org_time", "org_id", "created_at"),
        sa.Index("ix_audit_log_org_newest", "org_id", "id"),  # the viewer's first page (migration 0037)
        sa.Index("ix_audit_log_action_time", "action", "created_at"),
        sa.Index("ix_audit_log_resource", "resource_type", "resource_id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    actor_type: Mapped[str] = mapped_column(sa.String(10), default="user")
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_label: Mapped[str | None] = mapped_column(sa.String(255))
    user_role: Mapped[str | None] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(100))
    resource_type: Mapped[str | None] = mapped_column(sa.String(50))
    resource_id: Mapped[str | None] = mapped_column(sa.String(100))
    old_values: Mapped[dict[str, Any] | None] = mapped_column()
    new_values: Mapped[dict[str, Any] | None] = mapped_column()
    details: Mapped[dict[str, Any] | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[str] = mapped_column(sa.String(10), default="success")
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    row_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class JobRun(db.Model):
    """One run of a background job, with live progress and its result or error."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.Index("ix_job_runs_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(100), index=True)
    org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="queued", index=True)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.String(500))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.Text)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    retry_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # Renewed by the worker while the run executes (app/jobs/lease.py); a running run past
    # it has lost its worker and is marked abandoned by jobs.recover.
    lease_expires_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_finished(self) -> bool:
        return self.status in JOB_FINAL
