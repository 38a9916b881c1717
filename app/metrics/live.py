"""Live metrics: named queries over Vigil's own data (identity, threats, fleet, wireless)
that set a metric's value.

A metric with `live_source` takes its value from one of these queries; the
`metrics.refresh_live` job runs them, records changed values in the history and
snapshots the scores. Each query answers for one organization.

The queries live in the registry app/core/live_values.py (LiveQuery, LIVE_QUERIES), where
other domains register theirs too (compliance scores, roadmap progress). Adding one is a small
step: write a function `f(org_id) -> Decimal | None` over tables that exist, add
`"name": LiveQuery(label, unit, direction, f)` to the registrations below (or call
`register_live_query` from the domain that owns the data), and a test with real rows. It
then appears in the metric form's "Value source" list and on the method page.
A share or a mean over nothing (no devices, no backups in the window, nothing acknowledged)
is None, "no data": the metric is then not scored, because a 100 % or a 0-minute mean made
of nothing would put a perfect score on a board report for something never measured.
Counts stay counts: zero open critical incidents is a real zero.

A query may also give a note, `LiveQuery(..., note=g)` with `g(org_id) -> str | None`: what
the value rests on, shown beside it wherever the metric's value appears (a compliance score's
"12 of 93 controls not tested"). Optional: queries without one show the value alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import audit
from app.core.live_values import LIVE_QUERIES, LiveQuery  # noqa: F401 (readers import them from here too)
from app.fleet.queries import online_cutoff
from app.metrics.history import record_history
from app.models import (
    Alert,
    BackupConfig,
    BackupSnapshot,
    Device,
    IocSighting,
    Metric,
    Network,
    NetworkTag,
    ScannerStats,
    SecurityEvent,
    SecurityIncident,
    User,
    db,
    utcnow,
)


def live_notes(metrics: Iterable[Metric]) -> dict[int, str]:
    """{metric id: note} for the live metrics whose query gives a note; each query asked once
    per organization, so a page showing many metrics makes few queries."""
    asked: dict[tuple[int, str], str | None] = {}
    notes: dict[int, str] = {}
    for metric in metrics:
        query = LIVE_QUERIES.get(metric.live_source or "")
        if query is None or query.note is None:
            continue
        key = (metric.org_id, metric.live_source)
        if key not in asked:
            asked[key] = query.note(metric.org_id)
        if asked[key]:
            notes[metric.id] = asked[key]
    return notes


def mfa_coverage(org_id: int) -> Decimal | None:
    """Percentage of the organization's active users with MFA enabled (None when it has none)."""
    active = sa.and_(User.org_id == org_id, User.status == "active", User.deleted_at.is_(None))
    total = db.session.scalar(sa.select(sa.func.count(User.id)).where(active)) or 0
    if total == 0:
        return None
    enabled = db.session.scalar(sa.select(sa.func.count(User.id)).where(active, User.mfa_enabled.is_(True))) or 0
    return (Decimal(enabled) * 100 / Decimal(total)).quantize(Decimal("0.01"))


def accounts_locked_30d(org_id: int) -> Decimal:
    """Distinct accounts locked out in the last 30 days."""
    since = utcnow() - timedelta(days=30)
    return Decimal(db.session.scalar(sa.select(sa.func.count(sa.distinct(SecurityEvent.user_id))).where(
        SecurityEvent.org_id == org_id, SecurityEvent.event_type == "account_locked",
        SecurityEvent.created_at >= since)) or 0)


def open_critical_incidents(org_id: int) -> Decimal:
    """Critical incidents still open or under investigation."""
    return Decimal(db.session.scalar(sa.select(sa.func.count(SecurityIncident.id)).where(
        SecurityIncident.org_id == org_id, SecurityIncident.severity == "critical",
        SecurityIncident.status.in_(("open", "investigating")))) or 0)


def ioc_sightings_7d(org_id: int) -> Decimal:
    """Threat-intelligence sightings in the last 7 days."""
    since = utcnow() - timedelta(days=7)
    return Decimal(db.session.scalar(sa.select(sa.func.count(IocSighting.id)).where(
        IocSighting.org_id == org_id, IocSighting.created_at >= since)) or 0)


