"""Anchoring the audit chain's tail outside the database (issue 11.9).

The hash chain shows a changed or removed row in the middle, but not rows removed from
the end: the shorter chain is still a valid chain. So a periodic job writes a checkpoint
of the head, {row_id, row_hash, at}, signed with the server's Ed25519 key (the fleet
signing key, which lives in the configuration, not in the database), as one JSON line in
instance/audit-checkpoints.jsonl (append-only), and optionally POSTs it to
VIGIL_AUDIT_CHECKPOINT_WEBHOOK (a system outside this host's reach). Verification then
requires the newest checkpointed row to be present with the same hash.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app

from app.audit import ChainReport, verify_chain
from app.models import AuditLog, db, utcnow
from app.outbound import OutboundRefused, check_host
from app.signing import public_key, signing_key
from vigil_agent.protocol import key_bytes

CHECKPOINT_FILE = "audit-checkpoints.jsonl"
SIGNED_FIELDS = ("row_id", "row_hash", "at")
WEBHOOK_TIMEOUT = 10


@dataclass
class TailReport:
    ok: bool
    checkpoint: dict[str, Any] | None = None
    reason: str | None = None


def checkpoint_path() -> Path:
    return Path(current_app.config.get("AUDIT_CHECKPOINT_FILE") or Path(current_app.instance_path) / CHECKPOINT_FILE)


def signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    return json.dumps({f: checkpoint[f] for f in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def head() -> tuple[int, str] | None:
    row = db.session.execute(sa.select(AuditLog.id, AuditLog.row_hash).order_by(AuditLog.id.desc()).limit(1)).first()
    return (row.id, row.row_hash) if row else None


def read_checkpoints() -> list[dict[str, Any]]:
    """Every well-formed line of the checkpoint file, oldest first."""
    path = checkpoint_path()
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and all(f in item for f in (*SIGNED_FIELDS, "signature", "public_key")):
            found.append(item)
    return found


def is_signed_by_us(checkpoint: dict[str, Any]) -> bool:
    """Only checkpoints signed by this server's key count: anyone with write access to the
    file could append a line, but not sign it."""
    if checkpoint.get("public_key") != public_key():
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(key_bytes(checkpoint["public_key"], "public key"))
        key.verify(base64.b64decode(checkpoint["signature"], validate=True), signed_bytes(checkpoint))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def newest_checkpoint() -> dict[str, Any] | None:
    return next((c for c in reversed(read_checkpoints()) if is_signed_by_us(c)), None)


def has_new_head() -> bool:
    """For the scheduler: a checkpoint is only worth writing when the head moved."""
    current = head()
    if current is None:
        return False
    last = newest_checkpoint()
    return last is None or (last["row_id"], last["row_hash"]) != current


def write_checkpoint() -> dict[str, Any] | None:
    """Sign the current head and append it to the file (fsynced); None for an empty log."""
    current = head()
    if current is None:
        return None
    checkpoint: dict[str, Any] = {"row_id": current[0], "row_hash": current[1],
                                  "at": utcnow().isoformat(timespec="seconds")}
    checkpoint["signature"] = base64.b64encode(signing_key().sign(signed_bytes(checkpoint))).decode()
    checkpoint["public_key"] = public_key()
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "a") as handle:
        handle.write(json.dumps(checkpoint, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return checkpoint


def post_checkpoint(checkpoint: dict[str, Any]) -> str | None:
    """POST the checkpoint to the configured webhook; None when sent or not configured,
    else why it failed (the file copy is already written)."""
    url = current_app.config.get("AUDIT_CHECKPOINT_WEBHOOK")
    if not url:
        return None
    parts = urlsplit(url)
    try:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRefused("the webhook must be an http(s) URL")
        check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        request = urllib.request.Request(url, data=json.dumps(checkpoint).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "vigil-audit-checkpoint/1"})
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - checked above
            if response.status >= 300:
                return f"the webhook answered {response.status}"
    except (OutboundRefused, urllib.error.URLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def verify_tail() -> TailReport:
    """The newest checkpoint's row must still be in the table with the same hash."""
    checkpoint = newest_checkpoint()
    if checkpoint is None:
        return TailReport(True, None, "no signed checkpoint yet: the tail is not anchored")
    row_hash = db.session.scalar(sa.select(AuditLog.row_hash).where(AuditLog.id == checkpoint["row_id"]))
    if row_hash is None:
        return TailReport(False, checkpoint,
                          f"truncated tail: row {checkpoint['row_id']} (checkpointed {checkpoint['at']}) is missing")
    if row_hash != checkpoint["row_hash"]:
        return TailReport(False, checkpoint,
                          f"row {checkpoint['row_id']} differs from its checkpoint of {checkpoint['at']}")
    return TailReport(True, checkpoint)


def verify_with_tail(progress: Callable[[int, str], None] | None = None) -> ChainReport:
    """The chain walk (app.audit.verify_chain) plus the tail check against the newest
    checkpoint; a truncated or changed tail is reported as the chain's first break."""
    report = verify_chain(progress=progress)
    if not report.ok:
        return report
    tail = verify_tail()
    if tail.ok:
        return report
    return ChainReport(report.checked, False, tail.checkpoint["row_id"] if tail.checkpoint else None, tail.reason)
