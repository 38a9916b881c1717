"""Live metrics of the fleet and wireless domains, computed from real rows (and scoped per org)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.metrics import live
from app.models import (
    Alert,
    BackupConfig,
    BackupSnapshot,
    Device,
    NetworkTag,
    ScannerStats,
    db,
    utcnow,
)
from tests.wireless_fakes import make_network


def device(org_id: int, n: int, seen_minutes_ago: float | None, **kw) -> Device:
    now = utcnow()
    row = Device(org_id=org_id, hostname=f"host-{org_id}-{n}", device_type=kw.pop("device_type", "server"),
                 status=kw.pop("status", "active"), enrolled_at=kw.pop("enrolled_at", now - timedelta(days=10)),
                 last_seen_at=None if seen_minutes_ago is None else now - timedelta(minutes=seen_minutes_ago), **kw)
    db.session.add(row)
    db.session.flush()
    return row


def test_fleet_live_metrics(orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    # No fleet: no share and no mean (not a perfect 100 % or 0 h), but a real count of 0.
    assert live.devices_online_pct(a) is None and live.devices_silent_24h(a) == 0
    assert live.mean_hours_since_heartbeat(a) is None
    device(a, 1, 1)                       # online
    device(a, 2, 60)                      # offline, not yet silent for a day
    device(a, 3, 60 * 30)                 # silent 30 h
    device(a, 4, None)                    # enrolled 10 days ago, never heard from
    device(a, 5, 1, status="decommissioned")  # not counted
    device(a, 6, 1, enrolled_at=None, status="pending")  # not enrolled: not counted
    device(b, 7, 60 * 48)                 # another organization
    db.session.commit()
    assert live.devices_online_pct(a) == pytest.approx(25)  # 1 of 4
    assert live.devices_silent_24h(a) == 2
    assert live.devices_silent_24h(b) == 1
    assert float(live.mean_hours_since_heartbeat(a)) == pytest.approx((1 / 60 + 1 + 30) / 3, abs=0.01)


def test_scanner_feed_staleness_reads_each_scanners_newest_stats(orgs):
    a = orgs.a.org.id
    now = utcnow()
    fresh, stale, silent = (device(a, i, 1, device_type="scanner") for i in (11, 12, 13))
    db.session.add_all([
        ScannerStats(device_id=fresh.id, feed_updated_at=now - timedelta(days=30)),   # old row...
        ScannerStats(device_id=fresh.id, feed_updated_at=now - timedelta(days=1)),    # ...newest is fresh
        ScannerStats(device_id=stale.id, feed_updated_at=now - timedelta(days=9)),
        ScannerStats(device_id=silent.id, feed_updated_at=None),
    ])
    db.session.commit()
    assert live.scanner_feeds_stale_7d(a) == 2
    assert live.scanner_feeds_stale_7d(orgs.b.org.id) == 0


def test_wireless_live_metrics(orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    assert live.wireless_scored_24h_pct(a) is None  # no networks: nothing measured
    now = utcnow()
    high = make_network(a)
    high.threat_level, high.threat_updated_at, high.needs_rescore = "HIGH", now, False
    critical_tagged = make_network(a)
    critical_tagged.threat_level, critical_tagged.threat_updated_at = "CRITICAL", now - timedelta(days=3)
    critical_untagged_again = make_network(a)
    critical_untagged_again.threat_level = "CRITICAL"
    low = make_network(a)
    low.threat_level, low.threat_updated_at, low.needs_rescore = "LOW", now, False
    other = make_network(b)
    other.threat_level = "HIGH"
    db.session.flush()
    db.session.add_all([
        NetworkTag(org_id=a, network_id=critical_tagged.id, tag="THREAT", is_threat=True),
        NetworkTag(org_id=a, network_id=low.id, tag="THREAT", is_threat=True),
        # A removed tag does not count: the network is untagged again.
        NetworkTag(org_id=a, network_id=critical_untagged_again.id, tag="LEGIT", removed_at=now),
    ])
    db.session.commit()
    assert live.wireless_high_untagged(a) == 2  # high + critical_untagged_again
    assert live.wireless_high_untagged(b) == 1
    assert live.wireless_threat_tagged(a) == 2 and live.wireless_threat_tagged(b) == 0
    assert live.wireless_scored_24h_pct(a) == 50  # high and low of 4
    assert live.wireless_rescore_backlog(a) == 2  # new networks need a score until scored
    assert live.wireless_rescore_backlog(b) == 1


def test_every_live_query_is_registered_with_unit_and_direction(orgs):
    assert len(live.LIVE_QUERIES) >= 12
    for name, query in live.LIVE_QUERIES.items():
        assert query.unit and query.direction in ("higher_is_better", "lower_is_better"), name
        value = query.func(orgs.a.org.id)
        assert value is None or value >= 0, name


def test_identity_and_incident_live_metrics(orgs):
    from app.metrics.live import (
        dormant_accounts_90d,
        mean_hours_to_acknowledge_30d,
        overdue_incidents,
    )
    from app.models import SecurityIncident

    a = orgs.a.org.id
    now = utcnow()
    users = list(orgs.a.users.values())
    for u in users:
        u.last_login_at = now - timedelta(days=1)
    users[0].last_login_at = now - timedelta(days=120)
    users[1].last_login_at, users[1].created_at = None, now - timedelta(days=200)
    users[2].last_login_at, users[2].created_at = None, now - timedelta(days=3)  # new: not dormant
    orgs.b.users["admin"].last_login_at = now - timedelta(days=400)
    db.session.add_all([
        SecurityIncident(org_id=a, title="a", severity="high", status="investigating", created_at=now - timedelta(hours=10),
                         acknowledged_at=now - timedelta(hours=8), due_at=now - timedelta(hours=1)),
        SecurityIncident(org_id=a, title="b", severity="low", status="open", created_at=now - timedelta(hours=5),
                         acknowledged_at=now - timedelta(hours=1), due_at=now + timedelta(hours=4)),
        SecurityIncident(org_id=a, title="c", severity="low", status="closed", created_at=now - timedelta(days=40),
                         acknowledged_at=now - timedelta(days=39), due_at=now - timedelta(days=30)),
    ])
    db.session.commit()
    assert dormant_accounts_90d(a) == 2
    assert float(mean_hours_to_acknowledge_30d(a)) == pytest.approx(3.0)  # (2 + 4) / 2; the 40-day one is out
    assert mean_hours_to_acknowledge_30d(orgs.b.org.id) is None  # nothing acknowledged: no mean
    assert overdue_incidents(a) == 1 and overdue_incidents(orgs.b.org.id) == 0


def snap(dev: Device, n: int, days_ago: float, status: str = "completed", **kw) -> BackupSnapshot:
    row = BackupSnapshot(device_id=dev.id, org_id=dev.org_id, snapshot_id=f"s-{dev.id}-{n}", backup_type="file",
                         storage_path="/b", status=status, started_at=utcnow() - timedelta(days=days_ago), **kw)
    db.session.add(row)
    return row


def test_backup_live_metrics(orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    assert live.backup_success_rate_30d(a) is None and live.restore_tested_90d_pct(a) is None  # nothing ran
    one, two, off = device(a, 21, 1), device(a, 22, 1), device(a, 23, 1)
    other = device(b, 24, 1)
    for dev, mode in ((one, "file"), (two, "hybrid"), (off, "off"), (other, "file")):
        db.session.add(BackupConfig(device_id=dev.id, org_id=dev.org_id, enabled=True, backup_mode=mode))
    snap(one, 1, 1)
    snap(one, 2, 2, status="failed")
    snap(one, 3, 3, status="deleted")       # expired by retention: it did complete
    snap(one, 4, 40, status="failed")       # outside the 30 days
    snap(two, 5, 1, status="in_progress")   # not finished: not counted
    snap(two, 6, 5, restore_tested=True, last_verified_at=utcnow() - timedelta(days=100))  # tested too long ago
    snap(one, 7, 6, restore_tested=True, restore_result="passed", last_verified_at=utcnow() - timedelta(days=10))
    snap(two, 9, 7, restore_tested=True, restore_result="failed", last_verified_at=utcnow() - timedelta(days=3))
    snap(other, 8, 1, status="failed")
    db.session.commit()
    assert float(live.backup_success_rate_30d(a)) == pytest.approx(500 / 6, abs=0.01)  # 5 of the 6 finished in 30 days (1, 2, 3, 6, 7, 9)
    assert live.backup_success_rate_30d(b) == 0
    assert live.restore_tested_90d_pct(a) == 50  # one of the two with backups on; two's test failed
    assert live.restore_tested_90d_pct(b) == 0


def test_fleet_alert_live_metrics(orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    dev = device(a, 31, 1)
    now = utcnow()

    def alert(org_id, severity, status, fired_minutes_ago, acked_minutes_ago=None):
        db.session.add(Alert(org_id=org_id, device_id=dev.id if org_id == a else None, target_key="device:x",
                             target_label="x", alert_type="cpu_high", severity=severity, message="m", status=status,
                             fired_at=now - timedelta(minutes=fired_minutes_ago),
                             acknowledged_at=None if acked_minutes_ago is None
                             else now - timedelta(minutes=acked_minutes_ago)))

    alert(a, "critical", "open", 30)
    alert(a, "critical", "acknowledged", 100, 90)   # acknowledged after 10 minutes
    alert(a, "critical", "resolved", 200, 170)      # after 30 minutes, resolved: not open
    alert(a, "warning", "open", 5)
    alert(b, "critical", "open", 5)
    db.session.commit()
    assert live.open_critical_fleet_alerts(a) == 2
    assert live.open_critical_fleet_alerts(b) == 1
    assert float(live.mean_minutes_to_acknowledge_alerts_30d(a)) == pytest.approx(20)
    assert live.mean_minutes_to_acknowledge_alerts_30d(b) is None


def test_a_live_metric_with_nothing_to_measure_is_not_scored_and_clears_on_refresh(orgs, csf):
    """No devices: 'devices online' has no value (not a perfect 100 %), and losing the last device clears it."""
    from app.metrics import scoring, services
    from app.models import AuditLog, FrameworkFunction, MetricHistory
    a = orgs.a.org.id
    de = db.session.scalar(sa.select(FrameworkFunction).where(FrameworkFunction.code == "DE"))
    values = services.with_live_value({"org_id": a, "live_source": "devices_online_pct", "current_value": None})
    metric = services.create_metric(a, None, name="Devices online", function_id=de.id, direction="higher_is_better",
                                    target_value=98, unit="%", priority="High", live_source="devices_online_pct",
                                    current_value=values["current_value"])
    assert metric.current_value is None
    assert scoring.score_metric(services.as_input(metric)).score is None  # not scored, not 100
    dev = device(a, 41, 1)
    db.session.commit()
    assert live.refresh(a) == {a: 1} and metric.current_value == 100
    dev.deleted_at = utcnow()
    db.session.commit()
    assert live.refresh(a) == {a: 1}
    assert metric.current_value is None and services.scorecard(a).functions["DE"].score is None
    assert db.session.scalar(sa.select(sa.func.count(MetricHistory.id)).where(MetricHistory.metric_id == metric.id)) == 1
    cleared = db.session.scalars(sa.select(AuditLog).where(AuditLog.resource_id == str(metric.id),
                                                           AuditLog.action == "metric.value_recorded")
                                 .order_by(AuditLog.id)).all()
    assert len(cleared) == 2 and cleared[-1].new_values == {"current_value": None}
    assert live.refresh(a) == {a: 0}  # still nothing: no new audit row
