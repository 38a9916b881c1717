"""Compliance pages: overview, assessment with inline status edits, control detail, CSV exports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, flash, make_response
from flask_login import current_user

from app.compliance import csf, evidence, services
from app.compliance.blueprint import bp
from app.compliance.forms import ControlForm, CsfLinkForm, StartForm, StatusForm, evidence_forms
from app.compliance.frameworks import FRAMEWORKS
from app.csvexport import to_csv
from app.htmx import hx_trigger, wants_fragment
from app.models import ComplianceAssessment, ComplianceControl, User, db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id

CONTROL_COLUMNS = ("control_id", "control_name", "control_category", "status", "assignee", "last_reviewed",
                   "next_review_date", "scan_source", "scan_finding_type", "scan_domain", "scan_flagged_at",
                   "scan_verified_at", "evidence_summary", "remediation_notes")


def _users(org_id: int) -> list[tuple[int, str]]:
    return [(u.id, u.email) for u in db.session.scalars(sa.select(User).where(
        User.org_id == org_id, User.deleted_at.is_(None)).order_by(User.email))]


def _chart(assessment_id: int) -> dict:
    rows = services.history(assessment_id)
    return {"labels": [r.taken_at.strftime("%Y-%m-%d %H:%M") for r in rows],
            "series": {"Score": [r.score for r in rows]}}


@bp.get("/")
@require("compliance.view")
def overview():
    """Frameworks side by side: each newest assessment's score and trend, and every assessment."""
    org_id = require_org_id()
    latest = services.latest_by_framework(org_id)
    trends = {fw: _chart(a.id) for fw, a in latest.items()}
    assessments = services.assessments(org_id)
    return render_page("compliance/overview.html", frameworks=FRAMEWORKS, latest=latest, trends=trends,
                       assessments=assessments, coverage=services.coverages([a.id for a in assessments]),
                       form=StartForm(), expiring=evidence.expiring(org_id))


@bp.post("/assessments")
@require("compliance.manage")
def assessment_start():
    """Start an assessment of a framework with every control not tested."""
    org_id = require_org_id()
    form = StartForm()
    if not form.validate_on_submit():
        return render_page("compliance/overview.html", status=INVALID_FORM_STATUS, frameworks=FRAMEWORKS,
                           latest={}, trends={}, assessments=services.assessments(org_id), coverage={}, form=form,
                           expiring=[])
    try:
        assessment = services.start_assessment(org_id, form.framework.data, current_user.id)
    except services.ComplianceError as exc:
        db.session.rollback()
        form.framework.errors = [str(exc)]
        return render_page("compliance/overview.html", status=INVALID_FORM_STATUS, frameworks=FRAMEWORKS,
                           latest={}, trends={}, assessments=services.assessments(org_id), coverage={}, form=form,
                           expiring=[])
    db.session.commit()
    flash(f"{FRAMEWORKS[assessment.framework][0]} assessment started.", "success")
    return redirect_after_post("compliance.assessment_detail", assessment_id=assessment.id)


