"""The fleet agent's facts endpoint: an inventory snapshot of the key's own device."""

from __future__ import annotations

from flask import request

from app.api.auth import api_error, principal, require_scope
from app.api.blueprint import bp
from app.api.openapi_agent import FACTS, FACTS_MAX_BYTES, known_fields
from app.core.hygiene import body_limit
from app.fleet import facts, ingest
from app.models import Device, db


@bp.post("/agent/facts")
@body_limit(FACTS_MAX_BYTES)
@require_scope("facts")
def agent_facts():
    """Store one facts snapshot of the key's own device (the newest N are kept)."""
    p = principal()
    if p.device_id is None:
        return api_error(403, "device_key_required", "Facts are sent with a device's own key.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        db.session.rollback()
        return api_error(422, "validation_error", "Send a JSON object.", fields={"body": "a JSON object"})
    data, ignored = known_fields(data, FACTS)  # the facts object itself is free-form
    claimed = data.get("device_id")
    if claimed is not None and claimed != p.device_id:
        db.session.rollback()
        return api_error(403, "wrong_device", "This key belongs to another device.")
    device = db.session.get(Device, p.device_id)
    try:
        row, changes = facts.store(device, data)
    except ingest.PayloadError as exc:
        db.session.rollback()
        return api_error(422, "validation_error", "The facts payload is not valid.", fields=exc.fields)
    db.session.commit()
    answer = {"ok": True, "device_id": device.id, "snapshot_id": row.id,
              "changes": {kind: len(items) for kind, items in changes.items()}}
    return ({**answer, "ignored": ignored[:50]} if ignored else answer), 201
