"""Scan findings flag controls: the finding sources (app.core.finding_sources) and the flag/verify pass.

A source is `fn(org_id) -> iterable of {"type", "severity", "asset", "domain"}`. Each type is
translated into the shipped finding map's vocabulary (data/compliance/finding-map.json: its
"findings" keys, or a source's own type through "aliases"), so the attack surface's
`tls_legacy_protocol` counts as `weak_tls`. Each domain registers its own source from its
package: the attack surface (app/surface/finding_source.py), fleet's scanner CVEs
(app/fleet/compliance_sources.py) and exposure's leaked credentials in use
(app/exposure/finding_source.py). Wireless threats are registered here, read from the
live-value registry (app/core/live_values.py). The roadmap generator reads the same findings
through `collect`.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from app import audit
from app.compliance import services
from app.compliance.frameworks import finding_aliases
from app.core import finding_sources
from app.core.finding_sources import (  # noqa: F401 - the registry's names, kept importable from here
    FINDING_SOURCES,
    Finding,
    FindingSource,
    register_finding_source,
    register_type_aliases,
    unregister_finding_source,
)
from app.core.live_values import live_value
from app.models import ComplianceAssessment, ComplianceControl, FindingControlMap, db, utcnow
from app.notifications.services import app_path, notify

# The worse status wins when two findings flag one control.
SEVERITY_ORDER = {"partial": 1, "non_compliant": 2}


def wireless_threats(org_id: int) -> Iterable[Finding]:
    """Wireless networks tagged THREAT near the organization's sites."""
    tagged = live_value("wireless_threat_tagged", org_id) or 0
    if tagged:
        yield {"type": "wireless_threat", "severity": "high", "asset": "wireless", "domain": None,
               "count": int(tagged)}


register_finding_source("wireless", wireless_threats)
# the finding map (compliance's data) gives the shared vocabulary every reader types findings in
register_type_aliases(finding_aliases)


def collect(org_id: int) -> list[tuple[str, Finding]]:
    """Every current finding of every source, as (source name, finding), each typed in the map's
    vocabulary (`type`) with the source's own type kept as `source_type`."""
    return finding_sources.collect_typed(org_id)


def apply_findings(org_id: int) -> dict[str, int]:
    """Flag the controls the current findings map to; verify flagged controls no longer found.

    A flag sets status (non_compliant or partial) and the scan_* columns; a control whose
    finding is gone keeps its status but gets scan_verified_at, and its assignee (or the
    admins) is told that it can be re-assessed.
    """
    findings = collect(org_id)
    mapping: dict[str, list[FindingControlMap]] = {}
    for m in db.session.scalars(sa.select(FindingControlMap)):
        mapping.setdefault(m.finding_type, []).append(m)
    controls = list(db.session.scalars(
        sa.select(ComplianceControl).join(ComplianceAssessment).where(
            ComplianceControl.org_id == org_id, ComplianceControl.deleted_at.is_(None),
            ComplianceAssessment.deleted_at.is_(None))))
    by_key = {}
    for c in controls:
        by_key.setdefault((c.assessment.framework, c.control_id), []).append(c)
    now = utcnow()
    hits: dict[int, tuple[str, Finding, str]] = {}
    for source, finding in findings:
        for m in mapping.get(finding.get("type", ""), []):
            for control in by_key.get((m.framework, m.control_id), []):
                current = hits.get(control.id)
                if current is None or SEVERITY_ORDER[m.flag_status] > SEVERITY_ORDER[current[2]]:
                    hits[control.id] = (source, finding, m.flag_status)
    flagged = verified = 0
    touched = set()
    for control in controls:
        hit = hits.get(control.id)
        if hit is not None:
            source, finding, status = hit
            new_flag = control.scan_finding_type != finding["type"] or control.scan_verified_at is not None \
                or control.scan_flagged_at is None
            if new_flag or control.status != status:
                old = {"status": control.status, "scan_finding_type": control.scan_finding_type}
                control.scan_source, control.scan_finding_type = source[:50], finding["type"][:100]
                control.scan_domain = (finding.get("domain") or finding.get("asset") or "")[:255] or None
                control.scan_finding_id = str(finding.get("id") or finding.get("asset") or "")[:100] or None
                control.scan_flagged_at, control.scan_verified_at = now, None
                control.status = status
                touched.add(control.assessment)
                flagged += 1
                audit.record("compliance.control_flagged", resource_type="compliance_control",
                             resource_id=control.id, org_id=org_id, actor_type="system", actor_label="scan findings",
                             old=old, new={"status": status, "scan_finding_type": finding["type"],
                                           "scan_source": source})
        elif control.scan_flagged_at is not None and control.scan_verified_at is None:
            control.scan_verified_at = now
            verified += 1
            audit.record("compliance.control_verified", resource_type="compliance_control", resource_id=control.id,
                         org_id=org_id, actor_type="system", actor_label="scan findings",
                         details={"scan_finding_type": control.scan_finding_type})
            notify(org_id, "compliance.control_verified",
                   f"{control.control_id}: the {control.scan_finding_type} finding is gone",
                   body="A rescan no longer finds it; the control can be re-assessed.",
                   user_ids=[control.assigned_to_user_id] if control.assigned_to_user_id else None,
                   link=app_path("compliance.control_detail", control_id=control.id))
    for assessment in touched:
        services.recompute(assessment, reason="scan")
    return {"findings": len(findings), "flagged": flagged, "verified": verified}