def dormant_accounts_90d(org_id: int) -> Decimal:
    """Active accounts with no sign-in for 90 days (never signed in: created more than 90 days ago)."""
    since = utcnow() - timedelta(days=90)
    return Decimal(db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.org_id == org_id, User.status == "active", User.deleted_at.is_(None),
        sa.or_(User.last_login_at < since, sa.and_(User.last_login_at.is_(None), User.created_at < since)))) or 0)


def mean_hours_to_acknowledge_30d(org_id: int) -> Decimal | None:
    """Mean hours from opening to acknowledging, over incidents opened in 30 days and acknowledged (None: none)."""
    since = utcnow() - timedelta(days=30)
    rows = db.session.execute(sa.select(SecurityIncident.created_at, SecurityIncident.acknowledged_at).where(
        SecurityIncident.org_id == org_id, SecurityIncident.created_at >= since,
        SecurityIncident.acknowledged_at.is_not(None))).all()
    hours = [max(0.0, (ack - opened).total_seconds() / 3600) for opened, ack in rows]
    return _mean(hours)


def overdue_incidents(org_id: int) -> Decimal:
    """Incidents still open or under investigation past their due time."""
    return Decimal(db.session.scalar(sa.select(sa.func.count(SecurityIncident.id)).where(
        SecurityIncident.org_id == org_id, SecurityIncident.status.in_(("open", "investigating")),
        SecurityIncident.due_at < utcnow())) or 0)


