"""Device facts: inventory snapshots an agent sends (hardware, OS, packages, versions), the
latest N kept per device, and the difference between two snapshots.

Validation happens before any write, so a bad payload stores nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.core.settings_registry import get_setting
from app.fleet.ingest import MAX_AGE, MAX_CLOCK_SKEW, PayloadError
from app.fleet.payload import Checker
from app.models import Device, DeviceFacts, db, utcnow

MAX_BYTES = 256 * 1024
MAX_DEPTH = 8
MAX_KEY = 200
# List items with one of these keys are matched by it, not by position (disks by mount...).
ITEM_KEYS = ("name", "mount", "id", "device", "path")


def keep_count() -> int:
    return get_setting("fleet.facts_keep")


def _shape_errors(value: Any, path: str, depth: int, errors: dict[str, str]) -> None:
    if depth > MAX_DEPTH:
        errors[path] = f"nested at most {MAX_DEPTH} levels"
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY:
                errors[f"{path}.{str(key)[:40]}"] = f"keys are 1 to {MAX_KEY} characters"
                continue
            _shape_errors(item, f"{path}.{key}", depth + 1, errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _shape_errors(item, f"{path}[{i}]", depth + 1, errors)
    elif isinstance(value, float) and value != value:
        errors[path] = "a number, not NaN"


def validate(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The clean snapshot ({"facts", "collected_at"}), or PayloadError with every field error."""
    c = Checker()
    facts = data.get("facts")
    if not isinstance(facts, dict) or not facts:
        c.errors["facts"] = "a non-empty JSON object"
    else:
        if len(json.dumps(facts, default=str)) > MAX_BYTES:
            c.errors["facts"] = f"at most {MAX_BYTES // 1024} KB of JSON"
        else:
            _shape_errors(facts, "facts", 1, c.errors)
    collected = c.when(data, "collected_at", "collected_at") or now
    if collected > now + MAX_CLOCK_SKEW or collected < now - MAX_AGE:
        c.errors["collected_at"] = "within 24 hours before and 5 minutes after the server's time"
    if c.errors:
        raise PayloadError(c.errors)
    return {"facts": facts, "collected_at": collected}


def latest(device_id: int) -> DeviceFacts | None:
    return db.session.scalar(sa.select(DeviceFacts).where(DeviceFacts.device_id == device_id)
                             .order_by(DeviceFacts.collected_at.desc(), DeviceFacts.id.desc()).limit(1))


def store(device: Device, data: dict[str, Any]) -> tuple[DeviceFacts, dict[str, Any]]:
    """Validate and store one snapshot; returns it and its difference from the previous one.

    A snapshot that changes something is audited (an inventory change); an identical one is
    telemetry, like a heartbeat.
    """
    now = utcnow()
    clean = validate(data, now)
    previous = latest(device.id)
    row = DeviceFacts(device_id=device.id, facts=clean["facts"], collected_at=clean["collected_at"], received_at=now)
    db.session.add(row)
    db.session.flush()
    changes = diff(previous.facts if previous else {}, clean["facts"])
    if previous is not None and not is_empty(changes):
        audit.record("device.facts_changed", resource_type="device", resource_id=device.id, org_id=device.org_id,
                     actor_type="agent", actor_label=f"agent {device.hostname}",
                     details={"snapshot_id": row.id, "previous_id": previous.id, "summary": summary(changes)})
    prune_device(device.id, keep_count())
    return row, changes


def prune_device(device_id: int, keep: int) -> int:
    """Delete all but the newest `keep` snapshots of one device."""
    newest = (sa.select(DeviceFacts.id).where(DeviceFacts.device_id == device_id)
              .order_by(DeviceFacts.collected_at.desc(), DeviceFacts.id.desc()).limit(keep))
    return db.session.execute(sa.delete(DeviceFacts).where(DeviceFacts.device_id == device_id,
                                                           DeviceFacts.id.not_in(newest.scalar_subquery()))
                              .execution_options(synchronize_session=False)).rowcount or 0


