"""The per-device command queue: issue (by role tier), approve (recovery needs a second
admin), sign, hand to the agent's poll, record what the agent reports, expire.

A command is signed when it becomes `pending` (at once, or when a recovery command is
approved) with a fresh expiry five minutes ahead, so what the agent fetches is always
signed over the expiry it will check. None of these functions commits (the caller does).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from app import audit
from app.core.settings_registry import get_setting
from app.fleet.signing import signing_key
from app.models import Command, Device, User, db, utcnow
from app.permissions import can
from vigil_agent.protocol import iso_utc, sign

COMMAND_MINUTES = 5
APPROVAL_MINUTES = 60  # how long a recovery command waits for its second admin
TIERS: dict[str, tuple[str, ...]] = {
    "safe": ("restart_services", "update_agent", "docker_prune", "collect_diagnostics", "run_backup",
             "forget_snapshots", "restore_test"),
    "system": ("reboot", "shutdown", "change_hostname"),
    "recovery": ("boot_recovery",),
}
TIER_OF = {kind: tier for tier, kinds in TIERS.items() for kind in kinds}
TIER_PERMISSION = {"safe": "fleet.command_safe", "system": "fleet.command_system",
                   "recovery": "fleet.command_recovery"}
APPROVAL_TIERS = ("recovery",)
AGENT_STATUSES = ("in_progress", "completed", "failed")
# What the agent may report from each state.
TRANSITIONS = {"pending": AGENT_STATUSES, "in_progress": ("completed", "failed")}
# Sent by the Backups tab and retention, with the snapshots they name, not from the command form.
BACKUP_TYPES = ("forget_snapshots", "restore_test")
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{8,64}$")
# kind -> fn(device, clean payload) -> payload: adds what the agent needs that the issuer
# does not give (backups register the repository and its sealed password), see backup_repository.py.
PAYLOAD_FILLERS: dict[str, Callable[[Device, dict[str, Any]], dict[str, Any]]] = {}
HOSTNAME = re.compile(r"^(?=.{1,63}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")
MAX_RESULT_BYTES = 64 * 1024


class CommandError(Exception):
    """A command rule refused the action; `status` is the HTTP status to answer."""

    def __init__(self, code: str, message: str, status: int = 409, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.status, self.fields = code, status, fields


def _request_meta() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return audit.client_ip(), (request.headers.get("User-Agent") or "")[:500] or None


def clean_payload(kind: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    """Each type's parameters, validated; unknown keys are refused."""
    payload = dict(payload or {})
    if kind == "change_hostname":
        name = str(payload.get("hostname") or "").strip()
        if not HOSTNAME.match(name):
            raise CommandError("validation_error", "A hostname: letters, digits and hyphens, at most 63.", 422,
                               {"hostname": "a valid hostname"})
        return {"hostname": name}
    if kind == "restart_services":
        names = payload.get("services") or []
        if (not isinstance(names, list) or len(names) > 20
                or not all(isinstance(n, str) and re.fullmatch(r"[\w@.:-]{1,100}", n) for n in names)):
            raise CommandError("validation_error", "Services: up to 20 unit names.", 422,
                               {"services": "a list of unit names"})
        return {"services": names}
    if kind == "forget_snapshots":
        ids = payload.get("snapshot_ids")
        if (not isinstance(ids, list) or not 1 <= len(ids) <= 1000
                or not all(isinstance(i, str) and SNAPSHOT_ID.match(i) for i in ids)):
            raise CommandError("validation_error", "Snapshots: restic snapshot ids.", 422,
                               {"snapshot_ids": "a list of restic snapshot ids"})
        return {"snapshot_ids": ids}
    if kind == "restore_test":
        snapshot = payload.get("snapshot_id")
        if not isinstance(snapshot, str) or not SNAPSHOT_ID.match(snapshot):
            raise CommandError("validation_error", "A restic snapshot id.", 422, {"snapshot_id": "a restic snapshot id"})
        return {"snapshot_id": snapshot}
    if payload:
        raise CommandError("validation_error", f"{kind} takes no parameters.", 422, {"payload": "empty"})
    return {}


