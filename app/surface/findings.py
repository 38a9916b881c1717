"""Findings as other domains and the pages read them.

`open_findings(org_id)` is the small, stable seam for other domains (the compliance domain
maps findings to controls): it yields plain `OpenFinding` tuples, never ORM rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import NamedTuple

import sqlalchemy as sa

from app.models import LightboxFinding, SurfaceDomain, db
from app.models.surface import SEVERITIES

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
EXPORT_FIELDS = ("domain", "type", "severity", "status", "asset", "title", "evidence", "remediation", "source",
                 "url", "discovered_at", "last_seen_at", "fixed_at")


class OpenFinding(NamedTuple):
    type: str
    severity: str
    asset: str
    domain: str


def open_findings(org_id: int) -> Iterator[OpenFinding]:
    """Every open finding of the organization's listed domains, worst first."""
    rows = db.session.execute(
        sa.select(LightboxFinding.finding_type, LightboxFinding.severity, LightboxFinding.asset, SurfaceDomain.domain)
        .join(SurfaceDomain, SurfaceDomain.id == LightboxFinding.domain_id)
        .where(LightboxFinding.org_id == org_id, LightboxFinding.status == "open",
               LightboxFinding.deleted_at.is_(None), SurfaceDomain.deleted_at.is_(None))
        .order_by(severity_order(), LightboxFinding.finding_type, LightboxFinding.asset))
    for row in rows:
        yield OpenFinding(*row)


def severity_order():
    return sa.case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=LightboxFinding.severity, else_=9)


def counts_by_severity(org_id: int) -> dict[int, dict[str, int]]:
    """Open findings per domain id and severity (one query)."""
    out: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        sa.select(LightboxFinding.domain_id, LightboxFinding.severity, sa.func.count())
        .where(LightboxFinding.org_id == org_id, LightboxFinding.status == "open",
               LightboxFinding.deleted_at.is_(None))
        .group_by(LightboxFinding.domain_id, LightboxFinding.severity))
    for domain_id, severity, count in rows:
        out.setdefault(domain_id, {s: 0 for s in SEVERITY_ORDER})[severity] = count
    return out


def query(org_id: int, *, domain_id: int | None = None, severity: str | None = None, status: str | None = "open",
          finding_type: str | None = None, text: str | None = None) -> sa.Select:
    """The findings list's filters; unknown values are ignored by the caller's form."""
    stmt = (sa.select(LightboxFinding, SurfaceDomain.domain)
            .join(SurfaceDomain, SurfaceDomain.id == LightboxFinding.domain_id)
            .where(LightboxFinding.org_id == org_id, LightboxFinding.deleted_at.is_(None),
                   SurfaceDomain.deleted_at.is_(None)))
    if domain_id:
        stmt = stmt.where(LightboxFinding.domain_id == domain_id)
    if severity in SEVERITIES:
        stmt = stmt.where(LightboxFinding.severity == severity)
    if status in ("open", "fixed"):
        stmt = stmt.where(LightboxFinding.status == status)
    if finding_type:
        stmt = stmt.where(LightboxFinding.finding_type == finding_type)
    if text:
        like = f"%{text}%"
        stmt = stmt.where(sa.or_(LightboxFinding.asset.ilike(like), LightboxFinding.title.ilike(like)))
    return stmt.order_by(severity_order(), LightboxFinding.last_seen_at.desc(), LightboxFinding.id)


def as_record(finding: LightboxFinding, domain: str) -> dict:
    return {"domain": domain, "type": finding.finding_type, "severity": finding.severity, "status": finding.status,
            "asset": finding.asset, "title": finding.title, "evidence": finding.evidence,
            "remediation": finding.remediation, "source": finding.source, "url": finding.url,
            "discovered_at": finding.discovered_at.isoformat(), "last_seen_at": finding.last_seen_at.isoformat(),
            "fixed_at": finding.fixed_at.isoformat() if finding.fixed_at else None}


def to_csv(records: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for record in records:
        # A cell starting with = + - @ would be a formula in a spreadsheet: neutralise it.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in record.items()})
    return buffer.getvalue()
