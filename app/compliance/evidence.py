"""Evidence for controls: uploaded files, links to Vigil records, and automatic snapshots.

Files are typed by their first bytes (app/uploads.py's sniffer), limited in size and kept
under instance/compliance-evidence/<org id>/ with random names; only users with
`compliance.evidence` may download them. Evidence has a date and a validity; expiring
evidence is notified once (`compliance.evidence_notice_days` before it lapses), and a
compliant control whose evidence has all lapsed falls back to partial (the score is then
recomputed, never adjusted).

One piece of evidence serves every framework that maps to it: evidence of a control counts for
every other control of the organization linked to one of the same NIST CSF 2.0 subcategories
(`shared_with`), in their evidence summary ("via CSF PR.AA-01 from SOC2 CC6.1") and expiry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from app import audit
from app.compliance import csf, services
from app.core import linkable
from app.core.settings_registry import get_setting
from app.models import (
    ComplianceAssessment,
    ComplianceControl,
    ComplianceEvidence,
    ControlCsfLink,
    db,
    utcnow,
)
from app.notifications.services import app_path, notify
from app.uploads import TooLarge, copy_limited, sniff, stored_file

MAX_BYTES = 20 * 1024 * 1024
NOTICE_SETTING = "compliance.evidence_notice_days"
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


def notice_window() -> timedelta:
    """How long before it lapses evidence is listed as expiring and notified (a platform setting)."""
    return timedelta(days=get_setting(NOTICE_SETTING))


class SharedEvidence(NamedTuple):
    """Evidence of another control that counts for this one through a shared CSF subcategory."""

    row: ComplianceEvidence
    code: str
    source: ComplianceControl

    @property
    def via(self) -> str:
        return f"via CSF {self.code} from {self.source.assessment.framework} {self.source.control_id}"


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
    refresh_summaries(control)
    return row


def file_of(row: ComplianceEvidence) -> Path | None:
    return stored_file(evidence_root(), row.file_path)


def _evidence_changed(control: ComplianceControl, row: ComplianceEvidence, action: str) -> None:
    refresh_summaries(control)
    audit.record(action, resource_type="compliance_evidence", resource_id=row.id, org_id=control.org_id,
                 new={"control_id": control.id, "title": row.title, "sha256": row.sha256,
                      "valid_until": row.valid_until.isoformat() if row.valid_until else None})


def shared_with(control: ComplianceControl) -> list[SharedEvidence]:
    """Live evidence of the organization's other live controls linked to one of this control's CSF
    subcategories (each item once, through its first subcategory), newest first."""
    mine, theirs = aliased(ControlCsfLink), aliased(ControlCsfLink)
    rows = db.session.execute(
        sa.select(ComplianceEvidence, mine.subcategory_code, ComplianceControl)
        .join(theirs, theirs.control_id == ComplianceEvidence.control_id)
        .join(mine, sa.and_(mine.subcategory_code == theirs.subcategory_code, mine.org_id == theirs.org_id))
        .join(ComplianceControl, ComplianceControl.id == theirs.control_id)
        .join(ComplianceAssessment, ComplianceAssessment.id == ComplianceControl.assessment_id)
        .where(mine.control_id == control.id, mine.org_id == control.org_id, ComplianceControl.id != control.id,
               ComplianceEvidence.org_id == control.org_id, ComplianceEvidence.deleted_at.is_(None),
               ComplianceControl.deleted_at.is_(None), ComplianceAssessment.deleted_at.is_(None))
        .order_by(ComplianceEvidence.evidence_date.desc(), ComplianceEvidence.id.desc(), mine.subcategory_code))
    seen: set[int] = set()
    out = []
    for row, code, source in rows:
        if row.id not in seen:
            seen.add(row.id)
            out.append(SharedEvidence(row, code, source))
    return out


def is_valid(row: ComplianceEvidence, now: datetime) -> bool:
    return row.valid_until is None or row.valid_until > now


def summary(control: ComplianceControl, now: datetime | None = None) -> str:
    """"2 valid of 3 evidence item(s); 1 via CSF PR.AA-01 from SOC2 CC6.1": own and shared evidence."""
    now = now or utcnow()
    rows = of_control(control.id)
    shared = shared_with(control)
    valid = sum(1 for r in rows if is_valid(r, now)) + sum(1 for s in shared if is_valid(s.row, now))
    text = f"{valid} valid of {len(rows) + len(shared)} evidence item(s)"
    vias: dict[str, int] = {}
    for item in shared:
        vias[item.via] = vias.get(item.via, 0) + 1
    return text + "".join(f"; {n} {via}" for via, n in vias.items())


def refresh_summaries(control: ComplianceControl, now: datetime | None = None) -> None:
    """Recompute the evidence summary of the control and of every control its evidence serves."""
    for c in (control, *csf.controls_sharing(control)):
        c.evidence_summary = summary(c, now)


def confirm_csf_link(control: ComplianceControl, code: str, user_id: int | None) -> bool:
    """Link a CSF subcategory (a person's confirmation) and count the evidence it now shares."""
    if not csf.confirm(control, code, user_id):
        return False
    db.session.flush()
    refresh_summaries(control)
    return True


def _has_evidence(valid_at: datetime | None = None) -> sa.ColumnElement[bool]:
    """SQL: the (outer) control has own or shared live evidence; valid at `valid_at` when given."""
    own, shared = aliased(ComplianceEvidence), aliased(ComplianceEvidence)
    mine, theirs = aliased(ControlCsfLink), aliased(ControlCsfLink)
    other, assessment = aliased(ComplianceControl), aliased(ComplianceAssessment)

    def valid(e):
        return sa.true() if valid_at is None else sa.or_(e.valid_until.is_(None), e.valid_until > valid_at)

    own_exists = sa.exists().where(own.control_id == ComplianceControl.id, own.deleted_at.is_(None), valid(own))
    shared_exists = sa.exists(
        sa.select(shared.id).select_from(shared)
        .join(theirs, theirs.control_id == shared.control_id)
        .join(mine, sa.and_(mine.subcategory_code == theirs.subcategory_code, mine.org_id == theirs.org_id))
        .join(other, other.id == theirs.control_id)
        .join(assessment, assessment.id == other.assessment_id)
        .where(mine.control_id == ComplianceControl.id, other.id != ComplianceControl.id,
               shared.deleted_at.is_(None), other.deleted_at.is_(None), assessment.deleted_at.is_(None),
               valid(shared)))
    return sa.or_(own_exists, shared_exists)


def expiring(org_id: int, now: datetime | None = None, within: timedelta | None = None) -> list[ComplianceEvidence]:
    """Evidence that lapses within `within` (default: the notice setting) and has not lapsed yet, soonest first."""
    now = now or utcnow()
    within = within if within is not None else notice_window()
    return list(db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.org_id == org_id, ComplianceEvidence.deleted_at.is_(None),
        ComplianceEvidence.valid_until.is_not(None), ComplianceEvidence.valid_until > now,
        ComplianceEvidence.valid_until <= now + within).order_by(ComplianceEvidence.valid_until)))