def audited_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the audit trail keeps it: a sealed secret is named, not copied."""
    return {k: ("(sealed to the device)" if k == "secrets" else v) for k, v in payload.items()}


def envelope(command: Command) -> dict[str, Any]:
    """The signed fields of a command, as the agent receives and verifies them."""
    return {"id": command.id, "device_id": command.device_id, "type": command.command_type,
            "payload": command.command_payload, "expires_at": iso_utc(command.expires_at), "nonce": command.nonce}


def _sign(command: Command) -> None:
    now = utcnow().replace(microsecond=0)
    command.expires_at = now + timedelta(minutes=COMMAND_MINUTES)
    command.status = "pending"
    command.command_signature = sign(signing_key(), envelope(command))


def issue(device: Device, kind: str, payload: dict[str, Any] | None, actor: User | None, *,
          actor_label: str | None = None) -> Command:
    """Queue a command (audited). A user needs the type's tier permission; None is the system."""
    tier = TIER_OF.get(kind)
    if tier is None:
        raise CommandError("validation_error", f"Unknown command type {kind!r}.", 422, {"type": "a known type"})
    if actor is not None and not can(TIER_PERMISSION[tier], actor):
        raise CommandError("forbidden", f"Your role cannot send {tier} commands.", 403)
    if device.deleted_at is not None or device.enrolled_at is None:
        raise CommandError("not_enrolled", "Only an enrolled device can receive commands.")
    clean = clean_payload(kind, payload)
    if kind in PAYLOAD_FILLERS:
        clean = PAYLOAD_FILLERS[kind](device, clean)
    ip, agent = _request_meta()
    now = utcnow().replace(microsecond=0)
    command = Command(org_id=device.org_id, device_id=device.id, command_type=kind, tier=tier,
                      command_payload=clean, nonce=secrets.token_hex(16), created_by_id=getattr(actor, "id", None),
                      created_at=now, ip_address=ip, user_agent=agent, status="awaiting_approval",
                      expires_at=now + timedelta(minutes=APPROVAL_MINUTES))
    db.session.add(command)
    db.session.flush()
    if tier not in APPROVAL_TIERS:
        _sign(command)
    audit.record("command.issued", resource_type="command", resource_id=command.id, org_id=device.org_id,
                 actor=actor, actor_type=None if actor else "system", actor_label=actor_label,
                 new={"device_id": device.id, "type": kind, "tier": tier, "payload": audited_payload(clean),
                      "status": command.status,
                      "expires_at": command.expires_at.isoformat()})
    return command


def approve(command: Command, approver: User) -> None:
    """A second admin approves a recovery command: it is signed and the agent can fetch it."""
    if not can(TIER_PERMISSION[command.tier], approver):
        raise CommandError("forbidden", "Only an admin can approve recovery commands.", 403)
    if command.status != "awaiting_approval":
        raise CommandError("not_awaiting_approval", f"The command is {command.status}, not awaiting approval.")
    if command.expires_at <= utcnow():
        raise CommandError("approval_window_passed", "The approval window has passed; issue the command again.")
    if command.created_by_id == approver.id:
        raise CommandError("same_admin", "A different admin must approve a command you issued.", 403)
    command.approved_by_id, command.approved_at = approver.id, utcnow()
    _sign(command)
    audit.record("command.approved", resource_type="command", resource_id=command.id, org_id=command.org_id,
                 actor=approver, old={"status": "awaiting_approval"},
                 new={"status": "pending", "expires_at": command.expires_at.isoformat()})


def cancel(command: Command, actor: User) -> None:
    """Cancel a command the agent has not picked up."""
    if not can(TIER_PERMISSION[command.tier], actor):
        raise CommandError("forbidden", f"Your role cannot cancel {command.tier} commands.", 403)
    if command.status not in ("awaiting_approval", "pending"):
        raise CommandError("not_cancelable", f"The command is already {command.status}.")
    old = command.status
    command.status, command.completed_at = "canceled", utcnow()
    audit.record("command.canceled", resource_type="command", resource_id=command.id, org_id=command.org_id,
                 actor=actor, old={"status": old}, new={"status": "canceled"})


def _agent_label(device: Device) -> str:
    return f"agent {device.hostname}"


def fetch_for_agent(device: Device) -> list[Command]:
    """The device's own pending, unexpired (hence approved and signed) commands, oldest first.
    The first fetch of each is recorded as its pick-up."""
    now = utcnow()
    rows = db.session.scalars(sa.select(Command).where(
        Command.device_id == device.id, Command.org_id == device.org_id, Command.status == "pending",
        Command.expires_at > now).order_by(Command.id).with_for_update(skip_locked=True)).all()
    for command in rows:
        if command.picked_up_at is None:
            command.picked_up_at = now
            audit.record("command.fetched", resource_type="command", resource_id=command.id, org_id=device.org_id,
                         actor_type="agent", actor_label=_agent_label(device))
    return rows


