"""The fleet resources of the JSON API for operators: devices (with status, type and name
filters), one device, its alerts, the commands sent to devices, and sending one: the same
service as the device's Commands tab (app/fleet/commands.py: the role's tier, validation of
the parameters, signing, audit; a recovery command waits for a second admin's approval on
the page). Answers never carry a command's payload or signature."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.alerting.serialize import ALERT_SCHEMA, alert_json
from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import (
    actor,
    owned,
    problem,
    register_schema,
    register_scope,
    resource,
)
from app.fleet import commands
from app.fleet.services import is_online
from app.models import Alert, Command, Device
from app.models.fleet import DEVICE_STATUSES, DEVICE_TYPES
from app.models.fleet_ops import COMMAND_STATUSES

register_scope("fleet:read", "data.read")
# Sending commands: the scope needs the lowest tier's permission; each command's own tier is
# checked again by the service against the key's user (an operator cannot reboot).
register_scope("fleet:write", "fleet.command_safe")
ALERT = register_schema("Alert", ALERT_SCHEMA)

NULL_STR, NULL_TIME = {"type": ["string", "null"]}, {"type": ["string", "null"], "format": "date-time"}
DEVICE = register_schema("Device", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "hostname": {"type": "string"},
    "type": {"type": "string"}, "status": {"type": "string"}, "online": {"type": "boolean"},
    "site_id": {"type": ["integer", "null"]}, "environment": {"type": "string"}, "overlay_ip": NULL_STR,
    "local_ip": NULL_STR, "public_ip": NULL_STR, "os_type": NULL_STR, "os_version": NULL_STR,
    "tags": {"type": "array", "items": {"type": "string"}}, "last_seen_at": NULL_TIME,
    "enrolled_at": NULL_TIME}})
ALERT = register_schema("Alert", ALERT_SCHEMA)
COMMAND = register_schema("FleetCommand", {"type": "object", "properties": {
    "id": {"type": "integer"}, "device_id": {"type": "integer"}, "type": {"type": "string"},
    "tier": {"type": "string"}, "status": {"type": "string"}, "error": NULL_STR,
    "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
    "approved_at": NULL_TIME, "completed_at": NULL_TIME}})
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def device_json(d: Device) -> dict[str, Any]:
    return {"id": d.id, "name": d.label, "hostname": d.hostname, "type": d.device_type, "status": d.status,
            "online": is_online(d), "site_id": d.site_id, "environment": d.environment, "overlay_ip": d.overlay_ip,
            "local_ip": d.local_ip, "public_ip": d.public_ip, "os_type": d.os_type, "os_version": d.os_version,
            "tags": list(d.tags or []), "last_seen_at": iso(d.last_seen_at), "enrolled_at": iso(d.enrolled_at)}


def command_json(c: Command) -> dict[str, Any]:
    """A command without its payload or signature: those are for the device."""
    return {"id": c.id, "device_id": c.device_id, "type": c.command_type, "tier": c.tier, "status": c.status,
            "error": c.error_message, "created_at": iso(c.created_at), "expires_at": iso(c.expires_at),
            "approved_at": iso(c.approved_at), "completed_at": iso(c.completed_at)}


DEVICE_FILTERS = (
    {"name": "status", "in": "query", "schema": {"enum": list(DEVICE_STATUSES)}},
    {"name": "type", "in": "query", "schema": {"enum": list(DEVICE_TYPES)}},
    {"name": "site_id", "in": "query", "schema": ID},
    {"name": "q", "in": "query", "description": "part of the name, hostname or an IP address",
     "schema": {"type": "string", "maxLength": 100}},
)


@resource("/fleet/devices", "GET", "fleet:read", "Devices", page_schema(DEVICE), tag="fleet",
          query=(*PAGE_PARAMS, *DEVICE_FILTERS))
def device_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's devices (not decommissioned-and-deleted ones), newest first."""
    stmt = sa.select(Device).where(Device.org_id == principal().org_id, Device.deleted_at.is_(None))
    for name, column in (("status", Device.status), ("type", Device.device_type), ("site_id", Device.site_id)):
        if q.get(name) is not None:
            stmt = stmt.where(column == q[name])
    if q.get("q"):
        like = "%" + q["q"].strip().replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(sa.or_(Device.hostname.ilike(like), Device.device_name.ilike(like),
                                 Device.overlay_ip.ilike(like), Device.local_ip.ilike(like),
                                 Device.public_ip.ilike(like)))
    return paginate(stmt, Device.id, q, device_json)


