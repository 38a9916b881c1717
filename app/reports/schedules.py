"""Scheduled reports: weekly or monthly, at an hour of the organization's time zone,
e-mailed as PDF attachments to the chosen recipients.

The `reports.run_schedules` periodic job (app/jobs/schedule.py) asks `has_due_schedules`
and then queues one report per due schedule; the report's job mails it once stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter

from app import audit, mailer
from app.models import Report, ReportSchedule, db, utcnow
from app.reports import services


def cron_for(frequency: str, hour: int) -> str:
    """Weekly: Mondays; monthly: the 1st (each covers the period just ended)."""
    return f"0 {hour} * * 1" if frequency == "weekly" else f"0 {hour} 1 * *"


def next_run(frequency: str, hour: int, timezone: str, after: datetime) -> datetime:
    """The next run after `after`, computed in the schedule's zone (07:00 stays 07:00 across DST)."""
    local = after.astimezone(ZoneInfo(timezone))
    return croniter(cron_for(frequency, hour), local).get_next(datetime).astimezone(UTC)


def create(org_id: int, *, kind: str, frequency: str, hour: int, timezone: str, recipients: list[str],
           user_id: int | None) -> ReportSchedule:
    schedule = ReportSchedule(org_id=org_id, kind=kind, frequency=frequency, hour=hour, timezone=timezone,
                              recipients=recipients, created_by_id=user_id,
                              next_run_at=next_run(frequency, hour, timezone, utcnow()))
    db.session.add(schedule)
    db.session.flush()
    audit.record("report_schedule.create", resource_type="report_schedule", resource_id=schedule.id, org_id=org_id,
                 new={"kind": kind, "frequency": frequency, "hour": hour, "timezone": timezone,
                      "recipients": recipients})
    return schedule


def delete(schedule: ReportSchedule) -> None:
    audit.record("report_schedule.delete", resource_type="report_schedule", resource_id=schedule.id,
                 org_id=schedule.org_id, old={"kind": schedule.kind, "recipients": schedule.recipients})
    db.session.delete(schedule)


def org_schedules(org_id: int) -> list[ReportSchedule]:
    return list(db.session.scalars(sa.select(ReportSchedule).where(ReportSchedule.org_id == org_id)
                                   .order_by(ReportSchedule.id)))


def has_due_schedules() -> bool:
    return db.session.scalar(sa.select(ReportSchedule.id).where(
        ReportSchedule.enabled.is_(True), ReportSchedule.next_run_at <= utcnow()).limit(1)) is not None


def run_due(now: datetime | None = None) -> list[Report]:
    """Queue a report for every due schedule and move each schedule to its next run."""
    now = now or utcnow()
    due = list(db.session.scalars(sa.select(ReportSchedule).where(
        ReportSchedule.enabled.is_(True), ReportSchedule.next_run_at <= now).with_for_update(skip_locked=True)))
    queued = []
    for schedule in due:
        params = ({"days": 7, "until": now.isoformat()} if schedule.frequency == "weekly"
                  else {"month": None})
        queued.append(services.request_report(schedule.org_id, schedule.kind, user_id=None, params=params,
                                              schedule_id=schedule.id))
        schedule.last_run_at = now
        schedule.next_run_at = next_run(schedule.frequency, schedule.hour, schedule.timezone, now)
    return queued


def mail_report(report: Report) -> int:
    """E-mail a ready scheduled report's PDF to its schedule's recipients; returns how many."""
    schedule = db.session.get(ReportSchedule, report.schedule_id) if report.schedule_id else None
    if schedule is None or not schedule.recipients:
        return 0
    settings = mailer.system_settings()
    if settings is None:
        raise mailer.MailError("Vigil's own e-mail is not configured (VIGIL_SMTP_HOST)")
    pdf = services.open_file(report, services.PDF_NAME)
    msg = EmailMessage()
    msg["Subject"] = mailer.one_line(report.title)[:250]
    msg["From"] = settings.sender
    msg["To"] = ", ".join(schedule.recipients)
    msg.set_content(f"{report.title}\n\nThe report is attached as a PDF. SHA-256: "
                    f"{report.files[services.PDF_NAME]['sha256']}\n")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"vigil-report-{report.id}.pdf")
    mailer.send(settings, msg)
    return len(schedule.recipients)
