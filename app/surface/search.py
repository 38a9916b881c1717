"""Global search: the organization's listed domains, findings by title or asset, and
discovered assets (subdomains, addresses, ports) by host name or IP."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import LightboxFinding, SurfaceAsset, SurfaceDomain, db
from app.notifications.services import app_path
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, contains, rank


def search_domains(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(SurfaceDomain.id, SurfaceDomain.domain, SurfaceDomain.state, SurfaceDomain.risk_level)
        .where(SurfaceDomain.org_id == org_id, SurfaceDomain.deleted_at.is_(None),
               contains(SurfaceDomain.domain, term))
        .order_by(rank(SurfaceDomain.domain, term), SurfaceDomain.id).limit(limit)).all()
    return [Hit(row.domain, app_path("surface.domain", domain_id=row.id),
                " · ".join(x for x in (row.state, row.risk_level and f"risk {row.risk_level}") if x))
            for row in rows]


def search_findings(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(LightboxFinding.id, LightboxFinding.domain_id, LightboxFinding.title, LightboxFinding.finding_type,
                  LightboxFinding.asset, LightboxFinding.severity, LightboxFinding.status)
        .join(SurfaceDomain, SurfaceDomain.id == LightboxFinding.domain_id)
        .where(LightboxFinding.org_id == org_id, LightboxFinding.deleted_at.is_(None),
               SurfaceDomain.deleted_at.is_(None),
               any_contains([LightboxFinding.title, LightboxFinding.asset], term))
        .order_by(LightboxFinding.last_seen_at.desc(), LightboxFinding.id).limit(limit)).all()
    return [Hit(f"{row.title or row.finding_type} ({row.asset})"[:160],
                app_path("surface.findings_list", domain_id=row.domain_id),
                f"{row.severity} · {row.status}") for row in rows]


def search_assets(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(SurfaceAsset.domain_id, SurfaceAsset.asset_type, SurfaceAsset.value, SurfaceDomain.domain)
        .join(SurfaceDomain, SurfaceDomain.id == SurfaceAsset.domain_id)
        .where(SurfaceAsset.org_id == org_id, SurfaceDomain.deleted_at.is_(None),
               contains(SurfaceAsset.value, term))
        .order_by(rank(SurfaceAsset.value, term), SurfaceAsset.id).limit(limit)).all()
    return [Hit(row.value, app_path("surface.domain", domain_id=row.domain_id), f"{row.asset_type} of {row.domain}")
            for row in rows]


register_provider("surface_domains", "Attack-surface domains", "data.read", search_domains, order=60)
register_provider("surface_findings", "Attack-surface findings", "data.read", search_findings, order=61)
register_provider("surface_assets", "Discovered assets", "data.read", search_assets, order=62)
