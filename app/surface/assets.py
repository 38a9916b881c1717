"""Discovered assets as other domains read them (exposure fills a person's OSINT devices
from them): plain `DiscoveredHost` tuples, never ORM rows. Surface imports no reader."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from app.models import SurfaceAsset, SurfaceDomain, db

HOSTS_LIMIT = 200


class DiscoveredHost(NamedTuple):
    hostname: str
    addresses: tuple[str, ...]
    ports: tuple[int, ...]
    last_seen_at: datetime


def discovered_hosts(org_id: int, domain: str, limit: int = HOSTS_LIMIT) -> list[DiscoveredHost]:
    """Hosts the organization's scans found at `domain` or under it, with their addresses
    and open ports (from the scan details), newest first."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain:
        return []
    labels = domain.split(".")
    parents = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [domain]
    rows = db.session.execute(
        sa.select(SurfaceAsset.asset_type, SurfaceAsset.value, SurfaceAsset.details, SurfaceAsset.last_seen_at)
        .join(SurfaceDomain, SurfaceDomain.id == SurfaceAsset.domain_id)
        .where(SurfaceAsset.org_id == org_id, SurfaceDomain.deleted_at.is_(None),
               SurfaceAsset.asset_type.in_(("subdomain", "port")),
               sa.or_(SurfaceDomain.domain.in_(parents), SurfaceDomain.domain.like(f"%.{domain}")))
        .order_by(SurfaceAsset.last_seen_at.desc()).limit(limit * 10)).all()
    hosts: dict[str, dict] = {}
    ports: dict[str, set[int]] = {}  # a port asset is keyed by the address it answered on
    for asset_type, value, details, seen in rows:
        details = details or {}
        if asset_type == "port":
            if isinstance(details.get("port"), int) and details.get("host"):
                ports.setdefault(details["host"], set()).add(details["port"])
            continue
        name = (details.get("name") or value).lower()
        if name == domain or name.endswith("." + domain):
            host = hosts.setdefault(name, {"addresses": set(), "seen": seen})
            host["addresses"].update(a for a in details.get("addresses", []) if isinstance(a, str))
            host["seen"] = max(host["seen"], seen)
    out = [DiscoveredHost(name, tuple(sorted(h["addresses"])),
                          tuple(sorted({p for a in h["addresses"] for p in ports.get(a, ())})), h["seen"])
           for name, h in hosts.items()]
    return sorted(out, key=lambda h: h.last_seen_at, reverse=True)[:limit]
