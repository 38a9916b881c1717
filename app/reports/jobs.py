"""Report jobs: generate one report, queue due schedules, prune old reports."""

from __future__ import annotations

from app import audit
from app.jobs import job
from app.jobs.runner import JobError
from app.mailer import MailError
from app.models import db
from app.reports import schedules, services


@job("reports.generate", title="Generate a report", queue="default", timeout=900)
def generate_report(ctx, report_id: int, **_: object) -> dict:
    """Build, render and store one report; a scheduled one is then e-mailed."""
    report = services.generate(report_id, progress=ctx.progress)
    result = {"report_id": report.id, "files": sorted(report.files)}
    if report.schedule_id:
        # Stored first: the mail is network I/O and a failure to send must not lose the report.
        db.session.commit()
        try:
            result["mailed_to"] = schedules.mail_report(report)
        except MailError as exc:
            audit.record("report.mail", resource_type="report", resource_id=report.id, org_id=report.org_id,
                         actor_type="system", actor_label="reports", result="failure", error=str(exc)[:300])
            db.session.commit()
            raise JobError("The report was generated but could not be e-mailed.", saved="the report") from exc
        audit.record("report.mail", resource_type="report", resource_id=report.id, org_id=report.org_id,
                     actor_type="system", actor_label="reports", details={"recipients": result["mailed_to"]})
    return result


@job("reports.run_schedules", title="Queue scheduled reports", queue="low", timeout=300)
def run_schedules(ctx, **_: object) -> dict:
    """Queue a report for every schedule that is due."""
    return {"queued": [r.id for r in schedules.run_due()]}


@job("reports.prune", title="Delete reports past retention", queue="low", timeout=600)
def prune_reports(ctx, **_: object) -> dict:
    """Delete reports older than the retention setting."""
    return {"deleted": services.prune()}
