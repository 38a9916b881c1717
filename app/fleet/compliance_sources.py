"""What fleet tells compliance (issue 21: compliance reads it through app/core registries,
never by importing fleet): each scanner's open critical and high vulnerabilities as findings
(they flag controls and become roadmap tasks), and the scanners' coverage as automatic
evidence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from app.core.evidence_sources import register_evidence_source
from app.core.finding_sources import Finding, register_finding_source
from app.fleet.queries import scanner_summary
from app.models import Device, db


def scanner_cves(org_id: int) -> Iterator[Finding]:
    """Each scanner's newest open critical/high vulnerability counts, as one finding per scanner."""
    for row in scanner_summary(org_id):
        if row.vulns_critical:
            yield {"type": "cve_critical", "severity": "critical", "asset": row.device_name,
                   "domain": row.device_name, "count": row.vulns_critical}
        elif row.vulns_high:
            yield {"type": "cve", "severity": "high", "asset": row.device_name,
                   "domain": row.device_name, "count": row.vulns_high}


def scanner_coverage(org_id: int) -> dict[str, Any]:
    """Devices, scanners, how many report, and their open critical and high vulnerabilities."""
    rows = scanner_summary(org_id)
    devices = db.session.scalar(sa.select(sa.func.count(Device.id)).where(
        Device.org_id == org_id, Device.deleted_at.is_(None))) or 0
    return {"devices": devices, "scanners": len(rows),
            "scanners_reporting": sum(1 for r in rows if r.vulns_critical is not None),
            "open_critical": sum(r.vulns_critical or 0 for r in rows),
            "open_high": sum(r.vulns_high or 0 for r in rows)}


register_finding_source("fleet_scanner", scanner_cves)
register_evidence_source("scanners", scanner_coverage)
