"""Where a device's backups go and what the agent needs to make them (issue 19): the restic
repository, the paths and excludes, and its secrets sealed at rest (app/crypto.py), then
re-sealed to the device's own key inside each signed command, so neither the stored
command, the job that sent it nor the audit trail holds them in clear.

Also the agent-facing ends of backups: the payloads of run_backup, forget_snapshots and
restore_test (registered with the command queue), and the restore test the agent reports.
None of these functions commits.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from app import audit
from app.crypto import decrypt_text, encrypt_text
from app.fleet import commands
from app.fleet.backup_errors import BackupError
from app.models import BackupConfig, BackupSnapshot, Command, Device, User, db, utcnow
from vigil_agent.protocol import seal

REPOSITORY_FIELDS = ["repository", "backup_paths", "exclude_patterns", "s3_access_key_id"]
# restic's local, SFTP, S3-compatible and REST repositories.
REPOSITORY = re.compile(r"^(/[^\0]*|sftp:[^\0\s]+|s3:[^\0\s]+|rest:https?://[^\0\s]+)$")
MAX_PATHS = 50
MAX_EXCLUDES = 100
RESTORE_RESULTS = ("passed", "failed")


def repository_errors(values: dict[str, Any]) -> dict[str, str]:
    """Field errors of the repository settings (empty repository: backups report they have none)."""
    errors: dict[str, str] = {}
    repository = values.get("repository")
    if repository and (len(repository) > 2000 or not REPOSITORY.match(repository)):
        errors["repository"] = "A local path (/srv/restic), sftp:user@host:/path, s3:https://host/bucket or rest:https://…"
    paths = values.get("backup_paths") or []
    if len(paths) > MAX_PATHS or not all(p.startswith("/") and len(p) <= 1000 and "\0" not in p for p in paths):
        errors["backup_paths"] = f"Absolute paths, one a line, at most {MAX_PATHS}."
    if repository and not paths:
        errors["backup_paths"] = "Name at least one path to back up."
    excludes = values.get("exclude_patterns") or []
    if len(excludes) > MAX_EXCLUDES or not all(0 < len(p) <= 500 and "\0" not in p for p in excludes):
        errors["exclude_patterns"] = f"restic exclude patterns, one a line, at most {MAX_EXCLUDES}."
    key_id = values.get("s3_access_key_id")
    if key_id and (len(key_id) > 200 or not re.fullmatch(r"[\w+/=.-]+", key_id)):
        errors["s3_access_key_id"] = "An access key id (letters, digits)."
    return errors


def store_secrets(config: BackupConfig, password: str | None, s3_secret: str | None) -> list[str]:
    """Seal the secrets that were given (blank keeps the stored one); the names of those changed."""
    changed = []
    if password:
        config.repository_password_sealed = encrypt_text(password)
        changed.append("repository_password")
    if s3_secret:
        config.s3_secret_key_sealed = encrypt_text(s3_secret)
        changed.append("s3_secret_key")
    return changed


def _repository_payload(device: Device) -> dict[str, Any]:
    config = db.session.get(BackupConfig, device.id)
    if config is None or not config.repository:
        return {}
    payload: dict[str, Any] = {"repository": config.repository}
    secret: dict[str, Any] = {}
    if config.repository_password_sealed:
        secret["password"] = decrypt_text(config.repository_password_sealed)
    if config.s3_access_key_id and config.s3_secret_key_sealed:
        secret["env"] = {"AWS_ACCESS_KEY_ID": config.s3_access_key_id,
                         "AWS_SECRET_ACCESS_KEY": decrypt_text(config.s3_secret_key_sealed)}
    if secret and device.wireguard_public_key:
        payload["secrets"] = seal(device.wireguard_public_key, secret)
    return payload


def run_backup_payload(device: Device, clean: dict[str, Any]) -> dict[str, Any]:
    """run_backup carries the mode, the repository, paths, excludes and the sealed secrets."""
    config = db.session.get(BackupConfig, device.id)
    if config is None:
        return clean
    return {**clean, "mode": config.backup_mode if config.backup_mode != "off" else "file",
            "paths": list(config.backup_paths or []), "excludes": list(config.exclude_patterns or []),
            **_repository_payload(device)}


def repository_only(device: Device, clean: dict[str, Any]) -> dict[str, Any]:
    return {**clean, **_repository_payload(device)}


commands.PAYLOAD_FILLERS.update(run_backup=run_backup_payload, forget_snapshots=repository_only,
                                restore_test=repository_only)


def send_forget(device: Device, expired: list[BackupSnapshot]) -> Command | None:
    """Tell the agent to forget and prune exactly these restic snapshots (the retention dry
    run's list), when the device has a repository. Snapshots not made by restic are not in it."""
    ids = [s.snapshot_id for s in expired if s.backup_method == "restic"]
    config = db.session.get(BackupConfig, device.id)
    if not ids or config is None or not config.repository or device.enrolled_at is None:
        return None
    return commands.issue(device, "forget_snapshots", {"snapshot_ids": ids}, None, actor_label="fleet.backups_retention")


def request_restore_test(snapshot: BackupSnapshot, actor: User) -> Command:
    """Ask the device's agent to restore a sample of this snapshot and check it."""
    if snapshot.status != "completed" or snapshot.backup_method != "restic":
        raise BackupError("not_restorable", "Only a completed restic snapshot can be restore-tested by the agent.", 409)
    try:
        return commands.issue(snapshot.device, "restore_test", {"snapshot_id": snapshot.snapshot_id}, actor)
    except commands.CommandError as exc:
        raise BackupError(exc.code, str(exc), exc.status) from exc


def ingest_restore_test(device: Device, data: dict[str, Any]) -> BackupSnapshot:
    """Record the outcome of a restore test the device's agent ran (audited)."""
    errors: dict[str, str] = {}
    if data.get("result") not in RESTORE_RESULTS:
        errors["result"] = "passed or failed"
    checked = data.get("files_checked")
    if (not isinstance(checked, int | float) or isinstance(checked, bool) or not float(checked).is_integer()
            or not 0 <= checked <= 10 ** 6):
        errors["files_checked"] = "a whole number"
    else:
        checked = int(checked)
    error = data.get("error")
    if error is not None and (not isinstance(error, str) or len(error) > 5000):
        errors["error"] = "a string of at most 5000 characters"
    snapshot_id = data.get("snapshot_id")
    row = db.session.scalar(sa.select(BackupSnapshot).where(
        BackupSnapshot.device_id == device.id, BackupSnapshot.org_id == device.org_id,
        BackupSnapshot.snapshot_id == snapshot_id)) if isinstance(snapshot_id, str) else None
    if errors:
        raise BackupError("validation_error", "The restore test report is not valid.", 422, errors)
    if row is None:
        raise BackupError("not_found", "No such snapshot for this device.", 404)
    old = {"restore_tested": row.restore_tested, "restore_result": row.restore_result}
    row.restore_tested, row.restore_result, row.last_verified_at = True, data["result"], utcnow()
    audit.record("backup.restore_tested", resource_type="backup", resource_id=row.id, org_id=device.org_id,
                 actor_type="agent", actor_label=f"agent {device.hostname}", old=old,
                 new={"restore_tested": True, "restore_result": row.restore_result},
                 details={"files_checked": checked, "error": error, "command_id": data.get("command_id")},
                 result="success" if row.restore_result == "passed" else "failure")
    return row