def validate_report(data: dict[str, Any]) -> dict[str, Any]:
    import json

    errors: dict[str, str] = {}
    status = data.get("status")
    if status not in AGENT_STATUSES:
        errors["status"] = "one of " + ", ".join(AGENT_STATUSES)
    result = data.get("result")
    if result is not None and (not isinstance(result, dict) or len(json.dumps(result)) > MAX_RESULT_BYTES):
        errors["result"] = f"an object of at most {MAX_RESULT_BYTES} bytes as JSON"
    error = data.get("error")
    if error is not None and (not isinstance(error, str) or len(error) > 5000):
        errors["error"] = "a string of at most 5000 characters"
    if status == "failed" and not error:
        errors["error"] = "required when the status is failed"
    if errors:
        raise CommandError("validation_error", "The result is not valid.", 422, errors)
    return {"status": status, "result": result, "error": error}


def report(device: Device, command_id: int, data: dict[str, Any]) -> Command:
    """Record what the agent reports about one of its own commands."""
    clean = validate_report(data)
    command = db.session.scalar(sa.select(Command).where(Command.id == command_id, Command.device_id == device.id,
                                                         Command.org_id == device.org_id).with_for_update())
    if command is None:
        raise CommandError("not_found", "No such command for this device.", 404)
    allowed = TRANSITIONS.get(command.status, ())
    if clean["status"] not in allowed:
        raise CommandError("bad_transition", f"The command is {command.status}; it cannot become {clean['status']}.")
    now = utcnow()
    # An agent may always say it refused an expired command; it may say it ran one only if
    # it fetched it while it was valid (its report can arrive after the expiry).
    fetched_in_time = command.picked_up_at is not None and command.picked_up_at < command.expires_at
    if (command.status == "pending" and command.expires_at <= now and clean["status"] != "failed"
            and not fetched_in_time):
        raise CommandError("command_expired", "The command expired before it was started.")
    old = command.status
    command.status = clean["status"]
    command.picked_up_at = command.picked_up_at or now
    if clean["result"] is not None:
        command.result = clean["result"]
    if clean["error"]:
        command.error_message = clean["error"]
    if clean["status"] in ("completed", "failed"):
        command.completed_at = now
    audit.record("command.reported", resource_type="command", resource_id=command.id, org_id=device.org_id,
                 actor_type="agent", actor_label=_agent_label(device), old={"status": old},
                 new={"status": command.status, "error": clean["error"]},
                 result="failure" if clean["status"] == "failed" else "success")
    return command


def _stale() -> sa.Select:
    return sa.select(Command).where(Command.status.in_(("pending", "awaiting_approval")),
                                    Command.expires_at <= utcnow())


def has_stale_commands() -> bool:
    """The expiry job's only_if."""
    return db.session.scalar(sa.select(sa.exists(_stale().subquery().select()))) or False


def expire_stale() -> int:
    """Mark pending and unapproved commands past their expiry as expired (each audited)."""
    rows = db.session.scalars(_stale().order_by(Command.id).with_for_update(skip_locked=True)).all()
    for command in rows:
        old = command.status
        command.status = "expired"
        audit.record("command.expired", resource_type="command", resource_id=command.id, org_id=command.org_id,
                     actor_type="system", actor_label="fleet.expire_commands", old={"status": old},
                     new={"status": "expired"})
    return len(rows)


FINISHED = ("completed", "failed", "expired", "canceled")


def _old_finished() -> sa.Select:
    cutoff = utcnow() - timedelta(days=get_setting("fleet.commands_keep_days"))
    return sa.select(Command.id).where(Command.status.in_(FINISHED), Command.created_at < cutoff)


def has_old_commands() -> bool:
    """The prune job's only_if."""
    return db.session.scalar(_old_finished().limit(1)) is not None


def prune_finished() -> int:
    """Delete finished commands older than `fleet.commands_keep_days` (one audit row per run;
    each command's own audit rows stay, so its history outlives it)."""
    ids = db.session.scalars(_old_finished()).all()
    if ids:
        db.session.execute(sa.delete(Command).where(Command.id.in_(ids)))
        audit.record("command.pruned", resource_type="command", actor_type="system", actor_label="fleet.prune_commands",
                     details={"deleted": len(ids), "first_id": min(ids), "last_id": max(ids)})
    return len(ids)


def device_commands(device: Device, limit: int = 50) -> list[Command]:
    return db.session.scalars(sa.select(Command).where(Command.device_id == device.id, Command.org_id == device.org_id)
                              .order_by(Command.id.desc()).limit(limit)).all()
