"""Retention: old 5-minute rollups, raw heartbeats and scanner stats (one row per
heartbeat each; a device's newest row is always kept, the pages read it), facts snapshots
beyond the newest N per device, and alerts resolved long ago. Each is a periodic job with an only_if check (see
app/jobs/schedule.py); the limits are settings (app/core/settings_registry.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm

from app import audit
from app.alerting import service as alerting
from app.core.settings_registry import get_setting
from app.fleet import facts
from app.models import Heartbeat, MetricRollup, ScannerStats, db, utcnow


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


def _age_cutoff(setting: str):
    return utcnow() - timedelta(days=get_setting(setting))


def _newest_id(model, time_column: str) -> sa.ScalarSelect:
    """The id of the newest row of the outer row's device, from an alias of the same table."""
    inner = sa.orm.aliased(model)
    return (sa.select(inner.id).where(inner.device_id == model.device_id)
            .order_by(getattr(inner, time_column).desc()).limit(1).scalar_subquery())


def _old_heartbeats():
    return sa.and_(Heartbeat.timestamp < _age_cutoff("fleet.heartbeat_retention_days"),
                   Heartbeat.id != _newest_id(Heartbeat, "timestamp"))


def _old_scanner_stats():
    return sa.and_(ScannerStats.collected_at < _age_cutoff("fleet.scanner_stats_retention_days"),
                   ScannerStats.id != _newest_id(ScannerStats, "collected_at"))


def has_old_telemetry() -> bool:
    return (db.session.scalar(sa.select(Heartbeat.id).where(_old_heartbeats()).limit(1)) is not None
            or db.session.scalar(sa.select(ScannerStats.id).where(_old_scanner_stats()).limit(1)) is not None)


def prune_telemetry() -> dict[str, int]:
    """Delete heartbeats and scanner stats older than their retention settings (keeping each device's newest)."""
    heartbeats = db.session.execute(sa.delete(Heartbeat).where(_old_heartbeats())
                                    .execution_options(synchronize_session=False)).rowcount or 0
    stats = db.session.execute(sa.delete(ScannerStats).where(_old_scanner_stats())
                               .execution_options(synchronize_session=False)).rowcount or 0
    return {"heartbeats": _recorded("heartbeats", heartbeats, "fleet.heartbeat_retention_days"),
            "scanner_stats": _recorded("scanner_stats", stats, "fleet.scanner_stats_retention_days")}