def check_expiry(now: datetime | None = None) -> dict[str, int]:
    """Notify each item once, `notice_window()` before it lapses, through the organization's
    notifications and channels; drop compliant controls whose own and CSF-shared evidence all
    lapsed to partial."""
    now = now or utcnow()
    notified = downgraded = 0
    soon = db.session.scalars(sa.select(ComplianceEvidence).where(
        ComplianceEvidence.deleted_at.is_(None), ComplianceEvidence.expiry_notified_at.is_(None),
        ComplianceEvidence.valid_until.is_not(None), ComplianceEvidence.valid_until > now,
        ComplianceEvidence.valid_until <= now + notice_window()).order_by(ComplianceEvidence.id)).all()
    for row in soon:
        control = db.session.get(ComplianceControl, row.control_id)
        row.expiry_notified_at = now
        served = [f"{c.assessment.framework} {c.control_id}" for c in csf.controls_sharing(control)]
        body = f"{row.title} is valid until {row.valid_until:%Y-%m-%d}."
        if served:
            body += f" It also serves {', '.join(served)} through NIST CSF."
        notify(row.org_id, "compliance.evidence_expiring", f"Evidence for {control.control_id} lapses soon",
               body=body, severity="warning",
               user_ids=[control.assigned_to_user_id] if control.assigned_to_user_id else None,
               link=app_path("compliance.control_detail", control_id=control.id))
        audit.record("compliance.evidence_expiry_notified", resource_type="compliance_evidence", resource_id=row.id,
                     org_id=row.org_id, actor_type="system", actor_label="evidence expiry",
                     details={"valid_until": row.valid_until.isoformat()})
        notified += 1
    lapsed_controls = db.session.scalars(sa.select(ComplianceControl).where(
        ComplianceControl.status == "compliant", ComplianceControl.deleted_at.is_(None),
        _has_evidence(), ~_has_evidence(valid_at=now)).order_by(ComplianceControl.id)).all()
    for control in lapsed_controls:
        control.status = "partial"
        control.evidence_summary = summary(control, now)
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
