"""Writing and verifying the append-only, hash-chained audit log.

`record()` adds the row to the caller's session, so the audit row commits (or rolls
back) together with the change it describes. The chain: row_hash =
SHA-256(prev_hash + canonical JSON of the row's content). On PostgreSQL a transaction
advisory lock serializes appends, so two writers never chain onto the same row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from app.models import AuditLog, db, utcnow
from app.tenancy import current_org_id

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the audit chain's advisory lock.
AUDIT_LOCK_KEY = 0x56494731  # "VIG1"
HASHED_FIELDS = (
    "created_at", "org_id", "actor_type", "user_id", "actor_label", "user_role", "action",
    "resource_type", "resource_id", "old_values", "new_values", "details", "ip_address",
    "user_agent", "result", "error_message",
)


def canonical_content(row: AuditLog) -> str:
    """The row's content as one stable string (sorted keys, UTC ISO timestamp)."""
    data: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, row: AuditLog) -> str:
    return hashlib.sha256((prev_hash + canonical_content(row)).encode()).hexdigest()


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def _last_hash() -> str:
    """The hash to chain onto, read under a lock held until this transaction ends."""
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    elif bind.dialect.name == "sqlite":
        # A write statement (touching no row) takes SQLite's single write lock now, so no
        # other connection can append between our read and our commit.
        db.session.execute(sa.text("UPDATE audit_log SET id = id WHERE 0"))
    last = db.session.scalar(sa.select(AuditLog.row_hash).order_by(AuditLog.id.desc()).limit(1))
    return last or GENESIS_HASH


def jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return json.loads(json.dumps(values, default=str))


def record(
    action: str,
    *,
    resource_type: str | None = None,
    resource_id: Any = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    org_id: int | None = None,
    result: str = "success",
    error: str | None = None,
    actor: Any = None,
    actor_type: str | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    """Append one audit row for a state change, in the current transaction.

    The actor defaults to the signed-in user; jobs and agents pass actor_type and label.
    """
    if actor is None and has_request_context() and getattr(current_user, "is_authenticated", False):
        actor = current_user._get_current_object()
    if org_id is None and actor is not None:

        org_id = current_org_id() if has_request_context() else getattr(actor, "org_id", None)
    row = AuditLog(
        created_at=utcnow(),
        org_id=org_id,
        actor_type=actor_type or ("user" if actor is not None else "system"),
        user_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "email", None),
        user_role=getattr(actor, "role", None),
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        old_values=jsonable(old),
        new_values=jsonable(new),
        details=jsonable(details),
        ip_address=client_ip(),
        user_agent=request.headers.get("User-Agent", "")[:500] if has_request_context() else None,
        result=result,
        error_message=error,
    )
    row.prev_hash = _last_hash()
    row.row_hash = chain_hash(row.prev_hash, row)
    db.session.add(row)
    db.session.flush()
    return row


def changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (old, new)."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


@dataclass
class ChainReport:
    checked: int
    ok: bool
    first_broken_id: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "first_broken_id": self.first_broken_id,
            "reason": self.reason,
        }


def verify_chain(
    progress: Callable[[int, str], None] | None = None, batch_size: int = 2000
) -> ChainReport:
    """Walk the whole chain in id order; report the first row whose link is broken."""
    total = db.session.scalar(sa.select(sa.func.count(AuditLog.id))) or 0
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    rows: list[AuditLog] = []
    while True:
        rows.clear()  # release the previous batch before the next one is loaded
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(checked, False, row.id, "previous-hash link does not match")
            if chain_hash(prev, row) != row.row_hash:
                return ChainReport(checked, False, row.id, "row content does not match its hash")
            prev = row.row_hash
            checked += 1
            last_id = row.id
            db.session.expunge(row)  # keep memory flat on long chains
        if progress and total:
            progress(int(checked * 100 / total), f"checked {checked} of {total} rows")
    return ChainReport(checked, True)