@resource("/fleet/devices/{device_id}", "GET", "fleet:read", "One device", DEVICE, tag="fleet")
def device_detail(q: dict[str, Any], data: None, device_id: int) -> dict[str, Any]:
    """One device of the organization."""
    return device_json(owned(Device, device_id, "device"))


@resource("/fleet/devices/{device_id}/alerts", "GET", "fleet:read", "A device's alerts", page_schema(ALERT),
          tag="fleet", query=PAGE_PARAMS)
def device_alerts(q: dict[str, Any], data: None, device_id: int) -> dict[str, Any]:
    """Every alert of one device (any status), newest first."""
    device = owned(Device, device_id, "device")
    stmt = sa.select(Alert).where(Alert.org_id == device.org_id, Alert.device_id == device.id)
    return paginate(stmt, Alert.id, q, alert_json)


@resource("/fleet/commands", "GET", "fleet:read", "Commands sent to devices", page_schema(COMMAND), tag="fleet",
          query=(*PAGE_PARAMS, {"name": "device_id", "in": "query", "schema": ID},
                 {"name": "status", "in": "query", "schema": {"enum": list(COMMAND_STATUSES)}}))
def command_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Commands of the organization's devices, newest first (without payloads or signatures)."""
    stmt = sa.select(Command).where(Command.org_id == principal().org_id)
    if q.get("device_id") is not None:
        stmt = stmt.where(Command.device_id == q["device_id"])
    if q.get("status"):
        stmt = stmt.where(Command.status == q["status"])
    return paginate(stmt, Command.id, q, command_json)


# The types the Commands tab offers (backup commands are sent by the Backups tab, with the
# snapshots they name).
ISSUABLE = [kind for kinds in commands.TIERS.values() for kind in kinds if kind not in commands.BACKUP_TYPES]
ISSUE = {"type": "object", "required": ["type"], "additionalProperties": False,
         "description": "`hostname` goes with change_hostname, `services` with restart_services; other types "
                        "take neither.",
         "properties": {
             "type": {"enum": ISSUABLE, "description": "safe: " + ", ".join(commands.TIERS["safe"])
                      + "; system (admins): " + ", ".join(commands.TIERS["system"])
                      + "; recovery (admins, approved by a second admin): " + ", ".join(commands.TIERS["recovery"])},
             "hostname": {"type": "string", "minLength": 1, "maxLength": 63},
             "services": {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1,
                                                                     "maxLength": 100}}}}


@resource("/fleet/devices/{device_id}/commands", "POST", "fleet:write", "Send a signed command to a device",
          COMMAND, tag="fleet", body=ISSUE, status=201, errors=(409,))
def command_issue(q: dict[str, Any], data: dict[str, Any], device_id: int) -> dict[str, Any]:
    """Queue a command as the device's Commands tab does: signed for the agent's next poll, or
    awaiting a second admin's approval (recovery); 403 beyond the role's tier, 409 for a device
    that is not enrolled (audited)."""
    device = owned(Device, device_id, "device")
    payload = {"hostname": data.get("hostname", "")} if data["type"] == "change_hostname" else \
        {"services": data.get("services", [])} if data["type"] == "restart_services" else {}
    extra = sorted(set(data) - {"type", *payload})
    if extra:
        problem(422, "validation_error", f"{data['type']} takes no {extra[0]}.", fields={extra[0]: "not for this type"})
    try:
        command = commands.issue(device, data["type"], payload, actor())
    except commands.CommandError as exc:
        problem(exc.status, exc.code, str(exc), **({"fields": exc.fields} if exc.fields else {}))
    return command_json(command)
