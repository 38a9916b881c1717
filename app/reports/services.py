"""Reports: request, generate, store, list, download, prune.

Files live under instance/reports/<org>/<report id>/ (report.pdf plus one CSV per table);
the row keeps each file's SHA-256 and size, and a download re-checks the hash so a file
changed on disk is never served as the report.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.jobs import enqueue
from app.models import JobRun, Organization, Report, db, utcnow
from app.reports import render
from app.reports.registry import Period, ReportType, get_type

PDF_NAME = "report.pdf"
DEFAULT_RETENTION_DAYS = 180


class ReportFileError(Exception):
    """A stored report file is missing or no longer matches its recorded SHA-256."""


def reports_root() -> Path:
    return Path(current_app.instance_path) / "reports"


def report_dir(report: Report) -> Path:
    return reports_root() / str(report.org_id) / str(report.id)


def retention_days() -> int:
    """Days a generated report is kept (VIGIL_REPORT_RETENTION_DAYS, default 180)."""
    configured = current_app.config.get("REPORT_RETENTION_DAYS") or os.environ.get("VIGIL_REPORT_RETENTION_DAYS")
    return int(configured) if configured else DEFAULT_RETENTION_DAYS


def month_period(month: str | None, now: datetime | None = None) -> Period:
    """The calendar month "YYYY-MM" (UTC), or the last full month when none is given."""
    now = now or utcnow()
    if month:
        year, mon = (int(part) for part in month.split("-"))
    else:
        year, mon = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end, f"{calendar.month_name[mon]} {year}")


def days_period(days: int, now: datetime | None = None) -> Period:
    end = now or utcnow()
    start = end - timedelta(days=days)
    return Period(start, end, f"{start:%d %b %Y} - {end:%d %b %Y}")


def period_of(report: Report) -> Period:
    params = report.params or {}
    if params.get("days"):
        return days_period(int(params["days"]), datetime.fromisoformat(params["until"]))
    return month_period(params.get("month"))


def request_report(org_id: int, kind: str, *, user_id: int | None, params: dict[str, Any],
                   schedule_id: int | None = None) -> Report:
    """Record a queued report and its job run (pushed after commit); audited."""
    rtype = get_type(kind)
    if rtype is None:
        raise KeyError(kind)
    report = Report(org_id=org_id, kind=kind, title=rtype.title, params=params, status="queued",
                    requested_by_id=user_id, schedule_id=schedule_id)
    db.session.add(report)
    db.session.flush()
    run = enqueue("reports.generate", org_id=org_id, requested_by_id=user_id, report_id=report.id)
    report.job_run_id = run.id
    audit.record("report.generate", resource_type="report", resource_id=report.id, org_id=org_id,
                 new={"kind": kind, "params": params, "schedule_id": schedule_id},
                 **({} if user_id else {"actor_type": "system", "actor_label": "reports"}))
    return report


def generate(report_id: int, progress=None) -> Report:
    """Build, render and store one report; the caller (the job) commits."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise LookupError(f"report {report_id} does not exist")
    rtype: ReportType | None = get_type(report.kind)
    if rtype is None:
        raise LookupError(f"report type {report.kind!r} is not registered")
    tick = progress or (lambda percent, message="": None)
    report.status = "running"
    org = db.session.get(Organization, report.org_id)
    period = period_of(report)
    tick(10, "Collecting data")
    content = rtype.builder(report.org_id, period, report.params or {})
    tick(50, "Rendering the PDF")
    html = render.render_html(content, title=rtype.title, org_name=org.name if org else "", period=period)
    pdf = render.render_pdf(html)
    tick(85, "Storing files")
    files = {PDF_NAME: pdf} | {f"{name}.csv": render.table_csv(t) for name, t in content.tables.items()}
    target = report_dir(report)
    target.mkdir(parents=True, exist_ok=True)
    recorded = {}
    for name, data in files.items():
        (target / name).write_bytes(data)
        recorded[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    report.files = recorded
    report.title = f"{rtype.title}: {period.label}"
    report.status = "ready"
    report.finished_at = utcnow()
    tick(100, "Ready")
    return report


def visible_reports(org_id: int, limit: int = 200) -> list[Report]:
    return list(db.session.scalars(
        sa.select(Report).where(Report.org_id == org_id).order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)))


def shown_statuses(reports: list[Report]) -> dict[int, str]:
    """Each report's status as the page shows it: a report whose job failed, was cancelled or
    was abandoned is "failed" (the job's rollback left the row as it was queued)."""
    ids = [r.job_run_id for r in reports if r.job_run_id and r.status in ("queued", "running")]
    runs = dict(db.session.execute(sa.select(JobRun.id, JobRun.status).where(JobRun.id.in_(ids))).all()) if ids else {}
    return {r.id: "failed" if runs.get(r.job_run_id) in ("failed", "cancelled", "abandoned") else r.status
            for r in reports}


def open_file(report: Report, name: str) -> bytes:
    """The stored file's bytes, checked against the SHA-256 recorded when it was generated."""
    meta = (report.files or {}).get(name)
    if meta is None or report.status != "ready":
        raise ReportFileError("no such file in this report")
    path = report_dir(report) / name
    if not path.is_file():
        raise ReportFileError("the file is no longer on disk")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise ReportFileError("the file on disk does not match its recorded SHA-256")
    return data


def prune(now: datetime | None = None) -> int:
    """Delete reports older than the retention setting (rows and files); audited per org."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days())
    old = list(db.session.scalars(sa.select(Report).where(Report.created_at < cutoff)))
    by_org: dict[int, list[int]] = {}
    for report in old:
        shutil.rmtree(report_dir(report), ignore_errors=True)
        by_org.setdefault(report.org_id, []).append(report.id)
        db.session.delete(report)
    for org_id, ids in by_org.items():
        audit.record("report.prune", resource_type="report", org_id=org_id, actor_type="system",
                     actor_label="reports", details={"deleted": ids, "retention_days": retention_days()})
    return len(old)


def has_old_reports() -> bool:
    cutoff = utcnow() - timedelta(days=retention_days())
    return db.session.scalar(sa.select(Report.id).where(Report.created_at < cutoff).limit(1)) is not None
