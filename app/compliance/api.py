"""The compliance resources of the JSON API: assessments with their overall score and the
score per control category (app/compliance/scoring.py, the one compliance score)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import owned, register_schema, register_scope, resource
from app.compliance import services
from app.models import ComplianceAssessment

register_scope("compliance:read", "compliance.view")

NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
ASSESSMENT = register_schema("ComplianceAssessment", {"type": "object", "properties": {
    "id": {"type": "integer"}, "framework": {"type": "string"}, "framework_version": {"type": ["string", "null"]},
    "status": {"type": "string"}, "score": {"type": ["integer", "null"]},
    "controls_total": {"type": "integer"},
    "controls_not_tested": {"type": "integer", "description": "shown beside the score: it rests on the tested ones"},
    "assessment_date": {"type": "string", "format": "date-time"}, "completion_date": NULL_TIME,
    "expiry_date": NULL_TIME}})
DETAIL = {"type": "object", "properties": {
    "assessment": ASSESSMENT,
    "categories": {"type": "object", "additionalProperties": {"type": ["integer", "null"]},
                   "description": "score per control category (null: nothing tested yet)"}}}


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def assessment_json(a: ComplianceAssessment) -> dict[str, Any]:
    coverage = services.coverage(a)
    return {"id": a.id, "framework": a.framework, "framework_version": a.framework_version, "status": a.status,
            "score": a.overall_compliance_score, "controls_total": coverage.total,
            "controls_not_tested": coverage.not_tested, "assessment_date": iso(a.assessment_date),
            "completion_date": iso(a.completion_date), "expiry_date": iso(a.expiry_date)}


@resource("/compliance/assessments", "GET", "compliance:read", "Compliance assessments with scores",
          page_schema(ASSESSMENT), tag="compliance", query=PAGE_PARAMS)
def assessment_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's assessments, newest first, each with its overall score."""
    stmt = sa.select(ComplianceAssessment).where(ComplianceAssessment.org_id == principal().org_id,
                                                 ComplianceAssessment.deleted_at.is_(None))
    return paginate(stmt, ComplianceAssessment.id, q, assessment_json)


@resource("/compliance/assessments/{assessment_id}", "GET", "compliance:read",
          "One assessment with its score per category", DETAIL, tag="compliance")
def assessment_detail(q: dict[str, Any], data: None, assessment_id: int) -> dict[str, Any]:
    """One assessment: its overall score and each control category's."""
    assessment = owned(ComplianceAssessment, assessment_id, "assessment")
    return {"assessment": assessment_json(assessment), "categories": services.category_scores(assessment)}