def _percent(part: int, whole: int) -> Decimal | None:
    """part of whole in %, 2 places; None when the whole is empty (nothing to measure)."""
    return None if whole == 0 else (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def _mean(values: list[float]) -> Decimal | None:
    """The mean, 2 places; None over no values (a mean of nothing is not 0)."""
    return Decimal(str(round(sum(values) / len(values), 2))) if values else None


def _count(stmt: sa.Select) -> int:
    return db.session.scalar(stmt) or 0


# Fleet: devices that have enrolled and are not decommissioned or deleted.
def _fleet(org_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(Device.org_id == org_id, Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
                   Device.status != "decommissioned")


def devices_online_pct(org_id: int) -> Decimal | None:
    """Share of enrolled devices with a heartbeat inside the online window (fleet.online_minutes; None: no devices)."""
    total = _count(sa.select(sa.func.count(Device.id)).where(_fleet(org_id)))
    online = _count(sa.select(sa.func.count(Device.id)).where(_fleet(org_id), Device.last_seen_at >= online_cutoff()))
    return _percent(online, total)


def devices_silent_24h(org_id: int) -> Decimal:
    """Enrolled devices whose last heartbeat (or enrolment, if none came) is more than 24 hours old."""
    since = utcnow() - timedelta(hours=24)
    return Decimal(_count(sa.select(sa.func.count(Device.id)).where(_fleet(org_id), sa.or_(
        Device.last_seen_at < since, sa.and_(Device.last_seen_at.is_(None), Device.enrolled_at < since)))))


def mean_hours_since_heartbeat(org_id: int) -> Decimal | None:
    """Mean hours since the last heartbeat over enrolled devices that have sent one (None when none has)."""
    now = utcnow()
    seen = db.session.scalars(sa.select(Device.last_seen_at).where(_fleet(org_id), Device.last_seen_at.is_not(None)))
    ages = [(now - t).total_seconds() / 3600 for t in seen]
    return _mean(ages)


def scanner_feeds_stale_7d(org_id: int) -> Decimal:
    """Enrolled scanners whose newest stats report a vulnerability feed older than 7 days (or none)."""
    since = utcnow() - timedelta(days=7)
    newest = (sa.select(ScannerStats.device_id, sa.func.max(ScannerStats.id).label("id"))
              .group_by(ScannerStats.device_id).subquery())
    return Decimal(_count(
        sa.select(sa.func.count(ScannerStats.id)).join(newest, ScannerStats.id == newest.c.id)
        .join(Device, Device.id == ScannerStats.device_id)
        .where(_fleet(org_id), Device.device_type == "scanner",
               sa.or_(ScannerStats.feed_updated_at.is_(None), ScannerStats.feed_updated_at < since))))


# Fleet backups and alerts: backups_catalog, backup_configs and alerts (issue 5).
def backup_success_rate_30d(org_id: int) -> Decimal | None:
    """Finished backups of the last 30 days that completed, in % (None when none ran)."""
    since = utcnow() - timedelta(days=30)
    finished = sa.and_(BackupSnapshot.org_id == org_id, BackupSnapshot.started_at >= since,
                       BackupSnapshot.status.in_(("completed", "failed", "deleted")))
    total = _count(sa.select(sa.func.count(BackupSnapshot.id)).where(finished))
    good = _count(sa.select(sa.func.count(BackupSnapshot.id)).where(finished, BackupSnapshot.status != "failed"))
    return _percent(good, total)


def restore_tested_90d_pct(org_id: int) -> Decimal | None:
    """Devices with backups on whose restore test passed in the last 90 days, in % (None when none has backups on)."""
    since = utcnow() - timedelta(days=90)
    backed_up = (sa.select(Device.id).join(BackupConfig, BackupConfig.device_id == Device.id)
                 .where(_fleet(org_id), BackupConfig.enabled.is_(True), BackupConfig.backup_mode != "off"))
    ids = list(db.session.scalars(backed_up))
    tested = _count(sa.select(sa.func.count(sa.distinct(BackupSnapshot.device_id))).where(
        BackupSnapshot.device_id.in_(ids), BackupSnapshot.restore_tested.is_(True),
        BackupSnapshot.restore_result == "passed", BackupSnapshot.last_verified_at >= since)) if ids else 0
    return _percent(tested, len(ids))


def open_critical_fleet_alerts(org_id: int) -> Decimal:
    """Fleet alerts of severity critical that are not resolved."""
    return Decimal(_count(sa.select(sa.func.count(Alert.id)).where(
        Alert.org_id == org_id, Alert.domain == "fleet", Alert.severity == "critical", Alert.status != "resolved")))


def mean_minutes_to_acknowledge_alerts_30d(org_id: int) -> Decimal | None:
    """Mean minutes from firing to acknowledgement over fleet alerts acknowledged in the last 30 days (None: none)."""
    since = utcnow() - timedelta(days=30)
    rows = db.session.execute(sa.select(Alert.fired_at, Alert.acknowledged_at).where(
        Alert.org_id == org_id, Alert.domain == "fleet", Alert.acknowledged_at >= since)).all()
    waits = [(acked - fired).total_seconds() / 60 for fired, acked in rows]
    return _mean(waits)


# Wireless: networks, their current (not removed) tags and their threat scores.
def _tagged(org_id: int) -> sa.Select:
    return sa.select(NetworkTag.network_id).where(NetworkTag.org_id == org_id, NetworkTag.removed_at.is_(None))


def wireless_high_untagged(org_id: int) -> Decimal:
    """Networks scored HIGH or CRITICAL that no analyst has tagged yet."""
    return Decimal(_count(sa.select(sa.func.count(Network.id)).where(
        Network.org_id == org_id, Network.threat_level.in_(("HIGH", "CRITICAL")),
        Network.id.not_in(_tagged(org_id)))))


def wireless_threat_tagged(org_id: int) -> Decimal:
    """Networks currently tagged THREAT."""
    return Decimal(_count(sa.select(sa.func.count(sa.distinct(NetworkTag.network_id))).where(
        NetworkTag.org_id == org_id, NetworkTag.removed_at.is_(None), NetworkTag.tag == "THREAT")))


def wireless_scored_24h_pct(org_id: int) -> Decimal | None:
    """Share of the organization's networks whose threat score was computed in the last 24 hours (None: none)."""
    since = utcnow() - timedelta(hours=24)
    total = _count(sa.select(sa.func.count(Network.id)).where(Network.org_id == org_id))
    fresh = _count(sa.select(sa.func.count(Network.id)).where(Network.org_id == org_id,
                                                              Network.threat_updated_at >= since))
    return _percent(fresh, total)


def wireless_rescore_backlog(org_id: int) -> Decimal:
    """Networks waiting to be scored again (new sightings since their last score)."""
    return Decimal(_count(sa.select(sa.func.count(Network.id)).where(Network.org_id == org_id,
                                                                     Network.needs_rescore.is_(True))))


LIVE_QUERIES.update({
    "mfa_coverage": LiveQuery("MFA coverage of active users", "%", "higher_is_better", mfa_coverage),
    "accounts_locked_30d": LiveQuery("Accounts locked (30 days)", "accounts", "lower_is_better",
                                     accounts_locked_30d),
    "open_critical_incidents": LiveQuery("Open critical incidents", "incidents", "lower_is_better",
                                         open_critical_incidents),
    "ioc_sightings_7d": LiveQuery("IOC sightings (7 days)", "sightings", "lower_is_better", ioc_sightings_7d),
    "dormant_accounts_90d": LiveQuery("Active accounts without a sign-in for 90 days", "accounts",
                                      "lower_is_better", dormant_accounts_90d),
    "mean_hours_to_acknowledge_30d": LiveQuery("Mean time to acknowledge incidents (30 days)", "hours",
                                               "lower_is_better", mean_hours_to_acknowledge_30d),
    "overdue_incidents": LiveQuery("Open incidents past their due time", "incidents", "lower_is_better",
                                   overdue_incidents),
    "devices_online_pct": LiveQuery("Devices online", "%", "higher_is_better", devices_online_pct),
    "devices_silent_24h": LiveQuery("Devices silent for more than 24 hours", "devices", "lower_is_better",
                                    devices_silent_24h),
    "mean_hours_since_heartbeat": LiveQuery("Mean time since last heartbeat", "hours", "lower_is_better",
                                            mean_hours_since_heartbeat),
    "scanner_feeds_stale_7d": LiveQuery("Scanners with a feed older than 7 days", "scanners", "lower_is_better",
                                        scanner_feeds_stale_7d),
    "backup_success_rate_30d": LiveQuery("Backup success rate (30 days)", "%", "higher_is_better",
                                         backup_success_rate_30d),
    "restore_tested_90d_pct": LiveQuery("Backed-up devices with a passed restore test in 90 days", "%",
                                        "higher_is_better", restore_tested_90d_pct),
    "open_critical_fleet_alerts": LiveQuery("Open critical fleet alerts", "alerts", "lower_is_better",
                                            open_critical_fleet_alerts),
    "mean_minutes_to_acknowledge_alerts_30d": LiveQuery("Mean time to acknowledge fleet alerts (30 days)",
                                                        "minutes", "lower_is_better",
                                                        mean_minutes_to_acknowledge_alerts_30d),
    "wireless_high_untagged": LiveQuery("Networks scored HIGH or above still untagged", "networks",
                                        "lower_is_better", wireless_high_untagged),
    "wireless_threat_tagged": LiveQuery("Networks tagged THREAT", "networks", "lower_is_better",
                                        wireless_threat_tagged),
    "wireless_scored_24h_pct": LiveQuery("Networks scored in the last 24 hours", "%", "higher_is_better",
                                         wireless_scored_24h_pct),
    "wireless_rescore_backlog": LiveQuery("Networks waiting to be rescored", "networks", "lower_is_better",
                                          wireless_rescore_backlog),
})


def live_metrics(org_id: int | None = None) -> list[Metric]:
    stmt = sa.select(Metric).where(Metric.live_source.is_not(None), Metric.deleted_at.is_(None))
    if org_id is not None:
        stmt = stmt.where(Metric.org_id == org_id)
    return db.session.scalars(stmt.order_by(Metric.org_id, Metric.id)).all()


def has_live_metrics() -> bool:
    """Cheap check for the scheduler: skip the refresh when no metric is live."""
    return db.session.scalar(sa.select(Metric.id).where(Metric.live_source.is_not(None),
                                                        Metric.deleted_at.is_(None)).limit(1)) is not None


def refresh(org_id: int | None = None) -> dict[int, int]:
    """Run the live queries; a changed value goes to history and the audit log. {org_id: values changed}."""
    changed: dict[int, int] = {}
    for metric in live_metrics(org_id):
        query = LIVE_QUERIES.get(metric.live_source or "")
        if query is None or metric.is_locked:
            continue
        value = query.func(metric.org_id)
        changed.setdefault(metric.org_id, 0)
        old = metric.current_value
        if value is None:
            if old is None:
                continue
            # Nothing to measure any more: not scored, rather than the last value kept as if current.
            # History keeps values only, so the change is in the audit log.
            metric.current_value, metric.value_updated_at = None, utcnow()
        elif old is not None and Decimal(old) == value:
            continue
        else:
            record_history(metric, value, f"live: {query.label}", None)
        audit.record("metric.value_recorded", resource_type="metric", resource_id=metric.id, org_id=metric.org_id,
                     actor_type="system", actor_label=f"live query {metric.live_source}",
                     old={"current_value": old}, new={"current_value": value})
        changed[metric.org_id] += 1
    return changed
