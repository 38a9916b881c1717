"""The attack-surface resources of the JSON API: the organization's domains (never their
verification tokens) and the findings of their scans, with severity, status and domain filters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import owned, register_schema, register_scope, resource
from app.models.surface import FINDING_STATUSES, SEVERITIES, LightboxFinding, SurfaceDomain

register_scope("surface:read", "data.read")

NULL_STR, NULL_TIME = {"type": ["string", "null"]}, {"type": ["string", "null"], "format": "date-time"}
DOMAIN = register_schema("SurfaceDomain", {"type": "object", "properties": {
    "id": {"type": "integer"}, "domain": {"type": "string"}, "state": {"type": "string"},
    "verified_at": NULL_TIME, "scan_schedule": {"type": "string"}, "last_scan_at": NULL_TIME,
    "next_scan_at": NULL_TIME, "risk_score": {"type": ["integer", "null"]}, "risk_level": NULL_STR}})
FINDING = register_schema("SurfaceFinding", {"type": "object", "properties": {
    "id": {"type": "integer"}, "domain_id": {"type": "integer"}, "asset": {"type": "string"},
    "type": {"type": "string"}, "title": {"type": "string"}, "url": {"type": "string"},
    "severity": {"type": "string"}, "status": {"type": "string"}, "description": NULL_STR,
    "remediation": NULL_STR, "discovered_at": {"type": "string", "format": "date-time"},
    "last_seen_at": {"type": "string", "format": "date-time"}, "fixed_at": NULL_TIME}})


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def domain_json(d: SurfaceDomain) -> dict[str, Any]:
    return {"id": d.id, "domain": d.domain, "state": d.state, "verified_at": iso(d.verified_at),
            "scan_schedule": d.scan_schedule, "last_scan_at": iso(d.last_scan_at), "next_scan_at": iso(d.next_scan_at),
            "risk_score": d.risk_score, "risk_level": d.risk_level}


def finding_json(f: LightboxFinding) -> dict[str, Any]:
    return {"id": f.id, "domain_id": f.domain_id, "asset": f.asset, "type": f.finding_type, "title": f.title,
            "url": f.url, "severity": f.severity, "status": f.status, "description": f.description,
            "remediation": f.remediation, "discovered_at": iso(f.discovered_at), "last_seen_at": iso(f.last_seen_at),
            "fixed_at": iso(f.fixed_at)}


@resource("/surface/domains", "GET", "surface:read", "Monitored domains", page_schema(DOMAIN), tag="surface",
          query=PAGE_PARAMS)
def domain_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's domains with their verification state and risk, newest first."""
    stmt = sa.select(SurfaceDomain).where(SurfaceDomain.org_id == principal().org_id,
                                          SurfaceDomain.deleted_at.is_(None))
    return paginate(stmt, SurfaceDomain.id, q, domain_json)


@resource("/surface/domains/{domain_id}", "GET", "surface:read", "One domain", DOMAIN, tag="surface")
def domain_detail(q: dict[str, Any], data: None, domain_id: int) -> dict[str, Any]:
    """One domain of the organization."""
    return domain_json(owned(SurfaceDomain, domain_id, "domain"))


@resource("/surface/findings", "GET", "surface:read", "Findings of the scans", page_schema(FINDING),
          tag="surface", query=(
              *PAGE_PARAMS, {"name": "severity", "in": "query", "schema": {"enum": list(SEVERITIES)}},
              {"name": "status", "in": "query", "schema": {"enum": list(FINDING_STATUSES)}},
              {"name": "domain_id", "in": "query",
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}))
def finding_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Findings of the organization's domains, newest first."""
    stmt = sa.select(LightboxFinding).where(LightboxFinding.org_id == principal().org_id,
                                            LightboxFinding.deleted_at.is_(None))
    for name, column in (("severity", LightboxFinding.severity), ("status", LightboxFinding.status),
                         ("domain_id", LightboxFinding.domain_id)):
        if q.get(name) is not None:
            stmt = stmt.where(column == q[name])
    return paginate(stmt, LightboxFinding.id, q, finding_json)
