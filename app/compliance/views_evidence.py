"""Evidence pages: upload, link a Vigil record, download (permitted users only), expiring soon."""

from __future__ import annotations

import hashlib

from flask import Response, abort, flash, send_file
from flask_login import current_user

from app import audit
from app.compliance import evidence, pack, pdf, services
from app.compliance.blueprint import bp
from app.compliance.forms import evidence_forms
from app.compliance.views import control_page
from app.csvexport import to_csv
from app.jobs import enqueue
from app.models import ComplianceAssessment, ComplianceControl, ComplianceEvidence, db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id


@bp.post("/controls/<int:control_id>/evidence")
@require("compliance.manage")
def evidence_upload(control_id: int):
    """Attach a file as evidence (type sniffed from its bytes, size limited, hashed)."""
    control = get_scoped_or_404(ComplianceControl, control_id)
    upload_form, link_form = evidence_forms()
    if not upload_form.validate_on_submit():
        return control_page(control, status=INVALID_FORM_STATUS, forms=(upload_form, link_form))
    upload = upload_form.file.data
    try:
        evidence.save_upload(control, upload.stream, upload.filename or "evidence", upload_form.title.data or "",
                             current_user.id, services.as_datetime(upload_form.evidence_date.data),
                             upload_form.validity_days.data or 90)
    except evidence.EvidenceError as exc:
        db.session.rollback()
        upload_form.file.errors = [str(exc)]
        return control_page(control, status=exc.status, forms=(upload_form, link_form))
    db.session.commit()
    flash("Evidence attached.", "success")
    return redirect_after_post("compliance.control_detail", control_id=control.id)


@bp.post("/controls/<int:control_id>/evidence/link")
@require("compliance.manage")
def evidence_link(control_id: int):
    """Link one of the organization's Vigil records (incident, alert, device...) as evidence."""
    control = get_scoped_or_404(ComplianceControl, control_id)
    upload_form, link_form = evidence_forms()
    if not link_form.validate_on_submit():
        return control_page(control, status=INVALID_FORM_STATUS, forms=(upload_form, link_form))
    try:
        evidence.add_link(control, link_form.link_type.data, link_form.link_id.data.strip(),
                          link_form.title.data or "", current_user.id, link_form.validity_days.data or 90)
    except evidence.EvidenceError as exc:
        db.session.rollback()
        link_form.link_id.errors = [str(exc)]
        return control_page(control, status=INVALID_FORM_STATUS, forms=(upload_form, link_form))
    db.session.commit()
    flash("Record linked as evidence.", "success")
    return redirect_after_post("compliance.control_detail", control_id=control.id)


@bp.get("/evidence/<int:evidence_id>/file")
@require("compliance.evidence")
def evidence_file(evidence_id: int):
    """Download an evidence file (never rendered inline)."""
    row = get_scoped_or_404(ComplianceEvidence, evidence_id)
    path = evidence.file_of(row)
    if path is None:
        abort(404)
    response = send_file(path, mimetype=row.file_type, as_attachment=True,
                         download_name=row.description or f"evidence-{row.id}", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/evidence/expiring")
@require("compliance.view")
def evidence_expiring():
    """Evidence that lapses in the next 14 days, soonest first."""
    return render_page("compliance/expiring.html", rows=evidence.expiring(require_org_id()))


@bp.get("/evidence/expiring.csv")
@require("compliance.view")
def evidence_expiring_export():
    """Evidence expiring soon, as CSV."""
    columns = ("id", "control_id", "title", "evidence_type", "evidence_date", "valid_until", "sha256")
    rows = [{k: getattr(r, k) for k in columns} for r in evidence.expiring(require_org_id())]
    return Response(to_csv(rows, columns), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="evidence-expiring.csv"'})


@bp.get("/assessments/<int:assessment_id>/auditor-pack.zip")
@require("compliance.evidence")
def auditor_pack(assessment_id: int):
    """The assessment's auditor pack: controls, evidence files, snapshots and a manifest of SHA-256 hashes."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    data, manifest = pack.build(assessment)
    audit.record("compliance.auditor_pack_exported", resource_type="compliance_assessment",
                 resource_id=assessment.id, org_id=assessment.org_id,
                 details={"files": len(manifest["files"]), "sha256": hashlib.sha256(data).hexdigest()})
    db.session.commit()
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{assessment.framework.lower()}-{assessment.id}-auditor-pack.zip"'})


@bp.post("/assessments/<int:assessment_id>/auditor-pack.pdf")
@require("compliance.evidence")
def auditor_pdf_request(assessment_id: int):
    """Queue the auditor pack PDF (rendered by a job; the assessment page links the newest one)."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    enqueue("compliance.auditor_pdf", org_id=assessment.org_id, requested_by_id=current_user.id,
            assessment_id=assessment.id)
    audit.record("compliance.auditor_pdf_requested", resource_type="compliance_assessment",
                 resource_id=assessment.id, org_id=assessment.org_id)
    db.session.commit()
    flash("The auditor pack PDF is being rendered; see Jobs.", "success")
    return redirect_after_post("compliance.assessment_detail", assessment_id=assessment.id)


@bp.get("/assessments/<int:assessment_id>/auditor-pack.pdf")
@require("compliance.evidence")
def auditor_pdf_file(assessment_id: int):
    """The newest rendered auditor pack PDF."""
    assessment = get_scoped_or_404(ComplianceAssessment, assessment_id)
    path = pdf.pack_path(assessment)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{assessment.framework.lower()}-{assessment.id}-auditor-pack.pdf", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