def _ranked() -> Any:
    return sa.select(DeviceFacts.id, sa.func.row_number().over(
        partition_by=DeviceFacts.device_id,
        order_by=(DeviceFacts.collected_at.desc(), DeviceFacts.id.desc())).label("rn")).subquery()


def prune_all(keep: int) -> int:
    """The retention job: every device keeps its newest `keep` snapshots."""
    ranked = _ranked()
    doomed = sa.select(ranked.c.id).where(ranked.c.rn > keep)
    return db.session.execute(sa.delete(DeviceFacts).where(DeviceFacts.id.in_(doomed))
                              .execution_options(synchronize_session=False)).rowcount or 0


def has_excess(keep: int) -> bool:
    ranked = _ranked()
    return db.session.scalar(sa.select(ranked.c.id).where(ranked.c.rn > keep).limit(1)) is not None


# ---------------------------------------------------------------- differences

def _keyed(items: list[Any]) -> tuple[str, dict[str, Any]] | None:
    """Items that are all objects sharing a unique identifying key, as {key value: item}."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ITEM_KEYS:
        values = [i.get(key) for i in items]
        if all(isinstance(v, str | int) for v in values) and len(set(values)) == len(values):
            return key, {str(v): i for v, i in zip(values, items, strict=True)}
    return None


def diff(old: Any, new: Any, path: str = "") -> dict[str, dict[str, Any]]:
    """What changed from `old` to `new`: {"added": {path: value}, "removed": {...}, "changed": {path: [old, new]}}.

    Objects are compared key by key, nested; lists of plain values as sets; lists of
    objects by an identifying key (name, mount, id...) when they have one, else by position.
    """
    out: dict[str, dict[str, Any]] = {"added": {}, "removed": {}, "changed": {}}

    def walk(a: Any, b: Any, p: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                sub = f"{p}.{k}" if p else k
                if k not in a:
                    out["added"][sub] = b[k]
                elif k not in b:
                    out["removed"][sub] = a[k]
                else:
                    walk(a[k], b[k], sub)
        elif isinstance(a, list) and isinstance(b, list):
            if all(not isinstance(i, dict | list) for i in a + b):
                gone = [i for i in a if i not in b]
                came = [i for i in b if i not in a]
                if came:
                    out["added"][f"{p}[]"] = came
                if gone:
                    out["removed"][f"{p}[]"] = gone
                return
            ka, kb = _keyed(a), _keyed(b)
            if ka and kb and ka[0] == kb[0]:
                key, left, right = ka[0], ka[1], kb[1]
                for k in sorted(set(left) | set(right)):
                    sub = f"{p}[{key}={k}]"
                    if k not in left:
                        out["added"][sub] = right[k]
                    elif k not in right:
                        out["removed"][sub] = left[k]
                    else:
                        walk(left[k], right[k], sub)
                return
            for i in range(max(len(a), len(b))):
                sub = f"{p}[{i}]"
                if i >= len(a):
                    out["added"][sub] = b[i]
                elif i >= len(b):
                    out["removed"][sub] = a[i]
                else:
                    walk(a[i], b[i], sub)
        elif a != b or type(a) is not type(b):
            out["changed"][p] = [a, b]

    walk(old, new, path)
    return out


def is_empty(changes: dict[str, dict[str, Any]]) -> bool:
    return not any(changes.values())


def summary(changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts and the first changed paths, small enough for an audit row."""
    return {kind: {"count": len(items), "paths": sorted(items)[:20]} for kind, items in changes.items() if items}


def snapshots(device_id: int) -> list[DeviceFacts]:
    return list(db.session.scalars(sa.select(DeviceFacts).where(DeviceFacts.device_id == device_id)
                                   .order_by(DeviceFacts.collected_at.desc(), DeviceFacts.id.desc())))
