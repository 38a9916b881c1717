"""Global search: assessment controls by id or name."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import ComplianceAssessment, ComplianceControl, db
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_controls(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(ComplianceControl.id, ComplianceControl.control_id, ComplianceControl.control_name,
                  ComplianceControl.status, ComplianceAssessment.framework)
        .join(ComplianceAssessment, ComplianceAssessment.id == ComplianceControl.assessment_id)
        .where(ComplianceControl.org_id == org_id, ComplianceControl.deleted_at.is_(None),
               ComplianceAssessment.deleted_at.is_(None),
               any_contains([ComplianceControl.control_name, ComplianceControl.control_id], term))
        .order_by(rank(ComplianceControl.control_name, term), ComplianceControl.id).limit(limit)).all()
    return [Hit(f"{row.framework} {row.control_id} {row.control_name}",
                url_for("compliance.control_detail", control_id=row.id), row.status) for row in rows]


register_provider("compliance_controls", "Compliance controls", "compliance.view", search_controls, order=60)
