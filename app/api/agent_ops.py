"""The agent's command and backup endpoints: poll signed commands, report their results,
report backup snapshots. Each works only with a device key, and only on that device's
own rows (another device's command is a 404, as if it did not exist)."""

from __future__ import annotations

from flask import request

from app.api.auth import api_error, principal, require_scope
from app.api.blueprint import bp
from app.api.openapi_agent import (
    AGENT_MAX_BYTES,
    BACKUP_REPORT,
    COMMAND_RESULT,
    RESTORE_TEST,
    known_fields,
)
from app.core.hygiene import INT_MAX, body_limit
from app.fleet import backup_repository, backups, commands
from app.fleet.signing import public_key
from app.models import Device, db


def _device() -> Device | None:
    p = principal()
    if p.device_id is None:
        return None
    device = db.session.get(Device, p.device_id)
    return device if device is not None and device.org_id == p.org_id and device.deleted_at is None else None


def _no_device():
    return api_error(403, "device_key_required", "This endpoint is for a device's own key.")


def _json() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


@bp.get("/agent/commands")
@require_scope("commands")
def agent_commands():
    """The device's pending, approved, unexpired commands, each with its Ed25519 signature."""
    device = _device()
    if device is None:
        return _no_device()
    rows = commands.fetch_for_agent(device)
    db.session.commit()
    return {"public_key": public_key(),
            "commands": [{**commands.envelope(c), "signature": c.command_signature} for c in rows]}


def _apply(error_type: type[Exception], change, schema: dict, success_status: int = 200):
    """Run `change(device, body)` for the key's own device with the documented fields of the
    body only (the others listed in `ignored`); its rule errors become JSON errors."""
    device = _device()
    if device is None:
        return _no_device()
    data = _json()
    if data is None:
        return api_error(422, "validation_error", "Send a JSON object.", fields={"body": "a JSON object"})
    data, ignored = known_fields(data, schema)
    try:
        answer = change(device, data)
    except error_type as exc:
        db.session.rollback()
        extra = {"fields": exc.fields} if exc.fields else {}
        return api_error(exc.status, exc.code, str(exc), **extra)
    db.session.commit()
    return ({**answer, "ignored": ignored[:50]} if ignored else answer), success_status


@bp.post("/agent/commands/<int:command_id>/result")
@body_limit(AGENT_MAX_BYTES)
@require_scope("commands")
def agent_command_result(command_id: int):
    """The agent reports a command in progress, completed (with a result) or failed (with an error)."""
    if command_id > INT_MAX:  # commands.id is an INTEGER: no such command
        return api_error(404, "not_found", "No such command for this device.")

    def change(device, data):
        command = commands.report(device, command_id, data)
        return {"id": command.id, "status": command.status}

    return _apply(commands.CommandError, change, COMMAND_RESULT)


@bp.post("/agent/backups")
@body_limit(AGENT_MAX_BYTES)
@require_scope("backups")
def agent_backup_report():
    """The agent reports one backup snapshot (new, or an update of the same snapshot id)."""
    def change(device, data):
        row = backups.ingest_report(device, data)
        return {"id": row.id, "snapshot_id": row.snapshot_id, "status": row.status}

    return _apply(backups.BackupError, change, BACKUP_REPORT, 201)


@bp.post("/agent/backups/restore-test")
@body_limit(AGENT_MAX_BYTES)
@require_scope("backups")
def agent_restore_test_report():
    """The agent reports a restore test it ran: passed or failed, how many files it checked."""
    def change(device, data):
        row = backup_repository.ingest_restore_test(device, data)
        return {"id": row.id, "snapshot_id": row.snapshot_id, "restore_result": row.restore_result}

    return _apply(backups.BackupError, change, RESTORE_TEST)
