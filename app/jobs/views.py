"""Jobs page: runs of the current organization with live progress, cancel and retry."""

from __future__ import annotations

from flask import abort, flash, make_response, request
from flask_login import current_user

from app.htmx import hx_trigger, is_htmx
from app.jobs import services
from app.jobs.blueprint import bp
from app.jobs.queue import live_progress
from app.jobs.registry import job_title
from app.models import db
from app.models.platform import JOB_STATUSES
from app.pagination import page_arg
from app.permissions import require
from app.rendering import redirect_after_post, render_page
from app.tenancy import require_org_id


@bp.get("/")
@require("jobs.view")
def index():
    """List job runs, newest first, filterable by status."""
    status = request.args.get("status") or None
    if status and status not in JOB_STATUSES:
        abort(400, "Unknown status filter.")
    page = page_arg()
    runs = services.runs_for_org(require_org_id(), page, status=status,
                                 include_system=current_user.is_super_admin)
    return render_page("jobs/index.html", block="runs_table", runs=runs, status_filter=status,
                       statuses=JOB_STATUSES, job_title=job_title, live_progress=live_progress)


@bp.get("/<int:run_id>")
@require("jobs.view")
def detail(run_id: int):
    """One run: its progress (an htmx fragment that polls until the run ends), result and error."""
    run = services.visible_run_or_404(run_id, current_user)
    response = make_response(render_page("jobs/detail.html", block="job_status", run=run, job_title=job_title,
                                         live_progress=live_progress))
    if run.is_finished and is_htmx():
        # Tables showing this run's work (the imports list) redraw themselves at once.
        hx_trigger(response, "jobs-run-finished", {"id": run.id})
    return response


@bp.post("/<int:run_id>/cancel")
@require("jobs.manage")
def cancel(run_id: int):
    """Cancel a queued run, or ask a running one to stop."""
    run = services.visible_run_or_404(run_id, current_user)
    if services.cancel(run):
        db.session.commit()
        if run.is_finished:  # it had not started, or its worker was gone: says which
            flash(run.message or "Cancelled.", "info")
        else:
            flash("Cancellation requested.", "info")
    else:
        flash("That run has already finished.", "warning")
    return redirect_after_post("jobs.detail", run_id=run.id)


@bp.post("/<int:run_id>/retry")
@require("jobs.manage")
def retry(run_id: int):
    """Run a failed, cancelled or abandoned job again with the same parameters."""
    run = services.visible_run_or_404(run_id, current_user)
    new = services.retry(run, current_user.id)
    if new is None:
        flash("Only failed, cancelled or abandoned runs can be retried.", "warning")
        return redirect_after_post("jobs.detail", run_id=run.id)
    db.session.commit()
    flash("Started again.", "success")
    return redirect_after_post("jobs.detail", run_id=new.id)
