"""Incidents: list with filters, open (by hand or from threats/events), timeline, changes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app.models import SecurityIncident, User, db, utcnow
from app.models.incidents import INCIDENT_SEVERITIES, INCIDENT_STATUSES, INCIDENT_TRANSITIONS
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.threats import bp, incidents
from app.threats.forms import AssignForm, CommentForm, IncidentForm, IncidentStatusForm


def org_people() -> list[User]:
    return db.session.scalars(scoped(User).where(User.status == "active").order_by(User.email)).all()


@bp.get("/incidents")
@require("threats.view")
def incident_list():
    """Incidents with filters (status, severity, assignee, overdue)."""
    stmt = scoped(SecurityIncident)
    status, severity = request.args.get("status") or None, request.args.get("severity") or None
    if status and status not in INCIDENT_STATUSES or severity and severity not in INCIDENT_SEVERITIES:
        abort(400, "Unknown filter value.")
    if status:
        stmt = stmt.where(SecurityIncident.status == status)
    if severity:
        stmt = stmt.where(SecurityIncident.severity == severity)
    if request.args.get("mine"):
        stmt = stmt.where(SecurityIncident.assigned_to_id == current_user.id)
    if request.args.get("overdue"):
        stmt = stmt.where(SecurityIncident.status.in_(("open", "investigating")), SecurityIncident.due_at < utcnow())
    rank = sa.case({"critical": 0, "high": 1, "medium": 2, "low": 3}, value=SecurityIncident.severity)
    rows = db.paginate(stmt.order_by(rank, SecurityIncident.due_at), page=request.args.get("page", 1, type=int),
                       per_page=30, error_out=False)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_page("threats/incidents.html", block="incident_rows", rows=rows, filters=filters,
                       statuses=INCIDENT_STATUSES, severities=INCIDENT_SEVERITIES, now=utcnow())


@bp.route("/incidents/new", methods=["GET", "POST"])
@require("threats.manage")
def incident_new():
    """Open an incident by hand, or prefilled from threats (?threat_ids=) and events (?event_ids=)."""
    form = IncidentForm(people=org_people(), data=None if request.method == "POST" else {
        "threat_ids": request.args.get("threat_ids", ""), "event_ids": request.args.get("event_ids", "")})
    if form.validate_on_submit():
        try:
            incident = incidents.create(
                require_org_id(), current_user, title=form.title.data, severity=form.severity.data,
                priority=form.priority.data, incident_type=form.incident_type.data,
                description=form.description.data or None,
                assigned_to_id=int(form.assigned_to.data) if form.assigned_to.data else None,
                threat_ids=form.parsed("threat_ids"), event_ids=form.parsed("event_ids"),
            )
        except incidents.IncidentError as exc:
            form.threat_ids.errors = [*form.threat_ids.errors, str(exc)]
        else:
            db.session.commit()
            flash("Incident opened.", "success")
            return redirect_after_post("threats.incident_detail", incident_id=incident.id)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("threats/incident_form.html", status=status, form=form)


@bp.get("/incidents/<int:incident_id>")
@require("threats.view")
def incident_detail(incident_id: int):
    """One incident with its timeline, links and the forms to move it on."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    status_form = IncidentStatusForm(data={"status": incident.status})
    status_form.status.choices = [c for c in status_form.status.choices
                                  if c.value in (*INCIDENT_TRANSITIONS[incident.status], incident.status)]
    return render_page(
        "threats/incident_detail.html", block="timeline", incident=incident, timeline=incidents.timeline(incident),
        comment_form=CommentForm(), status_form=status_form,
        assign_form=AssignForm(people=org_people(), data={"assigned_to": str(incident.assigned_to_id or "")}),
        now=utcnow(),
    )


@bp.post("/incidents/<int:incident_id>/comment")
@require("threats.manage")
def incident_comment(incident_id: int):
    """Add a comment to the timeline."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    form = CommentForm()
    if not form.validate_on_submit():
        abort(422, "Write a comment first.")
    incidents.comment(incident, current_user, form.body.data)
    db.session.commit()
    return redirect_after_post("threats.incident_detail", incident_id=incident.id)


@bp.post("/incidents/<int:incident_id>/status")
@require("threats.manage")
def incident_status(incident_id: int):
    """Move the incident to another status (only the allowed transitions)."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    new_status = request.form.get("status", "")
    if new_status not in INCIDENT_STATUSES:
        abort(400, "Unknown status.")
    try:
        incidents.change_status(incident, current_user, new_status, request.form.get("note") or None)
    except incidents.IncidentError as exc:
        abort(409, str(exc))
    db.session.commit()
    return redirect_after_post("threats.incident_detail", incident_id=incident.id)


@bp.post("/incidents/<int:incident_id>/assign")
@require("threats.manage")
def incident_assign(incident_id: int):
    """Assign the incident to someone of the organization (or nobody)."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    raw = request.form.get("assigned_to", "")
    assignee = None
    if raw:
        if not raw.isdigit():
            abort(400, "Choose a person.")
        assignee = db.session.scalar(scoped(User).where(User.id == int(raw)))
        if assignee is None:
            abort(404)
    try:
        incidents.assign(incident, current_user, assignee)
    except incidents.IncidentError as exc:
        abort(409, str(exc))
    db.session.commit()
    return redirect_after_post("threats.incident_detail", incident_id=incident.id)
