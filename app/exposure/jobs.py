"""Job entry points of the exposure domain: importing a breach file and deleting expired raw uploads."""

from __future__ import annotations

from app import audit
from app.exposure import importer, monitoring, opsych, profiles, uploads
from app.jobs import job
from app.models import db
from app.models.exposure import Profile


@job("exposure.import", title="Import a breach file", queue="default", timeout=6 * 3600)
def import_breach(ctx, upload_id: int, **_params) -> dict:
    """Import one uploaded breach or combolist file (streamed, committed per batch)."""
    row = importer.run_import(int(upload_id), progress=ctx.progress)
    audit.record("exposure.import_finished", resource_type="uploaded_breach_file", resource_id=row.id,
                 org_id=row.org_id, actor_type="job", actor_label=ctx.kind,
                 details={"status": row.processing_status, "read": row.line_count, "imported": row.records_count,
                          "duplicate": row.duplicate_count, "rejected": row.rejected_count,
                          "matched": row.matched_count, "virus_scan": row.virus_scan_result})
    if row.processing_status == "failed":
        # The upload row already says why; failing the run too keeps the Jobs page honest
        # (committed first: the runner rolls back what a failing job left open).
        db.session.commit()
        raise RuntimeError(row.processing_error or "import failed")
    return {"message": importer.summary(row), "imported": row.records_count, "matched": row.matched_count}


@job("exposure.expire_uploads", title="Delete expired raw breach files", queue="low", timeout=600)
def expire_uploads(ctx, **_params) -> dict:
    """Delete raw uploads past their retention (VIGIL_EXPOSURE_UPLOAD_RETENTION_HOURS)."""
    deleted = uploads.delete_expired()
    if deleted:
        audit.record("exposure.raw_uploads_deleted", resource_type="uploaded_breach_file", actor_type="job",
                     actor_label=ctx.kind, details={"deleted": deleted})
    return {"message": f"{deleted} expired raw file(s) deleted", "deleted": deleted}


@job("exposure.recheck_monitored", title="Recheck monitored e-mails", queue="low", timeout=3600)
def recheck_monitored(ctx, **_params) -> dict:
    """Ask every configured source about each due monitored address; notify new findings once."""
    checked, found = monitoring.recheck_due(progress=ctx.progress)
    return {"message": f"{checked} address(es) checked, {found} new finding(s)", "checked": checked, "found": found}


@job("exposure.username_search", title="Search a username across sites", queue="default", timeout=1800)
def username_search(ctx, profile_id: str, **_params) -> dict:
    """Check the profile's username on every site of the list; store the accounts found and rescore."""
    profile = db.session.get(Profile, profile_id)
    username = profile.username
    db.session.commit()  # no transaction held open across hundreds of HTTP requests
    checks = opsych.search_username(username)
    profile = db.session.get(Profile, profile_id)
    found = opsych.store(profile, checks)
    profiles.recompute(profile)
    unknown = sum(1 for c in checks if c.found is None)
    audit.record("exposure.username_search_finished", resource_type="profile", resource_id=profile.id,
                 org_id=profile.org_id, actor_type="job", actor_label=ctx.kind,
                 details={"sites": len(checks), "found": found, "undecided": unknown})
    return {"message": f"{len(checks)} site(s) checked, {found} account(s) found, {unknown} undecided",
            "found": found}
