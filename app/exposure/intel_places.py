"""Where e-mail addresses and file hashes appear in exposure data, registered for indicator
matching (app/indicators/matching.py): the credentials of imported breach files, the findings
of monitored addresses, and each uploaded file's SHA-256. A domain indicator covers the
addresses at it.

Breach credentials are written with one core INSERT per batch (no ORM flush to watch), so
the importer publishes `exposure.credentials_stored` and `match_stored` matches the batch:
the organization's e-mail and domain indicators are read once, and only addresses they can
hit are matched (a million-line import of an organization with no such indicator costs one
query per batch).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.alerting import events
from app.indicators import matching
from app.indicators.matching import Occurrence, Place, canonical, register_place
from app.models import (
    BreachFileResult,
    MonitoredEmail,
    MonitoredEmailFinding,
    ThreatIntelligence,
    UploadedBreachFile,
    db,
    utcnow,
)
from app.notifications.services import app_path

FIND_LIMIT = 50_000


def _credential_occurrence(org_id: int, row_id: int, email: str | None, upload_id: int, line: int,
                           when: datetime) -> list[Occurrence]:
    value = canonical("email", email)
    return [Occurrence(org_id, "email", value, str(row_id), f"breach file #{upload_id} line {line}", when)] \
        if value else []


def find_credentials(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(BreachFileResult.id, BreachFileResult.email, BreachFileResult.uploaded_file_id,
                     BreachFileResult.line_number, BreachFileResult.created_at).where(
        BreachFileResult.org_id == org_id, BreachFileResult.created_at >= since, BreachFileResult.email.is_not(None),
        BreachFileResult.deleted_at.is_(None))
    if value is not None:
        stmt = stmt.where(BreachFileResult.email == value)
    rows = db.session.execute(stmt.order_by(BreachFileResult.id.desc()).limit(FIND_LIMIT)).all()
    return [o for r in rows for o in _credential_occurrence(org_id, r.id, r.email, r.uploaded_file_id,
                                                            r.line_number, r.created_at)]


def credential_values(org_id: int, since: datetime, kind: str) -> set[str]:
    raw = db.session.scalars(sa.select(BreachFileResult.email).distinct().where(
        BreachFileResult.org_id == org_id, BreachFileResult.created_at >= since, BreachFileResult.email.is_not(None),
        BreachFileResult.deleted_at.is_(None)))
    return {v for v in (canonical("email", r) for r in raw) if v}


def link_credential(object_id: str, value: str) -> str:
    return app_path("exposure.credential_list", q=value)


def match_stored(org_id: int, upload_id: int, emails: list[str]) -> int:
    """Match a batch of stored credentials' e-mails against the organization's indicators."""
    if not emails:
        return 0
    now = utcnow()
    iocs = db.session.execute(sa.select(ThreatIntelligence.indicator_type, ThreatIntelligence.indicator_value).where(
        ThreatIntelligence.org_id == org_id, ThreatIntelligence.is_active.is_(True),
        ThreatIntelligence.indicator_type.in_(("email", "domain")),
        sa.or_(ThreatIntelligence.expires_at.is_(None), ThreatIntelligence.expires_at > now))).all()
    if not iocs:
        return 0
    addresses = {v for t, v in iocs if t == "email"}
    domains = {v for t, v in iocs if t == "domain"}
    candidates = [e for e in emails if e in addresses
                  or set(matching.parent_domains(e.rsplit("@", 1)[-1])) & domains]
    if not candidates:
        return 0
    rows = db.session.execute(sa.select(BreachFileResult.id, BreachFileResult.email, BreachFileResult.line_number,
                                        BreachFileResult.created_at).where(
        BreachFileResult.uploaded_file_id == upload_id, BreachFileResult.email.in_(candidates))).all()
    occurrences = [o for r in rows for o in _credential_occurrence(org_id, r.id, r.email, upload_id, r.line_number,
                                                                   r.created_at)]
    new = matching.match(PLACES["breach_credential"], occurrences)
    matching.publish(new)
    return len(new)


def _finding_occurrences(finding: MonitoredEmailFinding) -> list[Occurrence]:
    monitored = db.session.get(MonitoredEmail, finding.monitored_email_id)
    value = canonical("email", monitored.email_address if monitored else None)
    if not value or finding.org_id is None:
        return []
    return [Occurrence(finding.org_id, "email", value, str(finding.id),
                       f"monitored finding {finding.breach_name or finding.finding_type} ({finding.source})",
                       finding.found_at or utcnow())]


def find_findings(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = (sa.select(MonitoredEmailFinding).join(MonitoredEmail,
                                                  MonitoredEmail.id == MonitoredEmailFinding.monitored_email_id)
            .where(MonitoredEmailFinding.org_id == org_id, MonitoredEmailFinding.found_at >= since,
                   MonitoredEmailFinding.deleted_at.is_(None)))
    if value is not None:
        stmt = stmt.where(sa.func.lower(MonitoredEmail.email_address) == value)
    return [o for f in db.session.scalars(stmt.limit(FIND_LIMIT)) for o in _finding_occurrences(f)]


def _upload_occurrences(upload: UploadedBreachFile) -> list[Occurrence]:
    value = canonical("hash", upload.content_hash)
    if not value or upload.org_id is None or upload.deleted_at is not None:
        return []
    return [Occurrence(upload.org_id, "hash", value, str(upload.id), f"uploaded file {upload.filename}",
                       upload.uploaded_at or utcnow())]


def find_uploads(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(UploadedBreachFile).where(UploadedBreachFile.org_id == org_id,
                                               UploadedBreachFile.uploaded_at >= since,
                                               UploadedBreachFile.deleted_at.is_(None))
    if value is not None:
        stmt = stmt.where(sa.func.lower(UploadedBreachFile.content_hash) == value)
    return [o for u in db.session.scalars(stmt.order_by(UploadedBreachFile.id.desc()).limit(FIND_LIMIT))
            for o in _upload_occurrences(u)]


PLACES = {
    "breach_credential": register_place(Place(
        "breach_credential", "Breach file credentials", ("email",), "exposure.details", find_credentials,
        link_credential, values=credential_values)),
    "monitored_finding": register_place(Place(
        "monitored_finding", "Monitored e-mail findings", ("email",), "exposure.view", find_findings,
        lambda object_id, value: app_path("exposure.findings"), model=MonitoredEmailFinding,
        watch=("monitored_email_id",), extract=_finding_occurrences)),
    "breach_upload": register_place(Place(
        "breach_upload", "Uploaded breach files", ("hash",), "exposure.view", find_uploads,
        lambda object_id, value: app_path("exposure.upload_detail", upload_id=int(object_id)),
        model=UploadedBreachFile, watch=("content_hash",), extract=_upload_occurrences)),
}
events.subscribe("exposure.credentials_stored", match_stored)
