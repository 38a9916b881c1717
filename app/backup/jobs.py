"""Backup jobs: the scheduled archive (then retention), the weekly restore test, the daily check."""

from __future__ import annotations

from app.backup import alert_rules, archive, services
from app.jobs import job
from app.jobs.runner import JobError
from app.models import db


@job("backup.create", title="Back up Vigil", queue="low", timeout=7200)
def create_backup(ctx, **_: object) -> dict:
    """Write one archive of Vigil, apply retention, and alert if it failed."""
    ctx.progress(5, "Dumping the database and instance files")
    try:
        row = services.create(actor_label="backup job")
    except archive.ArchiveError as exc:
        alert_rules.evaluate_all(int(services.max_age().total_seconds() // 3600))
        db.session.commit()  # keep the failed row, its audit and the alert
        raise JobError(f"The backup failed: {exc}", saved="the failure record and its alert") from exc
    ctx.progress(80, "Applying retention")
    pruned = services.prune()
    alert_rules.evaluate_all(int(services.max_age().total_seconds() // 3600))
    return {"backup_id": row.id, "file": row.filename, "sha256": row.sha256, "pruned": len(pruned)}


@job("backup.restore_test", title="Restore-test Vigil's latest backup", queue="low", timeout=7200)
def restore_test(ctx, **_: object) -> dict:
    """Restore the latest archive into a scratch database, verify the audit chain and count rows."""
    ctx.progress(5, "Restoring into a scratch database")
    result = services.test_restore()
    alert_rules.evaluate_all(int(services.max_age().total_seconds() // 3600))
    return {"ok": result.ok, "message": result.message, "tables": len(result.row_counts)}


@job("backup.check", title="Check Vigil's backups are fresh", queue="low", timeout=300)
def check(ctx, **_: object) -> dict:
    """Raise (or resolve) the missing-backup alert even when the backup job itself never ran."""
    return {"decisions": alert_rules.evaluate_all(int(services.max_age().total_seconds() // 3600))}
