"""Metric catalogs (seed 003): catalogs, their items, framework mapping suggestions/links,
staged imports between wizard steps, and the log of automated (AI or offline) suggestions.

A catalog belongs to one organization and is owned by one user; at most one catalog per
owner is active. Activating a catalog creates or updates the organization's metrics.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, TimestampMixin, db, utcnow
from app.models.identity import User
from app.models.metrics import VALUE, FrameworkSubcategory

MAPPING_STATUSES = ("suggested", "confirmed", "rejected")


class MetricCatalog(OrgOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "metric_catalogs"
    __table_args__ = (
        # One active catalog per user (the seed keeps it as users.active_catalog_id).
        sa.Index("uq_metric_catalogs_one_active", "owner_id", unique=True,
                 postgresql_where=sa.text("is_active"), sqlite_where=sa.text("is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    is_active: Mapped[bool] = mapped_column(default=False, index=True)
    is_default: Mapped[bool] = mapped_column(default=False)  # made from data/metrics/default-catalog.json
    source_file: Mapped[str | None] = mapped_column(sa.String(500))
    import_metadata: Mapped[dict[str, Any] | None] = mapped_column()
    activated_at: Mapped[datetime | None] = mapped_column()

    owner: Mapped[User | None] = relationship()
    items: Mapped[list[MetricCatalogItem]] = relationship(
        back_populates="catalog", order_by="MetricCatalogItem.line_number", cascade="all, delete-orphan")


class MetricCatalogItem(OrgOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "metric_catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(sa.ForeignKey("metric_catalogs.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(default=0)  # the row of the imported file
    original_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    current_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_lower: Mapped[Decimal | None] = mapped_column(VALUE)
    target_upper: Mapped[Decimal | None] = mapped_column(VALUE)
    unit: Mapped[str | None] = mapped_column(sa.String(50))
    direction: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(10), default="Medium")
    function_code: Mapped[str | None] = mapped_column(sa.String(10))
    category_code: Mapped[str | None] = mapped_column(sa.String(20))
    live_source: Mapped[str | None] = mapped_column(sa.String(50))
    is_enhanced: Mapped[bool] = mapped_column(default=False)

    catalog: Mapped[MetricCatalog] = relationship(back_populates="items")
    mappings: Mapped[list[MetricCatalogFrameworkMapping]] = relationship(
        back_populates="catalog_item", order_by="MetricCatalogFrameworkMapping.confidence.desc()",
        cascade="all, delete-orphan")


class MetricCatalogFrameworkMapping(OrgOwnedMixin, db.Model):
    """A suggested or confirmed link from a catalog item or a metric to a framework subcategory."""

    __tablename__ = "metric_catalog_framework_mappings"
    __table_args__ = (
        sa.CheckConstraint("catalog_item_id IS NOT NULL OR metric_id IS NOT NULL", name="item_or_metric"),
        sa.CheckConstraint("status IN ('suggested', 'confirmed', 'rejected')", name="status"),
        sa.CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"),
        sa.Index("ix_metric_catalog_framework_mappings_item_framework", "catalog_item_id", "framework_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("metric_catalog_items.id", ondelete="CASCADE"))
    metric_id: Mapped[int | None] = mapped_column(sa.ForeignKey("metrics.id", ondelete="CASCADE"), index=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id", ondelete="CASCADE"))
    subcategory_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("framework_subcategories.id", ondelete="CASCADE"))
    function_code: Mapped[str] = mapped_column(sa.String(10))
    category_code: Mapped[str | None] = mapped_column(sa.String(20))
    subcategory_code: Mapped[str | None] = mapped_column(sa.String(30))
    confidence: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 4))
    is_ai_suggested: Mapped[bool] = mapped_column(default=False)
    provider: Mapped[str | None] = mapped_column(sa.String(50))  # "offline-tfidf", an AI provider, or None
    status: Mapped[str] = mapped_column(sa.String(10), default="suggested")
    is_confirmed: Mapped[bool] = mapped_column(default=False)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    catalog_item: Mapped[MetricCatalogItem | None] = relationship(back_populates="mappings")
    subcategory: Mapped[FrameworkSubcategory | None] = relationship()


class MetricCatalogImport(OrgOwnedMixin, db.Model):
    """An uploaded file's rows, kept between the wizard's steps (not in the cookie session)."""

    __tablename__ = "metric_catalog_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(500))
    file_format: Mapped[str] = mapped_column(sa.String(10))
    headers: Mapped[list[Any]] = mapped_column(default=list)
    # [[line_number, [cell, ...]], ...] as read from the file.
    rows: Mapped[list[Any]] = mapped_column(default=list)
    column_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AiChangeLog(OrgOwnedMixin, db.Model):
    """Every automated suggestion or change, whoever (or whatever) made it."""

    __tablename__ = "ai_change_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    source: Mapped[str] = mapped_column(sa.String(50))  # "catalog_import", "metric", "review", ...
    mode: Mapped[str | None] = mapped_column(sa.String(50))  # "offline" or "ai"
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    prompt: Mapped[str | None] = mapped_column(sa.Text)  # the input text
    result: Mapped[dict[str, Any] | None] = mapped_column()
    ai_provider: Mapped[str | None] = mapped_column(sa.String(50))
    ai_model: Mapped[str | None] = mapped_column(sa.String(100))
    tokens_used: Mapped[int | None] = mapped_column()
    resource_type: Mapped[str | None] = mapped_column(sa.String(50))
    resource_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
