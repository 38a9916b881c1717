"""The attack surface's linkable objects: a finding and a listed domain, so an incident can
point at them; their own events (found, last seen, fixed; scans, verification) go on the
incident's timeline."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core import linkable
from app.models import LightboxFinding, SurfaceDomain, XasmScanHistory, db
from app.notifications.services import app_path

RECENT = 20


def _load(model: Any) -> Any:
    def load(org_id: int, object_id: str) -> Any:
        return db.session.scalar(sa.select(model).where(model.org_id == org_id, model.id == int(object_id),
                                                        model.deleted_at.is_(None)))
    return load


def _finding_events(finding: LightboxFinding) -> list[tuple[Any, str]]:
    what = f"{finding.severity} finding {finding.title or finding.finding_type} ({finding.asset})"
    out = [(finding.discovered_at, f"Found: {what}")]
    if finding.last_seen_at and finding.last_seen_at != finding.discovered_at:
        out.append((finding.last_seen_at, f"Seen again: {what}"))
    if finding.fixed_at:
        out.append((finding.fixed_at, f"Fixed: {what}"))
    return out


def _domain_events(row: SurfaceDomain) -> list[tuple[Any, str]]:
    scans = db.session.execute(sa.select(XasmScanHistory.scanned_at, XasmScanHistory.risk_level,
                                         XasmScanHistory.active)
                               .where(XasmScanHistory.domain_id == row.id)
                               .order_by(XasmScanHistory.id.desc()).limit(RECENT)).all()
    out = [(s.scanned_at, f"{'Active' if s.active else 'Passive'} scan of {row.domain}: risk {s.risk_level or '—'}")
           for s in reversed(scans)]
    if row.verified_at:
        out.append((row.verified_at, f"{row.domain} verified"))
    if row.state == "failed" and row.last_checked_at:
        out.append((row.last_checked_at, f"{row.domain} lost its proof of ownership"))
    return sorted(out, key=lambda e: e[0])


linkable.register(linkable.LinkableType(
    "surface_finding", "Attack-surface finding", _load(LightboxFinding),
    lambda f: f"{f.severity} {f.title or f.finding_type} ({f.asset})",
    lambda f: app_path("surface.findings_list", domain_id=f.domain_id), _finding_events))
linkable.register(linkable.LinkableType(
    "surface_domain", "Attack-surface domain", _load(SurfaceDomain), lambda d: d.domain,
    lambda d: app_path("surface.domain", domain_id=d.id), _domain_events))
