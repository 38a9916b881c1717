"""Reports (issue 17): generated report files, their schedules, and Vigil's own backups
with their restore tests.

A report's files live under instance/reports/<org>/<id>/; the row keeps their names and
SHA-256 so a download can prove it is the file that was generated. Backups are
platform-level (no org): one archive holds every organization's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow

REPORT_STATUSES = ("queued", "running", "ready", "failed")
SCHEDULE_FREQUENCIES = ("weekly", "monthly")


class Report(OrgOwnedMixin, db.Model):
    """One generated report: a PDF plus one CSV per named table."""

    __tablename__ = "reports"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'ready', 'failed')", name="status"),
        sa.Index("ix_reports_org_created", "org_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"report.pdf": {"sha256": ..., "size": ...}, "alerts.csv": {...}}
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    schedule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("report_schedules.id", ondelete="SET NULL"))
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class ReportSchedule(OrgOwnedMixin, TimestampMixin, db.Model):
    """A report generated weekly or monthly in the organization's time zone and e-mailed."""

    __tablename__ = "report_schedules"
    __table_args__ = (sa.CheckConstraint("frequency IN ('weekly', 'monthly')", name="frequency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    frequency: Mapped[str] = mapped_column(sa.String(10))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    hour: Mapped[int] = mapped_column(default=7)
    recipients: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class VigilBackup(db.Model):
    """One archive of Vigil itself (database + instance files) and what its checks found."""

    __tablename__ = "vigil_backups"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(300), unique=True)
    location: Mapped[str] = mapped_column(sa.String(1000))
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    encrypted: Mapped[bool] = mapped_column(default=False)
    migration_head: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), default="ok")  # ok, failed, pruned
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BackupRestoreTest(db.Model):
    """The result of restoring one archive into a scratch database and verifying it."""

    __tablename__ = "backup_restore_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    backup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vigil_backups.id", ondelete="SET NULL"))
    ok: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(sa.String(1000), default="")
    row_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    audit_rows_checked: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
