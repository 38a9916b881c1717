"""Queries and actions behind the Jobs pages."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.jobs import recovery
from app.jobs.dispatch import enqueue
from app.jobs.runner import request_cancel
from app.models import JobRun, db
from app.tenancy import get_scoped_or_404


def runs_for_org(org_id: int, page: int, per_page: int = 25, status: str | None = None,
                 include_system: bool = False):
    """Runs of one organization (and, for super admins, the org-less periodic runs)."""
    owner = JobRun.org_id == org_id
    if include_system:
        owner = sa.or_(owner, JobRun.org_id.is_(None))
    stmt = sa.select(JobRun).where(owner)
    if status:
        stmt = stmt.where(JobRun.status == status)
    return db.paginate(stmt.order_by(JobRun.id.desc()), page=page, per_page=per_page, error_out=False)


def visible_run_or_404(run_id: int, user) -> JobRun:
    """A run of the current organization; super admins also reach org-less system runs."""
    run = db.session.get(JobRun, run_id)
    if run is not None and run.org_id is None and user.is_super_admin:
        return run
    return get_scoped_or_404(JobRun, run_id)


RETRYABLE = ("failed", "cancelled", "abandoned")


def cancel(run: JobRun) -> bool:
    """Cancel a queued or running run; False if it had already finished. A running run whose
    worker is gone (app/jobs/recovery.py) ends at once: nobody is left to notice the request."""
    if run.is_finished:
        return False
    if recovery.worker_gone(run):
        recovery.abandon(run, cancelled=True)
        audit.record("job.cancelled", resource_type="job_run", resource_id=run.id,
                     details={"kind": run.kind, "worker": "gone"})
        return True
    request_cancel(run)
    if run.status == "cancelled":  # it had not started: its job's own records are closed here
        recovery.ended_early(run, "it was cancelled before it started")
    audit.record("job.cancel_requested", resource_type="job_run", resource_id=run.id, details={"kind": run.kind})
    return True


def retry(run: JobRun, user_id: int) -> JobRun | None:
    """Start a new run with the same kind and parameters (failed, cancelled or abandoned runs)."""
    if run.status not in RETRYABLE:
        return None
    new = enqueue(run.kind, org_id=run.org_id, requested_by_id=user_id, retry_of_id=run.id, **(run.params or {}))
    audit.record("job.retried", resource_type="job_run", resource_id=new.id, details={"kind": run.kind, "retry_of": run.id})
    return new
