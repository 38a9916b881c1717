"""Automatic evidence: frozen snapshots of Vigil's own telemetry attached to the controls
they prove, each snapshot's SHA-256 written into the audit chain.

An item names the controls it proves per framework and a collector `f(org_id) -> dict`.
Collectors reuse the live queries (app/core/live_values.py) where one exists, so a number in
the evidence is the same number the CSF dashboard shows, and read what other domains state
through the evidence sources (app/core/evidence_sources.py: identity's password policy,
fleet's scanner coverage), so compliance imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app import audit
from app.compliance import evidence
from app.core.evidence_sources import evidence as stated
from app.core.live_values import live_value
from app.models import (
    ComplianceAssessment,
    ComplianceControl,
    ThreatIntelligence,
    db,
    utcnow,
)

VALIDITY_DAYS = 30


@dataclass(frozen=True)
class AutoEvidence:
    key: str
    title: str
    controls: dict[str, tuple[str, ...]]
    collect: Callable[[int], dict[str, Any]]


def _live(*names: str) -> Callable[[int], dict[str, Any]]:
    def collect(org_id: int) -> dict[str, Any]:
        out = {}
        for name in names:
            value = live_value(name, org_id)
            out[name] = float(value) if isinstance(value, Decimal) else value
        return out
    return collect


def from_source(name: str) -> Callable[[int], dict[str, Any]]:
    """A collector asking the registered evidence source `name` (owned by another domain)."""
    def collect(org_id: int) -> dict[str, Any]:
        return stated(name, org_id)
    return collect


def mfa(org_id: int) -> dict[str, Any]:
    return {**_live("mfa_coverage")(org_id), **{k: v for k, v in stated("password_policy", org_id).items()
                                                   if k.startswith("mfa")}}


def audit_chain(_org_id: int) -> dict[str, Any]:
    return audit.verify_chain().as_dict()


def threat_intel(_org_id: int) -> dict[str, Any]:
    newest = db.session.scalar(sa.select(sa.func.max(ThreatIntelligence.last_seen)))
    week = db.session.scalar(sa.select(sa.func.count(ThreatIntelligence.id)).where(
        ThreatIntelligence.last_seen >= utcnow() - timedelta(days=7))) or 0
    return {"newest_indicator_seen": newest.isoformat() if newest else None, "indicators_seen_7d": week}


ITEMS: tuple[AutoEvidence, ...] = (
    AutoEvidence("mfa", "MFA coverage and enforcement", {"SOC2": ("CC6.1",), "ISO27001": ("A.8.5",),
                 "GDPR": ("Art. 32",), "NIS2": ("Art. 21(2)(j)",)}, mfa),
    AutoEvidence("password_policy", "Password policy", {"SOC2": ("CC6.1",), "ISO27001": ("A.5.17",)},
                 from_source("password_policy")),
    AutoEvidence("lockouts", "Sign-in lockouts (30 days)", {"SOC2": ("CC6.1",), "ISO27001": ("A.8.5",)},
                 _live("accounts_locked_30d")),
    AutoEvidence("audit_chain", "Audit-chain verification", {"SOC2": ("CC7.2", "CC4.1"), "ISO27001": ("A.8.15",),
                 "GDPR": ("Art. 30",)}, audit_chain),
    AutoEvidence("backups", "Backup success and restore tests", {"SOC2": ("A1.2", "A1.3"), "ISO27001": ("A.8.13",),
                 "NIS2": ("Art. 21(2)(c)",)}, _live("backup_success_rate_30d", "restore_tested_90d_pct")),
    AutoEvidence("scanners", "Vulnerability scan coverage and open criticals", {"SOC2": ("CC7.1",),
                 "ISO27001": ("A.8.8",), "NIS2": ("Art. 21(2)(e)",)}, from_source("scanners")),
    AutoEvidence("incident_response", "Incident response times", {"SOC2": ("CC7.3", "CC7.4"),
                 "ISO27001": ("A.5.26",), "NIS2": ("Art. 21(2)(b)",), "GDPR": ("Art. 33",)},
                 _live("mean_hours_to_acknowledge_30d", "overdue_incidents", "open_critical_incidents")),
    AutoEvidence("threat_intel", "Threat-intelligence freshness", {"ISO27001": ("A.5.7",), "SOC2": ("CC3.2",)},
                 threat_intel),
    AutoEvidence("wireless", "Wireless monitoring coverage", {"ISO27001": ("A.8.20",), "SOC2": ("CC7.2",)},
                 _live("wireless_scored_24h_pct", "wireless_high_untagged")),
)


def generate(org_id: int) -> int:
    """Take every snapshot once and attach it to the mapped controls of the org's assessments."""
    controls = db.session.scalars(sa.select(ComplianceControl).join(ComplianceAssessment).where(
        ComplianceControl.org_id == org_id, ComplianceControl.deleted_at.is_(None),
        ComplianceAssessment.deleted_at.is_(None))).all()
    by_key: dict[tuple[str, str], list[ComplianceControl]] = {}
    for c in controls:
        by_key.setdefault((c.assessment.framework, c.control_id), []).append(c)
    written = 0
    for item in ITEMS:
        targets = [c for fw, ids in item.controls.items() for cid in ids for c in by_key.get((fw, cid), [])]
        if not targets:
            continue
        snapshot, digest = evidence.frozen({"item": item.key, "org_id": org_id, "taken_at": utcnow().isoformat(),
                                            "values": item.collect(org_id)})
        audit.record("compliance.evidence_snapshot", resource_type="compliance_evidence", org_id=org_id,
                     actor_type="system", actor_label="automatic evidence",
                     details={"item": item.key, "sha256": digest, "controls": len(targets)})
        for control in targets:
            evidence.add_snapshot(control, item.title, snapshot, digest, VALIDITY_DAYS)
            written += 1
    return written
