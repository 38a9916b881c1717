"""Security metrics (seed 003 Cyber Metrics Flow): framework reference data, org metrics,
their value history and score snapshots.

The framework tables are global reference data (no org_id), generic enough to hold any
function/category/subcategory framework; NIST CSF 2.0 is loaded by `vigil metrics
load-framework`. Metrics, history and score snapshots belong to one organization.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, utcnow
from app.models.identity import User

METRIC_DIRECTIONS = ("higher_is_better", "lower_is_better", "target_range", "binary")
METRIC_PRIORITIES = ("High", "Medium", "Low")
VALUE = sa.Numeric(15, 4)
SCORE = sa.Numeric(5, 2)


class Framework(TimestampMixin, db.Model):
    __tablename__ = "frameworks"
    __table_args__ = (sa.UniqueConstraint("name", "version", name="uq_frameworks_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Where the loaded text came from (publisher, licence, source repository).
    source: Mapped[dict[str, Any] | None] = mapped_column()

    functions: Mapped[list[FrameworkFunction]] = relationship(
        back_populates="framework", order_by="FrameworkFunction.sort_order")


class FrameworkFunction(db.Model):
    __tablename__ = "framework_functions"
    __table_args__ = (sa.UniqueConstraint("framework_id", "code", name="uq_framework_functions_framework_id_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.Text)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    framework: Mapped[Framework] = relationship(back_populates="functions")
    categories: Mapped[list[FrameworkCategory]] = relationship(
        back_populates="function", order_by="FrameworkCategory.sort_order")


class FrameworkCategory(db.Model):
    __tablename__ = "framework_categories"
    __table_args__ = (sa.UniqueConstraint("function_id", "code", name="uq_framework_categories_function_id_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    function_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_functions.id", ondelete="CASCADE"),
                                             index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    function: Mapped[FrameworkFunction] = relationship(back_populates="categories")
    subcategories: Mapped[list[FrameworkSubcategory]] = relationship(
        back_populates="category", order_by="FrameworkSubcategory.sort_order")


class FrameworkSubcategory(db.Model):
    __tablename__ = "framework_subcategories"
    __table_args__ = (sa.UniqueConstraint("category_id", "code", name="uq_framework_subcategories_category_id_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_categories.id", ondelete="CASCADE"),
                                             index=True)
    code: Mapped[str] = mapped_column(sa.String(30))
    # CSF 2.0 subcategories have no name: the outcome statement is the description.
    description: Mapped[str] = mapped_column(sa.Text)
    # [{"id": "Ex1", "text": "..."}], as published.
    implementation_examples: Mapped[list[Any]] = mapped_column(default=list)
    risk_scope_tags: Mapped[list[Any]] = mapped_column(default=list)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[FrameworkCategory] = relationship(back_populates="subcategories")


class Metric(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "metrics"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "metric_number", name="uq_metrics_org_id_metric_number"),
        sa.CheckConstraint(f"direction IN {METRIC_DIRECTIONS!r}", name="direction"),
        sa.CheckConstraint(f"priority IN {METRIC_PRIORITIES!r}", name="priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_number: Mapped[str] = mapped_column(sa.String(20))  # PR-001, per function, unique per org
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    current_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_lower: Mapped[Decimal | None] = mapped_column(VALUE)
    target_upper: Mapped[Decimal | None] = mapped_column(VALUE)
    unit: Mapped[str | None] = mapped_column(sa.String(50))
    direction: Mapped[str] = mapped_column(sa.String(20), default="higher_is_better")
    function_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_functions.id", ondelete="RESTRICT"),
                                             index=True)
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("framework_categories.id", ondelete="RESTRICT"), index=True)
    priority: Mapped[str] = mapped_column(sa.String(10), default="Medium", index=True)
    # Overrides the priority's weight in the function score when set.
    weight: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 3))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    is_locked: Mapped[bool] = mapped_column(default=False)
    value_updated_at: Mapped[datetime | None] = mapped_column()
    # A named live query (app.metrics.live.LIVE_QUERIES) that sets the value; None: entered by hand.
    live_source: Mapped[str | None] = mapped_column(sa.String(50))
    # The catalog (and item) that created or last updated this metric on activation.
    catalog_id: Mapped[int | None] = mapped_column(sa.ForeignKey("metric_catalogs.id", ondelete="SET NULL"),
                                                   index=True)
    catalog_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("metric_catalog_items.id", ondelete="SET NULL"))

    function: Mapped[FrameworkFunction] = relationship()
    category: Mapped[FrameworkCategory | None] = relationship()
    owner: Mapped[User | None] = relationship()


class MetricHistory(OrgOwnedMixin, db.Model):
    __tablename__ = "metric_history"
    __table_args__ = (sa.Index("ix_metric_history_metric_recorded", "metric_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(sa.ForeignKey("metrics.id", ondelete="CASCADE"))
    value: Mapped[Decimal] = mapped_column(VALUE)
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User | None] = relationship()


class FunctionScore(OrgOwnedMixin, db.Model):
    """A snapshot of one function's score, written by the metrics.recompute job."""

    __tablename__ = "function_scores"
    __table_args__ = (sa.Index("ix_function_scores_org_function_calc", "org_id", "function_id", "calculated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id", ondelete="CASCADE"))
    function_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_functions.id", ondelete="CASCADE"))
    function_code: Mapped[str] = mapped_column(sa.String(10))
    score: Mapped[Decimal] = mapped_column(SCORE)
    rating: Mapped[str] = mapped_column(sa.String(20))
    metric_count: Mapped[int] = mapped_column(default=0)  # metrics of the function
    scored_count: Mapped[int] = mapped_column(default=0)  # of those, with a value (in the score)
    below_target_count: Mapped[int] = mapped_column(default=0)
    calculated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FrameworkScore(OrgOwnedMixin, db.Model):
    """A snapshot of the overall score; the dashboard's trend reads only these rows."""

    __tablename__ = "framework_scores"
    __table_args__ = (sa.Index("ix_framework_scores_org_calc", "org_id", "calculated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id", ondelete="CASCADE"))
    overall_score: Mapped[Decimal] = mapped_column(SCORE)
    overall_rating: Mapped[str] = mapped_column(sa.String(20))
    # {"PR": 81.5, ...}: the function scores this overall score is the mean of.
    function_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metric_count: Mapped[int] = mapped_column(default=0)
    scored_count: Mapped[int] = mapped_column(default=0)
    below_target_count: Mapped[int] = mapped_column(default=0)
    calculated_at: Mapped[datetime] = mapped_column(default=utcnow)
