"""Where domains and IP addresses appear in the attack surface, registered for indicator
matching (app/indicators/matching.py): the listed domains (scan targets), and the assets a
scan discovers (subdomains, cloud hosts: domain values; resolved addresses: IPs). A scan
writes its assets through the ORM, so matching happens on the scan's own flush; a new
indicator finds them by retro-hunt."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.indicators.matching import Occurrence, Place, canonical, register_place
from app.models import SurfaceAsset, SurfaceDomain, db, utcnow
from app.notifications.services import app_path

KIND_OF_ASSET = {"subdomain": "domain", "cloud": "domain", "address": "ip"}
FIND_LIMIT = 50_000


def _asset_occurrences(asset: SurfaceAsset) -> list[Occurrence]:
    kind = KIND_OF_ASSET.get(asset.asset_type)
    value = canonical(kind, asset.value) if kind else None
    if not value or asset.org_id is None:
        return []
    return [Occurrence(asset.org_id, kind, value, str(asset.id), f"discovered {asset.asset_type} {asset.value}",
                       asset.last_seen_at or utcnow())]


def find_assets(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    types = [t for t, k in KIND_OF_ASSET.items() if kind is None or k == kind]
    stmt = sa.select(SurfaceAsset).where(SurfaceAsset.org_id == org_id, SurfaceAsset.asset_type.in_(types),
                                         SurfaceAsset.last_seen_at >= since)
    if value is not None:
        stmt = stmt.where(SurfaceAsset.value == value)
    rows = db.session.scalars(stmt.order_by(SurfaceAsset.last_seen_at.desc()).limit(FIND_LIMIT))
    return [o for a in rows for o in _asset_occurrences(a)]


def asset_values(org_id: int, since: datetime, kind: str) -> set[str]:
    types = [t for t, k in KIND_OF_ASSET.items() if k == kind]
    raw = db.session.scalars(sa.select(SurfaceAsset.value).distinct().where(
        SurfaceAsset.org_id == org_id, SurfaceAsset.asset_type.in_(types), SurfaceAsset.last_seen_at >= since))
    return {v for v in (canonical(kind, r) for r in raw) if v}


def link_asset(object_id: str, value: str) -> str | None:
    domain_id = db.session.scalar(sa.select(SurfaceAsset.domain_id).where(SurfaceAsset.id == int(object_id)))
    return app_path("surface.domain", domain_id=domain_id) if domain_id else None


def _domain_occurrences(row: SurfaceDomain) -> list[Occurrence]:
    value = canonical("domain", row.domain)
    if not value or row.org_id is None or row.deleted_at is not None:
        return []
    return [Occurrence(row.org_id, "domain", value, str(row.id), f"scan target {row.domain}",
                       row.last_scan_at or row.created_at or utcnow())]


def find_domains(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    # A listed domain is current state, not an event: every live one is in scope.
    stmt = sa.select(SurfaceDomain).where(SurfaceDomain.org_id == org_id, SurfaceDomain.deleted_at.is_(None))
    if value is not None:
        stmt = stmt.where(SurfaceDomain.domain == value)
    return [o for r in db.session.scalars(stmt.limit(FIND_LIMIT)) for o in _domain_occurrences(r)]


register_place(Place("surface_domain", "Attack-surface scan targets", ("domain",), "data.read", find_domains,
                     lambda object_id, value: app_path("surface.domain", domain_id=int(object_id)),
                     model=SurfaceDomain, watch=("domain", "last_scan_at"), extract=_domain_occurrences))
register_place(Place("surface_asset", "Attack-surface discovered assets", ("domain", "ip"), "data.read",
                     find_assets, link_asset, model=SurfaceAsset, watch=("value", "last_seen_at"),
                     extract=_asset_occurrences, values=asset_values))
