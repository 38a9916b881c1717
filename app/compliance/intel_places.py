"""Where file hashes appear in compliance data, registered for indicator matching
(app/indicators/matching.py): the SHA-256 of each uploaded evidence file (a frozen snapshot's
hash is of Vigil's own JSON, never a file anyone could have seen, so it is not a place).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.indicators.matching import Occurrence, Place, canonical, register_place
from app.models import ComplianceEvidence, db, utcnow
from app.notifications.services import app_path

FIND_LIMIT = 50_000


def evidence_occurrences(evidence: ComplianceEvidence) -> list[Occurrence]:
    value = canonical("hash", evidence.sha256)
    if not value or not evidence.file_path or evidence.org_id is None or evidence.deleted_at is not None:
        return []
    return [Occurrence(evidence.org_id, "hash", value, str(evidence.id), f"evidence file {evidence.title}",
                       evidence.created_at or utcnow())]


def find_evidence(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(ComplianceEvidence).where(
        ComplianceEvidence.org_id == org_id, ComplianceEvidence.created_at >= since,
        ComplianceEvidence.file_path.is_not(None), ComplianceEvidence.deleted_at.is_(None))
    if value is not None:
        stmt = stmt.where(sa.func.lower(ComplianceEvidence.sha256) == value)
    return [o for e in db.session.scalars(stmt.order_by(ComplianceEvidence.id.desc()).limit(FIND_LIMIT))
            for o in evidence_occurrences(e)]


def link_evidence(object_id: str, value: str) -> str | None:
    evidence = db.session.get(ComplianceEvidence, int(object_id))
    return app_path("compliance.control_detail", control_id=evidence.control_id) if evidence else None


PLACE = register_place(Place(
    "evidence_file", "Compliance evidence files", ("hash",), "compliance.view", find_evidence, link_evidence,
    model=ComplianceEvidence, watch=("sha256", "file_path"), extract=evidence_occurrences))
