"""Evidence for controls: uploaded files, links to Vigil records, and automatic snapshots.

Files are typed by their first bytes (app/uploads.py's sniffer), limited in size and kept
under instance/compliance-evidence/<org id>/ with random names; only users with
`compliance.evidence` may download them. Evidence has a date and a validity; expiring
evidence is notified once, and a compliant control whose evidence has all lapsed falls back
to partial (the score is then recomputed, never adjusted).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.compliance import services
from app.core import linkable
from app.models import ComplianceControl, ComplianceEvidence, db, utcnow
from app.notifications.services import app_path, notify
from app.uploads import TooLarge, copy_limited, sniff, stored_file

MAX_BYTES = 20 * 1024 * 1024
EXPIRY_NOTICE = timedelta(days=14)
ALLOWED_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "text/plain": "txt"}


class EvidenceError(ValueError):
    """Evidence that is refused (answered 422, or 413 when too large)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def evidence_root() -> Path:
    """instance/compliance-evidence, or COMPLIANCE_EVIDENCE_DIR when set (tests use a temporary folder)."""
    configured = current_app.config.get("COMPLIANCE_EVIDENCE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "compliance-evidence"


def of_control(control_id: int) -> list[ComplianceEvidence]:
    return list(db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.control_id == control_id, ComplianceEvidence.deleted_at.is_(None))
        .order_by(ComplianceEvidence.evidence_date.desc(), ComplianceEvidence.id.desc())))


def new_row(control: ComplianceControl, user_id: int | None, title: str, kind: str,
             evidence_date: datetime | None, validity_days: int | None, **extra: Any) -> ComplianceEvidence:
    when = evidence_date or utcnow()
    row = ComplianceEvidence(org_id=control.org_id, control_id=control.id, evidence_type=kind, title=title[:255],
                             uploaded_by_user_id=user_id, evidence_date=when,
                             valid_until=when + timedelta(days=validity_days) if validity_days else None, **extra)
    db.session.add(row)
    db.session.flush()
    return row


def save_upload(control: ComplianceControl, stream: IO[bytes], filename: str, title: str, user_id: int | None,
                evidence_date: datetime | None = None, validity_days: int | None = 90) -> ComplianceEvidence:
    """Store a file as evidence: size-limited, typed by its bytes, hashed."""
    folder = evidence_root() / str(control.org_id)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / secrets.token_hex(16)
    try:
        stored = copy_limited(stream, dest, MAX_BYTES, head_bytes=512)
    except TooLarge:
        raise EvidenceError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", 413) from None
    mime = sniff(stored.head) if stored.size else None
    if mime not in ALLOWED_TYPES:
        dest.unlink(missing_ok=True)
        raise EvidenceError("Only PDF, PNG, JPEG and plain-text files are accepted as evidence.")
    row = new_row(control, user_id, title or filename, "document", evidence_date, validity_days,
                   file_path=str(dest.relative_to(evidence_root())), file_size=stored.size, file_type=mime,
                   sha256=stored.sha256, description=filename[:255])
    _evidence_changed(control, row, "compliance.evidence_uploaded")
    return row


def add_link(control: ComplianceControl, link_type: str, link_id: str, title: str, user_id: int | None,
             validity_days: int | None = 90) -> ComplianceEvidence:
    """Link a Vigil record (any registered linkable type of the organization) as evidence."""
    target = linkable.resolve(control.org_id, link_type, link_id)
    if target is None:
        raise EvidenceError("No such record in this organization.")
    kind = linkable.TYPES[link_type]
    row = new_row(control, user_id, title or kind.title(target), "link", None, validity_days,
                   link_type=link_type, link_id=int(link_id) if link_id.isdigit() else None,
                   description=f"{kind.label}: {kind.title(target)}"[:2000])
    _evidence_changed(control, row, "compliance.evidence_linked")
    return row


