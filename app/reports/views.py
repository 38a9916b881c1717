"""The Reports page: generated reports, the generate form, schedules, downloads."""

from __future__ import annotations

from flask import Response, abort, flash
from flask_login import current_user

from app import audit
from app.models import Report, ReportSchedule, db
from app.notifications.routing import policy_of
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.reports import schedules, services
from app.reports.blueprint import bp
from app.reports.forms import GenerateForm, ScheduleForm
from app.reports.registry import get_type, report_types
from app.tenancy import get_scoped_or_404, require_org_id


def _allowed_kinds() -> list[tuple[str, str]]:
    return [(r.name, r.title) for r in report_types() if can(r.permission)]


def _org_zone(org_id: int) -> str:
    """The organization's time zone: the one its notification policy (quiet hours, digest) uses."""
    policy = policy_of(org_id)
    return policy.timezone if policy else "UTC"


def _page(gen: GenerateForm | None = None, sched: ScheduleForm | None = None, status: int = 200):
    org_id = require_org_id()
    kinds = _allowed_kinds()
    allowed = {name for name, _ in kinds}
    reports = [r for r in services.visible_reports(org_id) if r.kind in allowed]
    shown = services.shown_statuses(reports)
    return render_page("reports/index.html", block="report_table", status=status, reports=reports, shown=shown,
                       pending=any(v in ("queued", "running") for v in shown.values()),
                       schedules=schedules.org_schedules(org_id), gen=gen or GenerateForm(kinds),
                       sched=sched or ScheduleForm(kinds, data={"timezone": _org_zone(org_id)}),
                       retention_days=services.retention_days(), types={r.name: r for r in report_types()})


@bp.get("/")
@require("reports.view")
def index():
    """Generated reports of this organization and the forms to make more."""
    return _page()


@bp.post("/generate")
@require("reports.generate")
def generate():
    """Queue one report for the chosen period."""
    form = GenerateForm(_allowed_kinds())
    if not form.validate_on_submit():
        return _page(gen=form, status=INVALID_FORM_STATUS)
    params = {"month": (form.month.data or "").strip() or None, "subject": (form.subject.data or "").strip() or None}
    services.request_report(require_org_id(), form.kind.data, user_id=current_user.id, params=params)
    db.session.commit()
    flash("The report is being generated; it appears below when ready.", "success")
    return redirect_after_post("reports.index")


@bp.post("/schedules")
@require("reports.schedule")
def schedule_create():
    """Schedule a report to be generated and e-mailed weekly or monthly."""
    form = ScheduleForm(_allowed_kinds())
    if not form.validate_on_submit():
        return _page(sched=form, status=INVALID_FORM_STATUS)
    schedules.create(require_org_id(), kind=form.kind.data, frequency=form.frequency.data, hour=form.hour.data,
                     timezone=form.timezone.data.strip(), recipients=form.recipient_list, user_id=current_user.id)
    db.session.commit()
    flash("Schedule saved.", "success")
    return redirect_after_post("reports.index")


@bp.post("/schedules/<int:schedule_id>/delete")
@require("reports.schedule")
def schedule_delete(schedule_id: int):
    """Stop a scheduled report."""
    schedules.delete(get_scoped_or_404(ReportSchedule, schedule_id))
    db.session.commit()
    flash("Schedule deleted.", "success")
    return redirect_after_post("reports.index")


@bp.get("/<int:report_id>/files/<name>")
@require("reports.view")
def download(report_id: int, name: str):
    """One file of a report (PDF or CSV), checked against its SHA-256; every download is audited."""
    report = get_scoped_or_404(Report, report_id)
    rtype = get_type(report.kind)
    if rtype is None or not can(rtype.permission):
        abort(404)
    try:
        data = services.open_file(report, name)
    except services.ReportFileError:
        abort(404)
    audit.record("report.download", resource_type="report", resource_id=report.id, org_id=report.org_id,
                 details={"file": name, "sha256": report.files[name]["sha256"]})
    db.session.commit()
    mimetype = "application/pdf" if name.endswith(".pdf") else "text/csv"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="vigil-report-{report.id}-{name}"',
        "X-Content-SHA256": report.files[name]["sha256"],
    })
