"""Incidents: list with filters, open (by hand, from threats/events or any linkable object), links to
objects of any domain, timeline with the linked objects' events, changes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app.models import IncidentLink, SecurityIncident, User, db, utcnow
from app.models.incidents import INCIDENT_SEVERITIES, INCIDENT_STATUSES, INCIDENT_TRANSITIONS
from app.pagination import page_arg
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.threats import incident_links, incidents
from app.threats.blueprint import bp
from app.threats.forms import AssignForm, CommentForm, IncidentForm, IncidentStatusForm, LinkForm


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
    rows = db.paginate(stmt.order_by(rank, SecurityIncident.due_at), page=page_arg(),
                       per_page=30, error_out=False)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_page("threats/incidents.html", block="incident_rows", rows=rows, filters=filters,
                       statuses=INCIDENT_STATUSES, severities=INCIDENT_SEVERITIES, now=utcnow())


@bp.route("/incidents/new", methods=["GET", "POST"])
@require("threats.manage")
def incident_new():
    """Open an incident by hand, or prefilled from threats, events or any linkable object (?link=alert:12)."""
    org_id = require_org_id()
    prefill = None
    if request.method != "POST":
        refs = _refs_or_empty(request.args.get("link", ""))
        prefill = {"threat_ids": request.args.get("threat_ids", ""), "event_ids": request.args.get("event_ids", ""),
                   "links": request.args.get("link", ""), "title": incident_links.title_of(org_id, refs) or ""}
        severity = incident_links.severity_of(org_id, refs)  # from an alert: the alert's severity
        if severity:
            prefill["severity"] = severity
    form = IncidentForm(people=org_people(), data=prefill)
    if form.validate_on_submit():
        refs = getattr(form, "refs", [])
        problem = incident_links.missing(org_id, refs)
        if problem:
            form.links.errors = [*form.links.errors, problem]
        else:
            try:
                incident = incidents.create(
                    org_id, current_user, title=form.title.data, severity=form.severity.data,
                    priority=form.priority.data, incident_type=form.incident_type.data,
                    description=form.description.data or None,
                    assigned_to_id=int(form.assigned_to.data) if form.assigned_to.data else None,
                    threat_ids=form.parsed("threat_ids"), event_ids=form.parsed("event_ids"),
                )
            except incidents.IncidentError as exc:
                form.threat_ids.errors = [*form.threat_ids.errors, str(exc)]
            else:
                incident_links.link_all(incident, current_user, refs)
                db.session.commit()
                flash("Incident opened.", "success")
                return redirect_after_post("threats.incident_detail", incident_id=incident.id)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("threats/incident_form.html", status=status, form=form)


def _refs_or_empty(text: str) -> list[tuple[str, str]]:
    try:
        return incident_links.parse_refs(text)
    except incidents.IncidentError:
        return []  # the form shows why when it is submitted


@bp.get("/incidents/<int:incident_id>")
@require("threats.view")
def incident_detail(incident_id: int):
    """One incident with its timeline, linked objects and their own events, and the forms to move it on."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    status_form = IncidentStatusForm(data={"status": incident.status})
    status_form.status.choices = [c for c in status_form.status.choices
                                  if c.value in (*INCIDENT_TRANSITIONS[incident.status], incident.status)]
    links = incident_links.links_of(incident)
    return render_page(
        "threats/incident_detail.html", block="timeline", incident=incident, timeline=incidents.timeline(incident),
        comment_form=CommentForm(), status_form=status_form, link_form=LinkForm(), links=links,
        linked_events=incident_links.linked_events(links), open_alerts=incident_links.linked_alerts(incident),
        assign_form=AssignForm(people=org_people(), data={"assigned_to": str(incident.assigned_to_id or "")}),
        now=utcnow(),
    )


@bp.post("/incidents/<int:incident_id>/links")
@require("threats.manage")
def incident_link(incident_id: int):
    """Link an object of any domain (type:id) to the incident; it must be this organization's."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(422, "Write type:id, e.g. alert:12.")
    try:
        refs = incident_links.parse_refs(form.ref.data)
        incident_links.link_all(incident, current_user, refs)
    except incidents.IncidentError as exc:
        abort(422, str(exc))
    db.session.commit()
    return redirect_after_post("threats.incident_detail", incident_id=incident.id)


@bp.post("/incidents/<int:incident_id>/links/<int:link_id>/delete")
@require("threats.manage")
def incident_unlink(incident_id: int, link_id: int):
    """Remove one linked object from the incident."""
    incident = get_scoped_or_404(SecurityIncident, incident_id)
    row = db.session.scalar(scoped(IncidentLink).where(IncidentLink.id == link_id,
                                                       IncidentLink.incident_id == incident.id))
    if row is None:
        abort(404)
    incident_links.unlink(incident, current_user, row)
    db.session.commit()
    return redirect_after_post("threats.incident_detail", incident_id=incident.id)


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
    note = (request.form.get("note") or "").strip() or None
    try:
        incidents.change_status(incident, current_user, new_status, note)
    except incidents.ResolutionRequired as exc:
        abort(422, str(exc))
    except incidents.IncidentError as exc:
        abort(409, str(exc))
    if new_status in ("resolved", "closed") and note and request.form.get("resolve_alerts"):
        incident_links.resolve_alerts(incident, current_user, note)
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
