"""The attack surface as a finding source (app.core.finding_sources): every open finding of the
organization's listed domains, read by the compliance domain (controls flagged through the
finding-to-control map) and the roadmap (tasks from findings). Types are surface's own
(tls_certificate_expired, missing_hsts, exposed_git, database_exposed, dmarc_missing...);
the compliance map translates them."""

from __future__ import annotations

from collections.abc import Iterator

from app.core.finding_sources import Finding, register_finding_source
from app.surface.findings import open_findings


def surface_findings(org_id: int) -> Iterator[Finding]:
    """Open findings as plain dicts (type, severity, asset, domain)."""
    for f in open_findings(org_id):
        yield f._asdict()


register_finding_source("surface", surface_findings)
