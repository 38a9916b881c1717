"""Compliance (seed 001, issue 16): framework catalogues, assessments, controls, evidence.

The seed's three tables keep their names and columns, with `org_id` added (the seed's
`company_id`). Added here: `compliance_framework_controls` (the control catalogue per
framework, global reference data), `compliance_finding_map` (finding type -> controls per
framework), `compliance_control_links` (a control's confirmed NIST CSF 2.0 subcategories)
and `compliance_score_snapshots` (the score history behind the chart).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, utcnow

CONTROL_STATUSES = ("not_tested", "compliant", "partial", "non_compliant")
EVIDENCE_TYPES = ("document", "scan", "screenshot", "policy", "log", "link", "automatic")
# Vigil's framework key -> (label, version): the compliance domain assesses them, the roadmap's
# profile names the ones an organization must meet.
FRAMEWORKS = {
    "SOC2": ("SOC 2 (TSC 2017)", "2017"),
    "ISO27001": ("ISO/IEC 27001:2022 Annex A", "2022"),
    "GDPR": ("GDPR", "2016/679"),
    "NIS2": ("NIS2 Art. 21(2)", "2022/2555"),
    "PIPEDA": ("PIPEDA Schedule 1", "2000"),
}


class ActiveMixin:
    """The seed's `is_active` flag."""

    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class FrameworkControl(TimestampMixin, db.Model):
    """One control of a framework's catalogue (reference data, shared by all organizations)."""

    __tablename__ = "compliance_framework_controls"
    __table_args__ = (sa.UniqueConstraint("framework", "control_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework: Mapped[str] = mapped_column(sa.String(50), index=True)
    framework_version: Mapped[str] = mapped_column(sa.String(20))
    control_id: Mapped[str] = mapped_column(sa.String(50))
    control_name: Mapped[str] = mapped_column(sa.String(255))
    control_category: Mapped[str | None] = mapped_column(sa.String(100))
    # GDPR: only the security-relevant articles are assessed; the rest stay reference.
    security_relevant: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class FindingControlMap(db.Model):
    """A finding type flags these controls of a framework (data/compliance/finding-map.json)."""

    __tablename__ = "compliance_finding_map"
    __table_args__ = (sa.UniqueConstraint("finding_type", "framework", "control_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_type: Mapped[str] = mapped_column(sa.String(100), index=True)
    framework: Mapped[str] = mapped_column(sa.String(50))
    control_id: Mapped[str] = mapped_column(sa.String(50))
    # What a flagged control becomes: severe findings fail it, the rest make it partial.
    flag_status: Mapped[str] = mapped_column(sa.String(20), default="non_compliant")


class ComplianceAssessment(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """One assessment of a framework for an organization."""

    __tablename__ = "compliance_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    framework: Mapped[str] = mapped_column(sa.String(50), index=True)
    framework_version: Mapped[str | None] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="in_progress")
    overall_compliance_score: Mapped[int | None] = mapped_column()
    assessment_date: Mapped[datetime] = mapped_column(default=utcnow)
    completion_date: Mapped[datetime | None] = mapped_column()
    expiry_date: Mapped[datetime | None] = mapped_column()

    controls: Mapped[list[ComplianceControl]] = relationship(
        back_populates="assessment", order_by="ComplianceControl.id")


class ComplianceControl(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A control inside an assessment: its status, who owns it, what flagged or proves it."""

    __tablename__ = "compliance_controls"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "control_id"),
        sa.CheckConstraint("status IN ('not_tested', 'compliant', 'partial', 'non_compliant')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compliance_assessments.id", ondelete="CASCADE"), index=True)
    control_id: Mapped[str] = mapped_column(sa.String(50))
    control_name: Mapped[str] = mapped_column(sa.String(255))
    control_category: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default="not_tested")
    compliance_score: Mapped[int | None] = mapped_column()
    scan_source: Mapped[str | None] = mapped_column(sa.String(50))
    scan_finding_type: Mapped[str | None] = mapped_column(sa.String(100))
    scan_finding_id: Mapped[str | None] = mapped_column(sa.String(100))
    scan_flagged_at: Mapped[datetime | None] = mapped_column()
    scan_verified_at: Mapped[datetime | None] = mapped_column()
    scan_domain: Mapped[str | None] = mapped_column(sa.String(255))
    evidence_summary: Mapped[str | None] = mapped_column(sa.Text)
    remediation_notes: Mapped[str | None] = mapped_column(sa.Text)
    assigned_to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    last_reviewed: Mapped[datetime | None] = mapped_column()
    next_review_date: Mapped[datetime | None] = mapped_column()

    assessment: Mapped[ComplianceAssessment] = relationship(back_populates="controls")


class ComplianceEvidence(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A file, a link to a Vigil record, or a frozen automatic snapshot proving a control."""

    __tablename__ = "compliance_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    control_id: Mapped[int] = mapped_column(sa.ForeignKey("compliance_controls.id", ondelete="CASCADE"), index=True)
    evidence_type: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    file_size: Mapped[int | None] = mapped_column()
    file_type: Mapped[str | None] = mapped_column(sa.String(100))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    evidence_date: Mapped[datetime | None] = mapped_column()
    # Added: validity, the linked Vigil record, the frozen snapshot and its hash.
    valid_until: Mapped[datetime | None] = mapped_column(index=True)
    expiry_notified_at: Mapped[datetime | None] = mapped_column()
    link_type: Mapped[str | None] = mapped_column(sa.String(50))
    link_id: Mapped[int | None] = mapped_column()
    snapshot: Mapped[dict[str, Any] | None] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(sa.String(64))


class ControlCsfLink(OrgOwnedMixin, TimestampMixin, db.Model):
    """A control linked to a NIST CSF 2.0 subcategory; suggested by the matcher, confirmed by a person."""

    __tablename__ = "compliance_control_links"
    __table_args__ = (sa.UniqueConstraint("control_id", "subcategory_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    control_id: Mapped[int] = mapped_column(sa.ForeignKey("compliance_controls.id", ondelete="CASCADE"), index=True)
    subcategory_code: Mapped[str] = mapped_column(sa.String(20))
    confidence: Mapped[float | None] = mapped_column()
    confirmed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class ComplianceScoreSnapshot(OrgOwnedMixin, db.Model):
    """An assessment's score after a change (the history chart)."""

    __tablename__ = "compliance_score_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("compliance_assessments.id", ondelete="CASCADE"), index=True)
    score: Mapped[int | None] = mapped_column()
    by_category: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
