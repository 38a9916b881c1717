"""Exposure as a finding source (app.core.finding_sources): the organization's accounts whose
current password is in an imported leak, read by the compliance domain (controls flagged
through the finding-to-control map) and the roadmap (tasks from findings)."""

from __future__ import annotations

from collections.abc import Iterator

from app.core.finding_sources import Finding, register_finding_source
from app.exposure.services import counts


def leaked_credentials(org_id: int) -> Iterator[Finding]:
    """Leaked passwords of the organization's accounts still in use, as one finding."""
    in_use = counts(org_id)["passwords_in_use"]
    if in_use:
        yield {"type": "leaked_credential", "severity": "critical", "asset": "accounts", "domain": None,
               "count": in_use}


register_finding_source("exposure", leaked_credentials)
