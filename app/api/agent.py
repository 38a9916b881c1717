"""The fleet agent's endpoints: enrol with a claim code, then heartbeats with the device key."""

from __future__ import annotations

from datetime import datetime

from flask import request

from app import audit
from app.api.auth import api_error, credential, principal, require_scope
from app.api.blueprint import bp
from app.api.openapi_agent import AGENT_MAX_BYTES, ENROLMENT, HEARTBEAT, known_fields
from app.api.tokens import Principal, claim_device
from app.auth.api_keys import digest
from app.core.hygiene import body_limit
from app.fleet import heartbeat_fast, ingest, services
from app.fleet.signing import public_key
from app.models import db, utcnow


def _body() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


@bp.post("/agent/enrol")
@body_limit(AGENT_MAX_BYTES)
def agent_enrol():
    """Enrol a device: claim code and facts in; device id, key, overlay IP and WireGuard config out."""
    data = _body()
    if data is None:
        return api_error(422, "validation_error", "Send a JSON object.", fields={"body": "a JSON object"})
    data, ignored = known_fields(data, ENROLMENT)
    try:
        result = services.enrol(data, request.remote_addr)
    except services.FleetError as exc:
        db.session.rollback()
        extra = {"fields": exc.fields} if exc.fields else {}
        return api_error(exc.status, exc.code, str(exc), **extra)
    db.session.commit()
    device = result.device
    answer = {"device_id": device.id, "api_key": result.api_key, "heartbeat_interval": device.heartbeat_interval,
              "command_public_key": public_key(),
              "overlay_ip": device.overlay_ip, "wireguard_config": result.wireguard_config}
    return ({**answer, "ignored": ignored[:50]} if ignored else answer), 201


def _prepared(p: Principal, now: datetime) -> tuple[dict, list[str], dict] | None:
    """The heartbeat's known fields, the ignored ones and its clean values, when the body is a
    valid heartbeat of the key's own device; None otherwise (the full path answers the error,
    after confirming the key, as it always has)."""
    data = _body()
    if data is None or data.get("device_id") not in (None, p.device_id):
        return None
    data, ignored = known_fields(data, HEARTBEAT)
    try:
        return data, ignored, ingest.validate(data, now)
    except ingest.PayloadError:
        return None


@bp.post("/agent/heartbeat")
@body_limit(AGENT_MAX_BYTES)
@require_scope("heartbeat")
def agent_heartbeat():
    """Store one heartbeat of the key's own device (another device's id is refused); only
    documented fields are kept, and a replay of the same timestamp is answered as a duplicate."""
    p = principal()
    if p.device_id is None:
        return api_error(403, "device_key_required", "Heartbeats are sent with a device's own key.")
    now, prepared = utcnow(), None
    # The one-statement path: a cached key, from the address it was last used from (a new
    # address goes through the full check and its threat-intel matching), on PostgreSQL.
    if not p.confirmed and p.last_ip == request.remote_addr and db.session.get_bind().dialect.name == "postgresql":
        prepared = _prepared(p, now)
        if prepared is not None:
            data, ignored, clean = prepared
            stored = heartbeat_fast.store(key_id=p.key_id, key_hash=digest(credential()), device_id=p.device_id,
                                          org_id=p.org_id, key_ip=request.remote_addr, public_ip=audit.client_ip(),
                                          data=data, clean=clean, now=now)
            if stored is not None:
                db.session.commit()
                answer = {"ok": True, "device_id": p.device_id, "received_at": stored.received_at.isoformat(),
                          "heartbeat_interval": stored.heartbeat_interval, "duplicate": False}
                if ignored:
                    answer["ignored"] = ignored[:50]
                return answer, 202
            # Something about the device or its key changed: the statement wrote nothing; the
            # full path below decides (and validates nothing twice).
            db.session.rollback()
    # Locked: two copies of one heartbeat arriving together are stored once (ingest's dedupe).
    # The same statement confirms the (cached) key: revoked, expired or out of service is a 401.
    device = claim_device(p, credential(), request.remote_addr)
    if device is None:
        db.session.rollback()
        return api_error(401, "invalid_api_key", "The API key is unknown, revoked or expired, or its device is "
                         "removed or suspended.")
    data = _body()
    if data is None:
        db.session.rollback()
        return api_error(422, "validation_error", "Send a JSON object.", fields={"body": "a JSON object"})
    claimed = data.get("device_id")
    if claimed is not None and claimed != p.device_id:
        db.session.rollback()
        return api_error(403, "wrong_device", "This key belongs to another device.")
    data, ignored = known_fields(data, HEARTBEAT)
    try:
        stored = ingest.ingest(device, data, ip=audit.client_ip(), clean=prepared[2] if prepared else None,
                               now=now)
    except ingest.PayloadError as exc:
        db.session.rollback()
        return api_error(422, "validation_error", str(exc), fields=exc.fields)
    # Read before the commit expires the rows (reading after it would load both again).
    answer = {"ok": True, "device_id": device.id, "received_at": stored.heartbeat.received_at.isoformat(),
              "heartbeat_interval": device.heartbeat_interval, "duplicate": stored.duplicate}
    db.session.commit()
    if ignored:
        answer["ignored"] = ignored[:50]
    return answer, 200 if stored.duplicate else 202
