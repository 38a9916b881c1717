"""Attack-surface jobs: the scan, the weekly re-verification, scheduled rescans and the
48-hour cleanup of scan_results_*. Each takes ids and calls the services."""

from __future__ import annotations

from app import audit
from app.jobs import enqueue, job
from app.jobs.runner import JobError
from app.models import LightboxFinding, SurfaceDomain, db, utcnow
from app.surface import domains, recheck, reports, scans
from app.surface.domains import SurfaceError


@job("surface.scan", title="Attack-surface scan", queue="default", timeout=3600)
def scan(ctx, domain_id: int, active: bool = False, **_) -> dict:
    """Discover (and, for a verified domain with active=True, probe) one domain."""
    row = db.session.get(SurfaceDomain, domain_id)
    if row is None or row.org_id != ctx.org_id:
        raise JobError("that domain is not listed in this organization")
    try:
        history = scans.execute(domain_id, active=active, progress=ctx.progress, user_id=ctx.requested_by_id,
                                job_run_id=ctx.run_id)
    except SurfaceError as exc:
        raise JobError(str(exc)) from exc
    return {"scan_id": history.scan_id, "history_id": history.id, "risk_score": history.risk_score,
            "risk_level": history.risk_level}


@job("surface.reverify", title="Re-verify attack-surface domains", queue="low", timeout=1800)
def reverify(ctx, **_) -> dict:
    """Check again, weekly, that each verified domain still carries its proof."""
    ids = domains.domains_due_reverify()
    lost = 0
    for index, domain_id in enumerate(ids):
        ctx.progress(int(100 * index / max(1, len(ids))), f"{index} of {len(ids)}")
        row = db.session.get(SurfaceDomain, domain_id)
        if not domains.verify(row, actor_label="surface.reverify"):
            lost += 1
    return {"checked": len(ids), "lost": lost}


@job("surface.scheduled_scans", title="Queue scheduled attack-surface scans", queue="low", timeout=300)
def scheduled_scans(ctx, **_) -> dict:
    """Queue the scans whose daily/weekly schedule is due (active when the domain is verified)."""
    queued = 0
    for domain_id in domains.domains_due_scan():
        row = db.session.get(SurfaceDomain, domain_id)
        run = enqueue("surface.scan", org_id=row.org_id, domain_id=row.id, active=row.state == "verified")
        # Moved on now, so the scan is never queued twice and a failed one is retried next period.
        row.next_scan_at = utcnow() + domains.SCHEDULE_INTERVALS[row.scan_schedule]
        audit.record("surface.scan_scheduled", resource_type="surface_domain", resource_id=row.id,
                     org_id=row.org_id, details={"job_run_id": run.id}, actor_type="system",
                     actor_label="surface.scheduled_scans")
        queued += 1
    return {"queued": queued}


@job("surface.cleanup_results", title="Delete expired attack-surface results", queue="low", timeout=300)
def cleanup_results(ctx, **_) -> dict:
    """scan_results_xasm/lightbox live 48 hours, as in the seed."""
    deleted = scans.cleanup_expired_results()
    if deleted:
        audit.record("surface.results_expired", resource_type="scan_results", details={"deleted": deleted},
                     actor_type="system", actor_label="surface.cleanup_results")
    return {"deleted": deleted}


@job("surface.report", title="Write a vulnerability report", queue="default", timeout=600)
def report(ctx, domain_id: int, **_) -> dict:
    """Write a vulnerability report from the domain's newest scan."""
    row = db.session.get(SurfaceDomain, domain_id)
    if row is None or row.org_id != ctx.org_id or row.deleted_at is not None:
        raise JobError("that domain is not listed in this organization")
    try:
        created = reports.create(row, user_id=ctx.requested_by_id, actor_label="surface.report")
    except SurfaceError as exc:
        raise JobError(str(exc)) from exc
    return {"report_id": created.id, "risk_score": created.risk_score}


@job("surface.verify_fix", title="Re-check one attack-surface finding", queue="high", timeout=120)
def verify_fix(ctx, finding_id: int, **_) -> dict:
    """Run again the one web test behind a finding; fixed when it passes."""
    finding = db.session.get(LightboxFinding, finding_id)
    if finding is None or finding.org_id != ctx.org_id:
        raise JobError("that finding is not in this organization")
    try:
        fixed = recheck.recheck(finding, actor_label="surface.verify_fix")
    except SurfaceError as exc:
        raise JobError(str(exc)) from exc
    return {"fixed": fixed, "status": finding.status}
