"""Organizations (NERVE companies, xSPECTRE organizations, UltraCore tenants) and sites."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db

ORG_TYPES = ("customer", "internal")
SUBSCRIPTION_TIERS = ("basic", "professional", "enterprise")


class Organization(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        sa.CheckConstraint("type IN ('customer', 'internal')", name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    type: Mapped[str] = mapped_column(sa.String(20), default="customer")
    primary_domain: Mapped[str | None] = mapped_column(sa.String(255))
    domains: Mapped[list[str]] = mapped_column(default=list)
    billing_email: Mapped[str | None] = mapped_column(sa.String(255))
    technical_email: Mapped[str | None] = mapped_column(sa.String(255))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    address_line1: Mapped[str | None] = mapped_column(sa.String(255))
    address_line2: Mapped[str | None] = mapped_column(sa.String(255))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    abn: Mapped[str | None] = mapped_column(sa.String(50))
    tax_id: Mapped[str | None] = mapped_column(sa.String(100))
    subscription_tier: Mapped[str] = mapped_column(sa.String(20), default="basic")
    subscription_status: Mapped[str | None] = mapped_column(sa.String(20))
    max_seats: Mapped[int] = mapped_column(default=10)
    max_domains: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    # Per-organization policy (MFA required, password rules...), read through services.
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)

    sites: Mapped[list[Site]] = relationship(back_populates="org", order_by="Site.name")

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class Site(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "sites"
    __table_args__ = (sa.UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    slug: Mapped[str] = mapped_column(sa.String(100))
    address_line1: Mapped[str | None] = mapped_column(sa.String(255))
    address_line2: Mapped[str | None] = mapped_column(sa.String(255))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    public_ip: Mapped[str | None] = mapped_column(sa.String(45))
    lan_subnet: Mapped[str | None] = mapped_column(sa.String(49))
    site_contact_name: Mapped[str | None] = mapped_column(sa.String(255))
    site_contact_email: Mapped[str | None] = mapped_column(sa.String(255))
    site_contact_phone: Mapped[str | None] = mapped_column(sa.String(50))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(default=list)

    org: Mapped[Organization] = relationship(back_populates="sites")
