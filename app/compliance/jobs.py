"""Compliance jobs: scan findings, evidence expiry and automatic evidence."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app import audit
from app.compliance import autoevidence, evidence, findings, pdf
from app.jobs import job
from app.models import ComplianceAssessment, db


def orgs_with_assessments() -> list[int]:
    return list(db.session.scalars(sa.select(ComplianceAssessment.org_id).where(
        ComplianceAssessment.deleted_at.is_(None)).distinct().order_by(ComplianceAssessment.org_id)))


def has_assessments() -> bool:
    """Cheap check for the scheduler: nothing to do before the first assessment."""
    return db.session.scalar(sa.select(ComplianceAssessment.id).where(
        ComplianceAssessment.deleted_at.is_(None)).limit(1)) is not None


@job("compliance.apply_findings", title="Flag controls from scan findings", queue="low", timeout=600)
def apply_findings(ctx, **_params) -> dict:
    """Flag and verify controls from every finding source (the run's organization, or every one)."""
    orgs = [ctx.org_id] if ctx.org_id else orgs_with_assessments()
    totals = {"flagged": 0, "verified": 0}
    for org_id in orgs:
        result = findings.apply_findings(org_id)
        db.session.commit()  # each organization is its own unit of work
        for key in totals:
            totals[key] += result[key]
    return {"message": f"{totals['flagged']} flagged, {totals['verified']} verified", **totals}


@job("compliance.evidence_expiry", title="Notify expiring compliance evidence", queue="low", timeout=600)
def evidence_expiry(ctx, **_params) -> dict:
    """Notify evidence about to lapse (once) and drop controls whose evidence lapsed to partial."""
    result = evidence.check_expiry()
    return {"message": f"{result['notified']} notified, {result['downgraded']} control(s) now partial", **result}


@job("compliance.auto_evidence", title="Generate automatic compliance evidence", queue="low", timeout=1800)
def auto_evidence(ctx, **_params) -> dict:
    """Snapshot Vigil's telemetry as evidence for the mapped controls (hashes sealed in the audit chain)."""
    orgs = [ctx.org_id] if ctx.org_id else orgs_with_assessments()
    written = 0
    for org_id in orgs:
        written += autoevidence.generate(org_id)
        db.session.commit()
    return {"message": f"{written} evidence snapshot(s) attached", "written": written}


@job("compliance.auditor_pdf", title="Render a compliance auditor pack (PDF)", queue="default", timeout=600)
def auditor_pdf(ctx, assessment_id: int, **_params) -> dict:
    """Render the assessment's auditor pack PDF under instance/ and seal its hash in the audit chain."""
    assessment = db.session.get(ComplianceAssessment, assessment_id)
    if assessment is None or assessment.org_id != ctx.org_id or assessment.deleted_at is not None:
        return {"message": "Assessment not found", "written": 0}
    _path, data = pdf.auditor_pdf(assessment)
    digest = hashlib.sha256(data).hexdigest()
    audit.record("compliance.auditor_pdf_rendered", resource_type="compliance_assessment", resource_id=assessment.id,
                 org_id=assessment.org_id, actor_type="system", actor_label="auditor pack",
                 details={"sha256": digest, "bytes": len(data)})
    db.session.commit()
    return {"message": f"Auditor pack rendered ({len(data) // 1024} KB)", "sha256": digest, "written": 1}
