"""Retention: old 5-minute rollups, facts snapshots beyond the newest N per device, and
alerts resolved long ago. Each is a periodic job with an only_if check (see
app/jobs/schedule.py); the limits are settings (app/admin/settings_registry.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app import audit
from app.admin.settings_registry import get_setting
from app.alerting import service as alerting
from app.fleet import facts
from app.models import MetricRollup, db, utcnow


def _rollup_cutoff():
    return utcnow() - timedelta(days=get_setting("fleet.rollup_retention_days"))


def has_old_rollups() -> bool:
    return db.session.scalar(sa.select(MetricRollup.id).where(MetricRollup.bucket_start < _rollup_cutoff())
                             .limit(1)) is not None


def has_excess_facts() -> bool:
    return facts.has_excess(get_setting("fleet.facts_keep"))


def has_old_alerts() -> bool:
    return alerting.has_old_resolved(get_setting("alerts.resolved_retention_days"))


def _recorded(what: str, count: int, setting: str) -> int:
    # One audit row per run that deleted something, not one per row.
    if count:
        audit.record("retention.pruned", resource_type=what, actor_type="system", actor_label="retention",
                     details={"deleted": count, "setting": setting, "value": get_setting(setting)})
    return count


def prune_rollups() -> int:
    """Delete rollup buckets older than fleet.rollup_retention_days."""
    count = db.session.execute(sa.delete(MetricRollup).where(MetricRollup.bucket_start < _rollup_cutoff())
                               .execution_options(synchronize_session=False)).rowcount or 0
    return _recorded("metrics_rollup", count, "fleet.rollup_retention_days")


def prune_facts() -> int:
    """Keep each device's newest fleet.facts_keep snapshots."""
    return _recorded("device_facts", facts.prune_all(get_setting("fleet.facts_keep")), "fleet.facts_keep")


def prune_alerts() -> int:
    """Delete alerts resolved more than alerts.resolved_retention_days ago."""
    count = alerting.prune_resolved(get_setting("alerts.resolved_retention_days"))
    return _recorded("alerts", count, "alerts.resolved_retention_days")
