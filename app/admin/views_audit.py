"""Audit viewer and the chain verification it starts."""

from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from app import audit as audit_trail
from app.admin import audit_services
from app.admin.blueprint import bp
from app.admin.forms import AuditFilterForm
from app.jobs import enqueue, job_title
from app.jobs.queue import live_progress
from app.models import AuditLog, db
from app.pagination import page_arg, paginate_capped
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import require_org_id


@bp.get("/audit")
@require("audit.view")
def audit():
    """Filter and page through the organization's audit log."""
    form = AuditFilterForm(request.args)
    org_id = require_org_id()
    status = 200
    if request.args and not form.validate():
        status = INVALID_FORM_STATUS
        rows = None
    else:
        stmt = audit_services.filtered(
            org_id, actor=form.actor.data, action=form.action.data, resource=form.resource.data,
            date_from=form.date_from.data, date_to=form.date_to.data,
        )
        rows = paginate_capped(stmt, page_arg(), per_page=50, key=AuditLog.id)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_page(
        "admin/audit.html", block="audit_results", status=status, form=form, rows=rows, filters=filters,
        verification=audit_services.last_verification(org_id), job_title=job_title, live_progress=live_progress,
    )


@bp.post("/audit/verify")
@require("audit.verify")
def audit_verify():
    """Start the chain verification as a background job and show its progress."""
    run = enqueue("audit.verify", org_id=require_org_id(), requested_by_id=current_user.id)
    audit_trail.record("audit.verify_requested", resource_type="job_run", resource_id=run.id)
    db.session.commit()
    flash("Verification started.", "info")
    return redirect_after_post("admin.audit")
