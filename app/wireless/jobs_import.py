"""The import job: read an uploaded sightings file into the organization's networks."""

from __future__ import annotations

from app import audit
from app.jobs import job
from app.wireless import imports


@job("wireless.import", title="Import wireless sightings", queue="default", timeout=6 * 3600)
def import_file(ctx, import_id: int, **_params) -> dict:
    """Import one uploaded file (WiGLE CSV or backup, Kismet log or netxml) in batches."""
    imp = imports.run_import(int(import_id), progress=ctx.progress)
    audit.record("wireless.import_finished", resource_type="wireless_import", resource_id=imp.id,
                 org_id=imp.org_id, actor_type="job", actor_label=ctx.kind,
                 details={"status": imp.status, "format": imp.format, "read": imp.rows_read,
                          "imported": imp.rows_imported, "duplicate": imp.rows_duplicate,
                          "rejected": imp.rows_rejected})
    if imp.status == "failed":
        # The row already says why; failing the run too keeps the Jobs page honest.
        raise RuntimeError(imp.message or "import failed")
    return {"message": imp.message, "imported": imp.rows_imported, "rejected": imp.rows_rejected}