def add_snapshot(control: ComplianceControl, title: str, snapshot: dict[str, Any], digest: str,
                 validity_days: int) -> ComplianceEvidence:
    """Attach a frozen automatic snapshot (its hash is already sealed in the audit chain)."""
    row = new_row(control, None, title, "automatic", None, validity_days, snapshot=snapshot, sha256=digest,
                  description="Generated by Vigil from its own telemetry")
    control.evidence_summary = summary(control.id)
    return row


def file_of(row: ComplianceEvidence) -> Path | None:
    return stored_file(evidence_root(), row.file_path)


def _evidence_changed(control: ComplianceControl, row: ComplianceEvidence, action: str) -> None:
    control.evidence_summary = summary(control.id)
    audit.record(action, resource_type="compliance_evidence", resource_id=row.id, org_id=control.org_id,
                 new={"control_id": control.id, "title": row.title, "sha256": row.sha256,
                      "valid_until": row.valid_until.isoformat() if row.valid_until else None})


def summary(control_id: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    rows = of_control(control_id)
    valid = sum(1 for r in rows if r.valid_until is None or r.valid_until > now)
    return f"{valid} valid of {len(rows)} evidence item(s)"


def expiring(org_id: int, now: datetime | None = None, within: timedelta = EXPIRY_NOTICE) -> list[ComplianceEvidence]:
    """Evidence that lapses within `within` (and not yet lapsed), soonest first."""
    now = now or utcnow()
    return list(db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.org_id == org_id, ComplianceEvidence.deleted_at.is_(None),
        ComplianceEvidence.valid_until.is_not(None), ComplianceEvidence.valid_until > now,
        ComplianceEvidence.valid_until <= now + within).order_by(ComplianceEvidence.valid_until)))


def check_expiry(now: datetime | None = None) -> dict[str, int]:
    """Notify each expiring item once; drop compliant controls whose evidence all lapsed to partial."""
    now = now or utcnow()
    notified = downgraded = 0
    soon = db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.deleted_at.is_(None), ComplianceEvidence.expiry_notified_at.is_(None),
        ComplianceEvidence.valid_until.is_not(None), ComplianceEvidence.valid_until > now,
        ComplianceEvidence.valid_until <= now + EXPIRY_NOTICE)).all()
    for row in soon:
        control = db.session.get(ComplianceControl, row.control_id)
        row.expiry_notified_at = now
        notify(row.org_id, "compliance.evidence_expiring", f"Evidence for {control.control_id} lapses soon",
               body=f"{row.title} is valid until {row.valid_until:%Y-%m-%d}.", severity="warning",
               user_ids=[control.assigned_to_user_id] if control.assigned_to_user_id else None,
               link=app_path("compliance.control_detail", control_id=control.id))
        audit.record("compliance.evidence_expiry_notified", resource_type="compliance_evidence", resource_id=row.id,
                     org_id=row.org_id, actor_type="system", actor_label="evidence expiry")
        notified += 1
    lapsed_controls = db.session.scalars(sa.select(ComplianceControl).where(
        ComplianceControl.status == "compliant", ComplianceControl.deleted_at.is_(None),
        sa.exists().where(ComplianceEvidence.control_id == ComplianceControl.id,
                          ComplianceEvidence.deleted_at.is_(None)),
        ~sa.exists().where(ComplianceEvidence.control_id == ComplianceControl.id,
                           ComplianceEvidence.deleted_at.is_(None),
                           sa.or_(ComplianceEvidence.valid_until.is_(None), ComplianceEvidence.valid_until > now)),
    )).all()
    for control in lapsed_controls:
        control.status = "partial"
        control.evidence_summary = summary(control.id, now)
        services.recompute(control.assessment, reason="evidence expired")
        audit.record("compliance.control_evidence_lapsed", resource_type="compliance_control",
                     resource_id=control.id, org_id=control.org_id, actor_type="system",
                     actor_label="evidence expiry", old={"status": "compliant"}, new={"status": "partial"})
        downgraded += 1
    return {"notified": notified, "downgraded": downgraded}


def frozen(payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The snapshot as stored, and the SHA-256 of its canonical JSON (what the audit chain seals)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return json.loads(canonical), hashlib.sha256(canonical.encode()).hexdigest()
