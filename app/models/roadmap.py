"""Security roadmap (seed 001, issue 16): profile, task library, the organization's tasks,
achievements and progress history. Seed names and columns kept; `org_id` added (the seed's
`company_id`); the library tables stay global reference data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, utcnow

TASK_STATUSES = ("not_started", "in_progress", "completed", "skipped", "not_applicable")


class _Active:
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class RoadmapProfile(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, _Active, db.Model):
    """One per organization: what it is, what data it handles, where it wants to be."""

    __tablename__ = "roadmap_profiles"
    __table_args__ = (sa.UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    company_name: Mapped[str] = mapped_column(sa.String(255))
    company_size: Mapped[str | None] = mapped_column(sa.String(50))
    industry: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    employee_count: Mapped[int | None] = mapped_column()
    current_security_score: Mapped[int] = mapped_column(default=0)
    target_security_score: Mapped[int] = mapped_column(default=75)
    handles_pii: Mapped[bool] = mapped_column(default=False)
    handles_payment_data: Mapped[bool] = mapped_column(default=False)
    handles_health_data: Mapped[bool] = mapped_column(default=False)
    handles_financial_data: Mapped[bool] = mapped_column(default=False)
    current_measures: Mapped[list[Any]] = mapped_column(default=list)
    compliance_requirements: Mapped[list[Any]] = mapped_column(default=list)
    assessment_responses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_recalculated: Mapped[datetime | None] = mapped_column()


class RoadmapTask(TimestampMixin, _Active, db.Model):
    """A task of the library (data/roadmap/tasks.json)."""

    __tablename__ = "roadmap_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    task_name: Mapped[str] = mapped_column(sa.String(255))
    task_category: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    why_it_matters: Mapped[str | None] = mapped_column(sa.Text)
    how_to_fix: Mapped[str | None] = mapped_column(sa.Text)
    estimated_time_minutes: Mapped[int | None] = mapped_column()
    estimated_cost_min: Mapped[float | None] = mapped_column()
    estimated_cost_max: Mapped[float | None] = mapped_column()
    difficulty_level: Mapped[str | None] = mapped_column(sa.String(20))
    security_score_impact: Mapped[int | None] = mapped_column()
    risk_level: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    applies_to_industries: Mapped[list[Any]] = mapped_column(default=list)
    applies_to_sizes: Mapped[list[Any]] = mapped_column(default=list)
    requires_compliance: Mapped[list[Any]] = mapped_column(default=list)
    documentation_url: Mapped[str | None] = mapped_column(sa.Text)
    video_tutorial_url: Mapped[str | None] = mapped_column(sa.Text)


class RoadmapUserTask(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, _Active, db.Model):
    """A library task on the organization's roadmap, with why it is there and its progress."""

    __tablename__ = "roadmap_user_tasks"
    __table_args__ = (sa.UniqueConstraint("profile_id", "task_id", "finding_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("roadmap_profiles.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="not_started", index=True)
    phase: Mapped[int] = mapped_column(default=1, index=True)
    priority_order: Mapped[int | None] = mapped_column()
    source: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    source_reference_id: Mapped[int | None] = mapped_column()
    source_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finding_type: Mapped[str | None] = mapped_column(sa.String(100))
    finding_severity: Mapped[str | None] = mapped_column(sa.String(20))
    # Added: what makes a finding-sourced task unique ("" for library tasks), for dedupe.
    finding_key: Mapped[str] = mapped_column(sa.String(255), default="")
    scan_domain: Mapped[str | None] = mapped_column(sa.String(255))
    scan_date: Mapped[datetime | None] = mapped_column()
    matched_threat_actor: Mapped[str | None] = mapped_column(sa.String(255))
    threat_actor_ttp: Mapped[list[Any]] = mapped_column(default=list)
    assigned_to_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    last_reminded: Mapped[datetime | None] = mapped_column()
    user_notes: Mapped[str | None] = mapped_column(sa.Text)
    admin_notes: Mapped[str | None] = mapped_column(sa.Text)


class RoadmapAchievement(OrgOwnedMixin, db.Model):
    """An unlocked achievement (one row per achievement and profile)."""

    __tablename__ = "roadmap_achievements"
    __table_args__ = (sa.UniqueConstraint("profile_id", "achievement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("roadmap_profiles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    achievement_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    achievement_name: Mapped[str] = mapped_column(sa.String(255))
    achievement_description: Mapped[str | None] = mapped_column(sa.Text)
    achievement_icon: Mapped[str | None] = mapped_column(sa.String(50))
    requirement_type: Mapped[str | None] = mapped_column(sa.String(50))
    requirement_value: Mapped[int | None] = mapped_column()
    unlocked_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_claimed: Mapped[bool] = mapped_column(default=False)
    claimed_at: Mapped[datetime | None] = mapped_column()
    rewards: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoadmapProgressHistory(OrgOwnedMixin, db.Model):
    """A snapshot of progress, taken on each completion, reopen and generation."""

    __tablename__ = "roadmap_progress_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("roadmap_profiles.id", ondelete="CASCADE"), index=True)
    security_score: Mapped[int | None] = mapped_column()
    tasks_completed: Mapped[int | None] = mapped_column()
    tasks_total: Mapped[int | None] = mapped_column()
    phase1_completed: Mapped[int] = mapped_column(default=0)
    phase2_completed: Mapped[int] = mapped_column(default=0)
    phase3_completed: Mapped[int] = mapped_column(default=0)
    phase4_completed: Mapped[int] = mapped_column(default=0)
    snapshot_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    snapshot_reason: Mapped[str | None] = mapped_column(sa.String(50))


class RoadmapTaskLibraryMeta(db.Model):
    """Which version of the task library is loaded."""

    __tablename__ = "roadmap_task_library_meta"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_version: Mapped[str] = mapped_column(sa.String(20))
    total_tasks: Mapped[int | None] = mapped_column()
    changelog: Mapped[str | None] = mapped_column(sa.Text)
    last_updated: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
