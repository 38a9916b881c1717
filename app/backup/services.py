"""Vigil's own backups: create (recorded), list, prune by retention, restore-test the latest.

Settings (environment, or app.config in tests): VIGIL_BACKUP_DIR (default instance/backups),
VIGIL_BACKUP_ENCRYPT (default on: sealed with the configured key), VIGIL_BACKUP_KEEP_LAST /
_DAILY / _WEEKLY / _MONTHLY (7 / 7 / 4 / 6), VIGIL_BACKUP_MAX_AGE_HOURS (26: older is "missing").
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.backup import archive, remote, restore
from app.backup.retention import Policy, to_keep
from app.models import BackupRestoreTest, VigilBackup, db, utcnow

SYSTEM = {"actor_type": "system", "actor_label": "backup"}


def setting(name: str, default: str) -> str:
    value = current_app.config.get(name)
    return str(value) if value is not None else os.environ.get(f"VIGIL_{name}", default)


def backup_dir() -> Path:
    return Path(setting("BACKUP_DIR", str(Path(current_app.instance_path) / "backups")))


def policy() -> Policy:
    return Policy(*(int(setting(f"BACKUP_KEEP_{k}", d)) for k, d in
                    (("LAST", "7"), ("DAILY", "7"), ("WEEKLY", "4"), ("MONTHLY", "6"))))


def encrypt_default() -> bool:
    return setting("BACKUP_ENCRYPT", "1").lower() in ("1", "true", "yes", "on")


def max_age() -> timedelta:
    return timedelta(hours=int(setting("BACKUP_MAX_AGE_HOURS", "26")))


def create(out_dir: Path | None = None, *, encrypt: bool | None = None, actor_label: str = "backup") -> VigilBackup:
    """Write one archive and record it (a failure is recorded too, then raised)."""
    target = out_dir or backup_dir()
    try:
        built = archive.build(target, encrypt=encrypt_default() if encrypt is None else encrypt)
    except archive.ArchiveError as exc:
        failed = VigilBackup(filename=f"failed-{utcnow():%Y%m%dT%H%M%S%f}", location=str(target), status="failed",
                             error=str(exc)[:500])
        db.session.add(failed)
        audit.record("backup.create", resource_type="vigil_backup", result="failure", error=str(exc)[:300],
                     actor_type="system", actor_label=actor_label)
        raise
    row = VigilBackup(filename=built.path.name, location=str(built.path), size=built.size, sha256=built.sha256,
                      encrypted=built.path.name.endswith(".sealed"), version=built.manifest["vigil_version"],
                      migration_head=",".join(built.manifest["migration_heads"]), status="ok")
    remote_key = copy_to_remote(row, built.path)
    db.session.add(row)
    db.session.flush()
    audit.record("backup.create", resource_type="vigil_backup", resource_id=row.id, actor_type="system",
                 actor_label=actor_label, new={"file": row.filename, "sha256": row.sha256, "size": row.size,
                                               "members": len(built.manifest["members"]), "remote": remote_key},
                 error=row.error)
    return row


def copy_to_remote(row: VigilBackup, path: Path) -> str | None:
    """Copy the archive to the S3 target when one is configured; a failed copy keeps the local
    archive and is written on the row (the page and the audit log show it)."""
    try:
        target = remote.target()
        if target is None:
            return None
        return remote.upload(target, path)
    except remote.RemoteError as exc:
        row.error = str(exc)[:500]
        return None


def listing(limit: int = 100) -> list[VigilBackup]:
    return list(db.session.scalars(sa.select(VigilBackup).order_by(VigilBackup.created_at.desc()).limit(limit)))


def restore_tests(limit: int = 50) -> list[BackupRestoreTest]:
    return list(db.session.scalars(sa.select(BackupRestoreTest).order_by(BackupRestoreTest.created_at.desc())
                                   .limit(limit)))


def latest_ok() -> VigilBackup | None:
    return db.session.scalar(sa.select(VigilBackup).where(VigilBackup.status == "ok")
                             .order_by(VigilBackup.created_at.desc()).limit(1))


def prune() -> list[VigilBackup]:
    """Delete the archives the retention policy no longer keeps; their rows stay, marked pruned."""
    kept = list(db.session.scalars(sa.select(VigilBackup).where(VigilBackup.status == "ok")))
    keep = to_keep([b.created_at for b in kept], policy())
    gone = [b for i, b in enumerate(kept) if i not in keep]
    for b in gone:
        Path(b.location).unlink(missing_ok=True)
        b.status = "pruned"
    target = remote.target()
    remote_gone: list[str] = []
    if target is not None:
        # The same policy on the bucket: every remote archive that is not a kept backup goes.
        remote_gone = remote.prune(target, {b.filename for i, b in enumerate(kept) if i in keep})
    if gone or remote_gone:
        audit.record("backup.prune", resource_type="vigil_backup",
                     details={"pruned": [b.filename for b in gone], "remote_pruned": remote_gone}, **SYSTEM)
    return gone


def has_prune_work() -> bool:
    return db.session.scalar(sa.select(sa.func.count(VigilBackup.id)).where(VigilBackup.status == "ok")) > policy().last


def test_restore(backup: VigilBackup | None = None) -> BackupRestoreTest:
    """Restore a backup (default: the latest) into a scratch database, verify it, drop it, record the result."""
    backup = backup or latest_ok()
    result = BackupRestoreTest(backup_id=backup.id if backup else None)
    if backup is None:
        result.ok, result.message = False, "no backup to test"
    else:
        live = db.engine.url
        with tempfile.TemporaryDirectory(prefix="vigil-restore-test-") as tmp:
            scratch = restore.scratch_url(live, Path(tmp))
            restore.create_database(scratch)
            try:
                restore.restore(Path(backup.location), scratch, Path(tmp) / "instance")
                check = restore.verify_database(scratch)
                result.ok, result.message = check.ok, check.message
                result.row_counts, result.audit_rows_checked = check.row_counts, check.audit_rows
            except archive.ArchiveError as exc:
                result.ok, result.message = False, str(exc)[:1000]
            finally:
                restore.drop_database(scratch)
    db.session.add(result)
    db.session.flush()
    audit.record("backup.restore_test", resource_type="vigil_backup", resource_id=result.backup_id,
                 result="success" if result.ok else "failure", details={"message": result.message}, **SYSTEM)
    return result
