"""Alerts on Vigil's own backups, through the shared engine (app/alerting).

Vigil's backups belong to no customer: the alerts go to the internal organization(s)
(organizations.type = 'internal'), the MSP's own. Two event rules, evaluated after every
backup, restore test and by the daily `backup.check` job:
- `vigil_backup_failed`: the latest backup failed, or none succeeded within
  VIGIL_BACKUP_MAX_AGE_HOURS (a missing backup is a failed one to whoever needs to restore);
- `vigil_restore_test_failed`: the latest restore test failed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.alerting import evaluate, registry
from app.alerting.registry import EVENT, RuleType
from app.alerting.service import Observation, Target
from app.models import AlertRule, BackupRestoreTest, Organization, VigilBackup, db, utcnow
from app.notifications.services import app_path

DOMAIN = "vigil_backup"


def _one(kind: str) -> Any:
    def evaluate_(data: dict[str, Any], rule: AlertRule) -> list[Observation]:
        return data.get(kind) or []
    return evaluate_


def health(max_age_hours: int) -> dict[str, tuple[float, str]]:
    """(value, message) per rule type: 1 = failing."""
    latest = db.session.scalar(sa.select(VigilBackup).where(VigilBackup.status != "pruned")
                               .order_by(VigilBackup.created_at.desc()).limit(1))
    last_ok = db.session.scalar(sa.select(sa.func.max(VigilBackup.created_at)).where(VigilBackup.status == "ok"))
    if latest is not None and latest.status == "failed":
        backup = (1.0, f"Vigil's latest backup failed: {latest.error or 'no detail'}")
    elif last_ok is None or utcnow() - last_ok > timedelta(hours=max_age_hours):
        backup = (1.0, f"No successful Vigil backup in the last {max_age_hours} hours")
    else:
        backup = (0.0, f"Vigil backed up at {last_ok:%Y-%m-%d %H:%M} UTC")
    test = db.session.scalar(sa.select(BackupRestoreTest).order_by(BackupRestoreTest.created_at.desc()).limit(1))
    restore = ((1.0, f"Vigil's latest restore test failed: {test.message}") if test is not None and not test.ok
               else (0.0, "Vigil's latest restore test passed" if test else "No restore test yet"))
    return {"vigil_backup_failed": backup, "vigil_restore_test_failed": restore}


def evaluate_all(max_age_hours: int) -> int:
    """Observe both rules for every internal organization; returns the decisions taken."""
    state = health(max_age_hours)
    taken = 0
    for org_id in db.session.scalars(sa.select(Organization.id).where(Organization.type == "internal",
                                                                      Organization.deleted_at.is_(None))):
        data = {kind: [Observation(Target(f"vigil:{kind}", "Vigil's own backups", org_id, link=app_path("backup.index")),
                                   value, message, metric_name=kind)]
                for kind, (value, message) in state.items()}
        taken += evaluate.run(org_id, DOMAIN, data, utcnow())
    return taken


registry.register_domain(DOMAIN, "Vigil backups", permission="backup.manage")
for _rule in (
    RuleType("vigil_backup_failed", "Vigil backup failed or missing", EVENT, "",
             "Vigil's own latest backup failed, or none succeeded in time; resolves with the next good backup.",
             severity="critical", cooldown_seconds=0, fixed=True, evaluate=_one("vigil_backup_failed")),
    RuleType("vigil_restore_test_failed", "Vigil restore test failed", EVENT, "",
             "Restoring Vigil's latest backup into a scratch database failed its checks.",
             severity="critical", cooldown_seconds=0, fixed=True, evaluate=_one("vigil_restore_test_failed")),
):
    registry.register(replace(_rule, domain=DOMAIN, target_type="vigil"))
