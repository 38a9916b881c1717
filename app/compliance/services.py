"""Assessments and controls: start, edit, and the score recomputed from statuses on every change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.compliance import frameworks, scoring
from app.models import (
    ComplianceAssessment,
    ComplianceControl,
    ComplianceScoreSnapshot,
    User,
    db,
    utcnow,
)
from app.models.base import as_dict

ASSESSMENT_VALIDITY = timedelta(days=365)
EDITABLE = ("status", "assigned_to_user_id", "remediation_notes", "evidence_summary", "next_review_date")


class ComplianceError(ValueError):
    """A request the rules refuse (shown to the user as a 422)."""


def start_assessment(org_id: int, framework: str, user_id: int | None) -> ComplianceAssessment:
    """A new assessment of `framework` with every catalogue control not_tested."""
    if framework not in frameworks.FRAMEWORKS:
        raise ComplianceError(f"Unknown framework {framework!r}.")
    catalogue = frameworks.assessable_controls(framework)
    if not catalogue:
        raise ComplianceError("The framework catalogues are not loaded: run `vigil compliance load-frameworks`.")
    now = utcnow()
    assessment = ComplianceAssessment(
        org_id=org_id, framework=framework, framework_version=frameworks.FRAMEWORKS[framework][1],
        created_by_user_id=user_id, assessment_date=now, expiry_date=now + ASSESSMENT_VALIDITY)
    db.session.add(assessment)
    db.session.flush()
    for c in catalogue:
        db.session.add(ComplianceControl(org_id=org_id, assessment_id=assessment.id, control_id=c.control_id,
                                         control_name=c.control_name, control_category=c.control_category))
    db.session.flush()
    recompute(assessment)
    audit.record("compliance.assessment_started", resource_type="compliance_assessment",
                 resource_id=assessment.id, org_id=org_id, new={"framework": framework})
    return assessment


def assessments(org_id: int) -> list[ComplianceAssessment]:
    return list(db.session.scalars(sa.select(ComplianceAssessment).where(
        ComplianceAssessment.org_id == org_id, ComplianceAssessment.deleted_at.is_(None))
        .order_by(ComplianceAssessment.framework, ComplianceAssessment.assessment_date.desc())))


def latest_by_framework(org_id: int) -> dict[str, ComplianceAssessment]:
    """The newest assessment of each framework (the overview shows them side by side)."""
    latest: dict[str, ComplianceAssessment] = {}
    for a in assessments(org_id):
        latest.setdefault(a.framework, a)
    return latest


def live_controls(assessment_id: int) -> list[ComplianceControl]:
    return list(db.session.scalars(sa.select(ComplianceControl).where(
        ComplianceControl.assessment_id == assessment_id, ComplianceControl.deleted_at.is_(None))
        .order_by(ComplianceControl.id)))


def category_scores(assessment: ComplianceAssessment) -> dict[str, int | None]:
    return scoring.by_category((c.control_category, c.status) for c in live_controls(assessment.id))


def category_coverage(assessment: ComplianceAssessment) -> dict[str, scoring.Coverage]:
    return scoring.coverage_by_category((c.control_category, c.status) for c in live_controls(assessment.id))


def coverage(assessment: ComplianceAssessment) -> scoring.Coverage:
    """How many of the assessment's controls are not tested yet (shown beside its score)."""
    return coverages([assessment.id]).get(assessment.id, scoring.Coverage(0, 0))


def coverages(assessment_ids: list[int]) -> dict[int, scoring.Coverage]:
    """Coverage of several assessments in one query."""
    if not assessment_ids:
        return {}
    rows = db.session.execute(sa.select(
        ComplianceControl.assessment_id,
        sa.func.count().filter(ComplianceControl.status == "not_tested"), sa.func.count())
        .where(ComplianceControl.assessment_id.in_(assessment_ids), ComplianceControl.deleted_at.is_(None))
        .group_by(ComplianceControl.assessment_id))
    return {aid: scoring.Coverage(int(untested), int(total)) for aid, untested, total in rows}


def recompute(assessment: ComplianceAssessment, reason: str = "change") -> int | None:
    """Score the assessment from its controls' statuses and keep a snapshot for the chart."""
    controls = live_controls(assessment.id)
    for control in controls:
        control.compliance_score = scoring.score([control.status])
    assessment.overall_compliance_score = scoring.score(c.status for c in controls)
    db.session.add(ComplianceScoreSnapshot(
        org_id=assessment.org_id, assessment_id=assessment.id, score=assessment.overall_compliance_score,
        by_category=scoring.by_category((c.control_category, c.status) for c in controls)))
    db.session.flush()
    return assessment.overall_compliance_score


def history(assessment_id: int) -> list[ComplianceScoreSnapshot]:
    return list(db.session.scalars(sa.select(ComplianceScoreSnapshot).where(
        ComplianceScoreSnapshot.assessment_id == assessment_id).order_by(ComplianceScoreSnapshot.taken_at,
                                                                         ComplianceScoreSnapshot.id)))


def update_control(control: ComplianceControl, changes: dict[str, Any]) -> None:
    """Apply validated edits to a control, review it, rescore its assessment and audit the change."""
    if "status" in changes and changes["status"] not in ("not_tested", "compliant", "partial", "non_compliant"):
        raise ComplianceError("Unknown status.")
    assignee = changes.get("assigned_to_user_id")
    if assignee is not None and db.session.scalar(sa.select(User.id).where(
            User.id == assignee, User.org_id == control.org_id, User.deleted_at.is_(None))) is None:
        raise ComplianceError("The assignee is not a user of this organization.")
    fields = [f for f in EDITABLE if f in changes]
    old = as_dict(control, fields)
    for field in fields:
        setattr(control, field, changes[field])
    control.last_reviewed = utcnow()
    recompute(control.assessment)
    audit.record("compliance.control_updated", resource_type="compliance_control", resource_id=control.id,
                 org_id=control.org_id, old=old, new=as_dict(control, fields))


def controls_by_category(assessment: ComplianceAssessment) -> dict[str, list[ComplianceControl]]:
    grouped: dict[str, list[ComplianceControl]] = {}
    for control in live_controls(assessment.id):
        grouped.setdefault(control.control_category or "Uncategorised", []).append(control)
    return grouped


def due_for_review(org_id: int, now: datetime | None = None) -> list[ComplianceControl]:
    now = now or utcnow()
    return list(db.session.scalars(sa.select(ComplianceControl).where(
        ComplianceControl.org_id == org_id, ComplianceControl.deleted_at.is_(None),
        ComplianceControl.next_review_date.is_not(None), ComplianceControl.next_review_date <= now)))


def as_datetime(day: date | None) -> datetime | None:
    """A form's date as midnight UTC (review and evidence dates are whole days)."""
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


def complete(assessment: ComplianceAssessment) -> None:
    """Stamp the assessment completed with its final score recomputed."""
    recompute(assessment, reason="completed")
    assessment.status, assessment.completion_date = "completed", utcnow()
    audit.record("compliance.assessment_completed", resource_type="compliance_assessment",
                 resource_id=assessment.id, org_id=assessment.org_id,
                 new={"score": assessment.overall_compliance_score})
