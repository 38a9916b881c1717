"""Roadmap generation: essential, data-type and framework tasks from the profile, and tasks from real
findings (the finding-source registry app/core/finding_sources.py, typed in the compliance
finding map's vocabulary; failed backups, non-compliant controls, users without MFA). Regeneration dedupes by (task, finding) and never touches completed work;
a finding-sourced task whose finding is gone is stamped verified_at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.core.finding_sources import collect_typed
from app.models import (
    BackupSnapshot,
    ComplianceControl,
    Device,
    RoadmapProfile,
    RoadmapTask,
    RoadmapUserTask,
    User,
    db,
    utcnow,
)
from app.roadmap import library

DIFFICULTY = {"easy": 1, "medium": 2, "hard": 3}
RISK_PHASE = {"critical": 1, "high": 2, "medium": 3}
DATA_TAGS = {"handles_pii": "pii", "handles_payment_data": "payment", "handles_health_data": "health",
             "handles_financial_data": "financial"}
# finding type -> the library task that fixes it
FINDING_TASKS = {
    "weak_tls": "tls_configuration", "expired_certificate": "renew_certificates",
    "missing_security_headers": "security_headers", "exposed_file": "remove_exposed_files",
    "open_database_port": "close_database_ports", "missing_dmarc": "dmarc_policy", "missing_spf": "spf_record",
    "cve_critical": "patch_critical_cves", "cve": "patch_critical_cves", "backup_failed": "fix_failed_backups",
    "mfa_missing": "enrol_mfa_users", "leaked_credential": "reset_leaked_credentials",
    "wireless_threat": "investigate_wireless_threat", "non_compliant_control": "remediate_control",
}


@dataclass
class Wanted:
    task_id: str
    source: str
    finding_key: str = ""
    finding_type: str | None = None
    severity: str | None = None
    domain: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def phase_of(task: RoadmapTask, wanted: Wanted) -> int:
    """1 this week: scan-sourced or critical; 2 this month: high; 3 this quarter: medium; 4 this year: the rest."""
    if wanted.finding_key or task.risk_level == "critical" or wanted.severity == "critical":
        return 1
    return RISK_PHASE.get(task.risk_level or "", 4)


def rank(task: RoadmapTask) -> int:
    """Order within a phase: 2 x impact - difficulty (easy 1, medium 2, hard 3), highest first."""
    return 2 * (task.security_score_impact or 0) - DIFFICULTY.get(task.difficulty_level or "", 2)


def applies(task: RoadmapTask, profile: RoadmapProfile) -> bool:
    industries = task.applies_to_industries or ["all"]
    sizes = task.applies_to_sizes or ["all"]
    return ("all" in industries or (profile.industry or "") in industries) and \
        ("all" in sizes or (profile.company_size or "") in sizes)


def profile_tasks(profile: RoadmapProfile, tags: dict[str, list[str]],
                  tasks: dict[str, RoadmapTask]) -> Iterable[Wanted]:
    """Essential tasks, tasks for the data the organization handles, and tasks its frameworks require."""
    data = {tag for attr, tag in DATA_TAGS.items() if getattr(profile, attr)}
    required = set(profile.compliance_requirements or [])
    for task_id, task_tags in tags.items():
        task = tasks.get(task_id)
        finding_only = task_id in FINDING_TASKS.values() and "essential" not in task_tags
        if "essential" in task_tags or data & set(task_tags) or (
                not finding_only and task is not None and required & set(task.requires_compliance or [])):
            yield Wanted(task_id, "profile")


def finding_tasks(org_id: int) -> Iterable[Wanted]:
    """Tasks from every registered finding source, failed backups, failed controls and users without MFA."""
    for source, f in collect_typed(org_id):
        task_id = FINDING_TASKS.get(f.get("type", ""))
        if task_id:
            key = f"{source}:{f['type']}:{f.get('asset') or f.get('domain') or ''}"
            yield Wanted(task_id, source, key[:255], f["type"], f.get("severity"), f.get("domain"),
                         {"asset": f.get("asset")})
    since = utcnow() - timedelta(days=30)
    failed = db.session.execute(sa.select(Device.id, Device.device_name).join(
        BackupSnapshot, BackupSnapshot.device_id == Device.id).where(
        Device.org_id == org_id, Device.deleted_at.is_(None), BackupSnapshot.status == "failed",
        BackupSnapshot.started_at >= since).distinct()).all()
    for device_id, name in failed:
        yield Wanted("fix_failed_backups", "fleet_backups", f"backup:{device_id}", "backup_failed", "high", name,
                     {"device_id": device_id})
    for control in db.session.scalars(sa.select(ComplianceControl).where(
            ComplianceControl.org_id == org_id, ComplianceControl.deleted_at.is_(None),
            ComplianceControl.status == "non_compliant")):
        yield Wanted("remediate_control", "compliance", f"control:{control.id}", "non_compliant_control", "high",
                     None, {"control": control.control_id, "control_id": control.id})
    no_mfa = db.session.scalars(sa.select(User.id).where(
        User.org_id == org_id, User.status == "active", User.deleted_at.is_(None),
        User.mfa_enabled.is_not(True))).all()
    if no_mfa:
        yield Wanted("enrol_mfa_users", "identity", "users_without_mfa", "mfa_missing", "critical", None,
                     {"users": len(no_mfa)})


def generate(profile: RoadmapProfile) -> dict[str, int]:
    """Add missing tasks, re-phase and re-order open ones, verify finding tasks whose finding is gone."""
    tasks = library.tasks_by_id()
    wanted = [w for w in [*profile_tasks(profile, library.tags(), tasks), *finding_tasks(profile.org_id)]
              if w.task_id in tasks and applies(tasks[w.task_id], profile)]
    current = {(t.task_id, t.finding_key): t for t in db.session.scalars(sa.select(RoadmapUserTask).where(
        RoadmapUserTask.profile_id == profile.id, RoadmapUserTask.deleted_at.is_(None)))}
    now = utcnow()
    added = verified = 0
    seen = set()
    for w in wanted:
        key = (w.task_id, w.finding_key)
        if key in seen:
            continue
        seen.add(key)
        row = current.get(key)
        if row is None:
            row = RoadmapUserTask(org_id=profile.org_id, profile_id=profile.id, task_id=w.task_id,
                                  finding_key=w.finding_key, status="not_started")
            db.session.add(row)
            current[key] = row
            added += 1
        row.source, row.finding_type, row.finding_severity = w.source[:50], w.finding_type, w.severity
        row.scan_domain, row.source_details = (w.domain or None), w.details
        if w.finding_key:
            row.scan_date, row.verified_at = now, None
    for (task_id, finding_key), row in current.items():
        if finding_key and (task_id, finding_key) not in seen and row.verified_at is None:
            row.verified_at = now  # a later scan no longer finds it
            verified += 1
    order(profile, tasks, list(current.values()), wanted_by_key={(w.task_id, w.finding_key): w for w in wanted})
    profile.last_recalculated = now
    db.session.flush()
    audit.record("roadmap.generated", resource_type="roadmap_profile", resource_id=profile.id, org_id=profile.org_id,
                 details={"added": added, "verified": verified, "total": len(current)})
    return {"added": added, "verified": verified, "total": len(current)}


def order(profile: RoadmapProfile, tasks: dict[str, RoadmapTask], rows: list[RoadmapUserTask],
          wanted_by_key: dict[tuple[str, str], Wanted]) -> None:
    """Phase every task and number it within its phase (completed work keeps its place in the list)."""
    for row in rows:
        w = wanted_by_key.get((row.task_id, row.finding_key)) or Wanted(row.task_id, row.source or "profile",
                                                                          row.finding_key, severity=row.finding_severity)
        row.phase = phase_of(tasks[row.task_id], w) if row.task_id in tasks else 4
    for phase in (1, 2, 3, 4):
        in_phase = [r for r in rows if r.phase == phase and r.task_id in tasks]
        in_phase.sort(key=lambda r: (-rank(tasks[r.task_id]), r.task_id, r.finding_key))
        for i, row in enumerate(in_phase, 1):
            row.priority_order = i