@bp.get("/assessments/<int:assessment_id>")
@require("compliance.view")
def assessment_detail(assessment_id: int):
    """Controls by category with their status (editable inline), scores per category and the history chart."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    return render_page("compliance/assessment.html", a=assessment, grouped=services.controls_by_category(assessment),
                       category_scores=services.category_scores(assessment), chart=_chart(assessment.id),
                       coverage=services.coverage(assessment), category_coverage=services.category_coverage(assessment),
                       label=FRAMEWORKS[assessment.framework][0])


@bp.get("/assessments/<int:assessment_id>/controls.csv")
@require("compliance.view")
def assessment_export(assessment_id: int):
    """The assessment's controls as CSV."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    users = dict(_users(assessment.org_id))
    rows = [{**{k: getattr(c, k) for k in CONTROL_COLUMNS if k != "assignee"},
             "assignee": users.get(c.assigned_to_user_id, "")} for c in services.live_controls(assessment.id)]
    return Response(to_csv(rows, CONTROL_COLUMNS), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{assessment.framework.lower()}-{assessment.id}-controls.csv"'})


@bp.get("/assessments.csv")
@require("compliance.view")
def assessments_export():
    """Every assessment of the organization with its score, as CSV."""
    org_id = require_org_id()
    columns = ("id", "framework", "framework_version", "status", "overall_compliance_score", "controls_not_tested",
               "controls_total", "assessment_date", "expiry_date")
    assessments = services.assessments(org_id)
    coverage = services.coverages([a.id for a in assessments])
    rows = [{**{k: getattr(a, k) for k in columns if not k.startswith("controls_")},
             "controls_not_tested": coverage[a.id].not_tested if a.id in coverage else 0,
             "controls_total": coverage[a.id].total if a.id in coverage else 0} for a in assessments]
    return Response(to_csv(rows, columns), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="compliance-assessments.csv"'})


@bp.post("/controls/<int:control_id>/status")
@require("compliance.manage")
def control_status(control_id: int):
    """Change a control's status inline; the row comes back and the scores refresh themselves."""
    control = get_scoped_or_404(ComplianceControl, control_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _row(control, INVALID_FORM_STATUS, row_error="Choose a valid status.")
    services.update_control(control, {"status": form.status.data})
    db.session.commit()
    if wants_fragment():
        return hx_trigger(_row(control), "compliance-control-updated")
    return redirect_after_post("compliance.assessment_detail", assessment_id=control.assessment_id)


def _row(control: ComplianceControl, status: int = 200, row_error: str | None = None):
    response = render_page("compliance/assessment.html", block="control_row", status=status, c=control,
                           row_error=row_error, a=control.assessment, grouped={}, category_scores={},
                           chart={}, label="")
    return make_response(response)


@bp.get("/assessments/<int:assessment_id>/scores")
@require("compliance.view")
def assessment_scores(assessment_id: int):
    """The score panel alone (refreshed after an inline edit)."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    return render_page("compliance/assessment.html", block="scores", a=assessment, grouped={},
                       category_scores=services.category_scores(assessment), chart=_chart(assessment.id),
                       coverage=services.coverage(assessment), category_coverage=services.category_coverage(assessment),
                       label="")


def control_page(control: ComplianceControl, form: ControlForm | None = None, csf_form: CsfLinkForm | None = None,
                 status: int = 200, forms: tuple | None = None):
    """The control page (also re-rendered with a refused form's errors)."""
    upload_form, link_form = forms or evidence_forms()
    sharing = csf.controls_sharing(control)
    return render_page("compliance/control.html", status=status, c=control,
                       form=form or ControlForm(obj=control, users=_users(control.org_id),
                                                assigned_to_user_id=str(control.assigned_to_user_id or "")),
                       csf_form=csf_form or CsfLinkForm(), links=csf.links(control.id),
                       suggestions=csf.suggestions(control), sharing=sharing,
                       shared_evidence=evidence.shared_with(control),
                       evidence=evidence.of_control(control.id), upload_form=upload_form, link_form=link_form)


@bp.get("/controls/<int:control_id>")
@require("compliance.view")
def control_detail(control_id: int):
    """A control: status and owner, evidence, the scan finding that flagged it, its CSF subcategories."""
    return control_page(get_scoped_or_404(ComplianceControl, control_id))


@bp.post("/controls/<int:control_id>")
@require("compliance.manage")
def control_update(control_id: int):
    """Save a control's status, assignee, review date and remediation notes."""
    control = get_scoped_or_404(ComplianceControl, control_id)
    form = ControlForm(users=_users(control.org_id))
    if not form.validate_on_submit():
        return control_page(control, form=form, status=INVALID_FORM_STATUS)
    services.update_control(control, {
        "status": form.status.data, "assigned_to_user_id": form.assignee(),
        "remediation_notes": form.remediation_notes.data or None,
        "next_review_date": services.as_datetime(form.next_review_date.data)})
    db.session.commit()
    flash("Control saved.", "success")
    return redirect_after_post("compliance.control_detail", control_id=control.id)


@bp.post("/controls/<int:control_id>/csf")
@require("compliance.manage")
def control_csf_link(control_id: int):
    """Confirm a CSF 2.0 subcategory for the control (a suggestion, or a code typed by the person)."""
    control = get_scoped_or_404(ComplianceControl, control_id)
    form = CsfLinkForm()
    if not form.validate_on_submit():
        return control_page(control, csf_form=form, status=INVALID_FORM_STATUS)
    if evidence.confirm_csf_link(control, form.subcategory_code.data.strip(), current_user.id):
        db.session.commit()
        flash("Subcategory linked.", "success")
    return redirect_after_post("compliance.control_detail", control_id=control.id)


@bp.post("/assessments/<int:assessment_id>/complete")
@require("compliance.manage")
def assessment_complete(assessment_id: int):
    """Mark the assessment completed (its score is kept as it stands; it stays editable)."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    services.complete(assessment)
    db.session.commit()
    flash("Assessment marked completed.", "success")
    return redirect_after_post("compliance.assessment_detail", assessment_id=assessment.id)
