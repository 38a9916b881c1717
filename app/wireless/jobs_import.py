"""The import job: read an uploaded sightings file into the organization's networks."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.jobs import job
from app.jobs.recovery import on_ended_early
from app.jobs.runner import JobCancelled, JobError
from app.models import JobRun, db, utcnow
from app.models.wireless import WirelessImport
from app.wireless import imports


@job("wireless.import", title="Import wireless sightings", queue="default", timeout=6 * 3600)
def import_file(ctx, import_id: int, **_params) -> dict:
    """Import one uploaded file (WiGLE CSV or backup, Kismet log or netxml) in batches."""
    try:
        imp = imports.run_import(int(import_id), progress=ctx.progress)
    except JobCancelled:
        raise JobCancelled(saved=_saved(int(import_id))) from None
    except Exception as exc:
        # run_import logged it with an error id and wrote that id into the import's message.
        imp = db.session.get(WirelessImport, int(import_id))
        raise JobError(imp.message or "The import stopped.", saved=imports.saved_text(imp)) from exc
    imports.score_touched(imp, progress=ctx.progress)
    _audit(imp, ctx.kind)
    if imp.status == "failed":
        # The row already says why; failing the run too keeps the Jobs page honest.
        raise JobError(imp.message or "import failed", saved=imports.saved_text(imp))
    return {"message": imp.message, "imported": imp.rows_imported, "rejected": imp.rows_rejected,
            "time_unknown": imp.rows_time_unknown}


def _saved(import_id: int) -> str:
    db.session.rollback()
    return imports.saved_text(db.session.get(WirelessImport, import_id))


def _audit(imp: WirelessImport, actor: str) -> None:
    audit.record("wireless.import_finished", resource_type="wireless_import", resource_id=imp.id,
                 org_id=imp.org_id, actor_type="job", actor_label=actor,
                 details={"status": imp.status, "format": imp.format, "read": imp.rows_read,
                          "imported": imp.rows_imported, "duplicate": imp.rows_duplicate,
                          "rejected": imp.rows_rejected, "time_unknown": imp.rows_time_unknown})


@on_ended_early("wireless.import")
def import_ended_early(run: JobRun, reason: str) -> str | None:
    """The import of a run that ended before its job did (its worker died, or it was cancelled
    while queued) ends failed, saying why and what its committed batches hold."""
    imp = db.session.scalar(sa.select(WirelessImport).where(
        WirelessImport.org_id == run.org_id, WirelessImport.id == int((run.params or {}).get("import_id", 0))))
    if imp is None:
        return None
    saved = imports.saved_text(imp)
    if imp.status in ("queued", "running"):
        imp.status, imp.finished_at = "failed", utcnow()
        imp.message = f"Stopped because {reason}, at {imp.rows_read} rows read; {saved}."
        # The actor is the signed-in user who cancelled, or the system when recovery ended it.
        audit.record("wireless.import_ended_early", resource_type="wireless_import", resource_id=imp.id,
                     org_id=imp.org_id, details={"run": run.id, "reason": reason, "read": imp.rows_read,
                              "imported": imp.rows_imported})
    return saved
