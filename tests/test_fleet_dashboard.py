"""Fleet dashboard (the seed's eight KPIs and its lists), the scanner operations page, the
query count at 500 devices, and retention of heartbeats and scanner stats."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.fleet import dashboard, retention
from app.models import (
    Alert,
    AuditLog,
    BackupSnapshot,
    Device,
    Heartbeat,
    ScannerStats,
    Setting,
    db,
    utcnow,
)
from tests.conftest import run_jobs
from tests.test_fleet import bearer, enrol_payload, enrolled, heartbeat, new_device


def enrolled_server(client, org_id: int, serial: str, name: str) -> dict:
    _, code = new_device(org_id, name, "server")
    response = client.post("/api/agent/enrol", json=enrol_payload(code, serial=serial,
                                                                  macs=[f"aa:bb:cc:00:01:{abs(hash(serial)) % 99:02d}"]))
    assert response.status_code == 201, response.json
    return response.json


def kpi(html: str, key: str) -> str:
    match = re.search(rf'data-kpi="{key}">([^<]*)<', html)
    assert match, f"no KPI {key}"
    return match.group(1)


def add_alert(org_id: int, device_id: int | None, severity: str = "critical", status: str = "open") -> Alert:
    alert = Alert(org_id=org_id, device_id=device_id, target_key=f"t{device_id}-{severity}-{status}",
                  target_label="x", alert_type="cpu_high", severity=severity, message=f"{severity} thing on {device_id}",
                  status=status)
    db.session.add(alert)
    db.session.flush()
    return alert


def make_fleet(org_id: int, n: int, *, now=None) -> list[int]:
    """n enrolled devices (2 in 3 scanners), each with a heartbeat and scanner stats, in bulk."""
    now = now or utcnow()
    ids = []
    for i in range(n):
        d = Device(org_id=org_id, hostname=f"bulk-{i}", device_name=f"bulk-{i:04d}",
                   device_type="scanner" if i % 3 else "server", status="active", enrolled_at=now,
                   last_seen_at=now if i % 10 else now - timedelta(hours=1), tags=[])
        db.session.add(d)
        ids.append(d)
    db.session.flush()
    db.session.execute(sa.insert(Heartbeat), [
        {"device_id": d.id, "timestamp": now, "received_at": now, "cpu_usage_percent": 10.0,
         "ram_usage_percent": 20.0, "filesystems": [{"mount": "/", "used_percent": 95.0 if i % 50 == 0 else 40.0}],
         "payload": {}, "failed_login_count_24h": 0} for i, d in enumerate(ids)])
    db.session.execute(sa.insert(ScannerStats), [
        {"device_id": d.id, "collected_at": now, "scans_running": 1, "scans_queued": 2, "tasks_total": 3,
         "vulns_critical": 0, "vulns_high": 1, "vulns_medium": 0, "vulns_low": 0, "scans_completed_24h": 0,
         "top_vulns": [], "feed_updated_at": now} for d in ids if d.device_type == "scanner"])
    db.session.commit()
    return [d.id for d in ids]


@contextmanager
def counted_queries():
    """Count the SQL statements sent to the database (SQLAlchemy cursor events)."""
    statements: list[str] = []
    engine = db.session.get_bind().engine if hasattr(db.session.get_bind(), "engine") else db.engine

    def listen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def test_the_dashboard_shows_the_eight_kpis_and_what_needs_attention(client, orgs):
    org = orgs.a.org.id
    scanner = enrolled(client, org, serial="SN-D1", name="scan-dash")
    client.post("/api/agent/heartbeat", headers=bearer(scanner["api_key"]), json=heartbeat(
        filesystems=[{"mount": "/", "used_percent": 40.0}, {"mount": "/var", "used_percent": 97.5, "size_gb": 50}],
        scanner_stats={"tasks_total": 9, "scans_running": 3, "scans_queued": 4, "vulns_critical": 2}))
    server = enrolled_server(client, org, serial="SN-D2", name="srv-dash")
    client.post("/api/agent/heartbeat", headers=bearer(server["api_key"]), json=heartbeat(scanner_stats=None))
    silent = enrolled_server(client, org, serial="SN-D3", name="srv-silent")
    db.session.get(Device, silent["device_id"]).last_seen_at = utcnow() - timedelta(hours=2)
    add_alert(org, scanner["device_id"], "critical")
    add_alert(org, scanner["device_id"], "critical", status="resolved")
    add_alert(org, server["device_id"], "warning")
    other = enrolled(client, orgs.b.org.id, serial="SN-D4", name="theirs-dash")
    add_alert(orgs.b.org.id, other["device_id"], "critical")
    for device_id, org_id, status, hours_ago in ((server["device_id"], org, "failed", 2),
                                                  (server["device_id"], org, "failed", 30),    # older than 24 h
                                                  (server["device_id"], org, "completed", 1),
                                                  (other["device_id"], orgs.b.org.id, "failed", 1)):
        db.session.add(BackupSnapshot(device_id=device_id, org_id=org_id, snapshot_id=f"b-{device_id}-{hours_ago}",
                                      backup_type="file", storage_path="/b", status=status,
                                      started_at=utcnow() - timedelta(hours=hours_ago)))
    db.session.commit()

    client.login(orgs.a.users["read_only"].email)
    page = client.get("/fleet/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert kpi(html, "devices_online") == "2" and kpi(html, "scanners_online") == "1"
    # Alerts the heartbeats raised (default rules) count too; resolved ones and org B's do not.
    active_critical = db.session.scalar(sa.select(sa.func.count(Alert.id)).where(
        Alert.org_id == org, Alert.severity == "critical", Alert.status != "resolved"))
    assert active_critical >= 1
    assert kpi(html, "servers_online") == "1" and kpi(html, "critical_alerts") == str(active_critical)
    assert kpi(html, "running_scans") == "3" and kpi(html, "scanner_tasks_queued") == "4"
    assert kpi(html, "critical_disks") == "1"
    assert kpi(html, "failed_backups_24h") == "1"
    assert "srv-silent" in html.split('id="dash-offline"')[1].split("</table>")[0]
    assert "/var" in html.split('id="dash-disks"')[1] and "97.5 %" in html
    assert "critical thing on" in html and "theirs-dash" not in html
    fragment = client.get("/fleet/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'data-kpi="critical_alerts"' in fragment
    # The threshold is a setting.
    db.session.add(Setting(key="fleet.critical_disk_percent", value=99))
    db.session.commit()
    assert kpi(client.get("/fleet/").get_data(as_text=True), "critical_disks") == "0"


def test_fleet_kpis_is_one_function(orgs, db_session):
    make_fleet(orgs.a.org.id, 30)
    kpis = dashboard.fleet_kpis(orgs.a.org.id)
    assert set(kpis) >= {"devices_online", "scanners_online", "servers_online", "critical_alerts", "running_scans",
                         "failed_backups_24h", "scanner_tasks_queued", "critical_disks"}
    assert kpis["failed_backups_24h"] == 0
    assert kpis["devices_online"] == 27 and kpis["running_scans"] == 20 and kpis["scanner_tasks_queued"] == 40
    assert kpis["critical_disks"] == 1
    assert dashboard.fleet_kpis(orgs.b.org.id)["devices_online"] == 0


@pytest.mark.postgres
def test_the_dashboard_runs_the_same_queries_for_50_and_500_devices(app, client, orgs):
    """No N+1: the statement count does not grow with the fleet."""
    make_fleet(orgs.a.org.id, 50)
    client.login(orgs.a.users["read_only"].email)
    client.get("/fleet/")
    with counted_queries() as small:
        assert client.get("/fleet/").status_code == 200
    make_fleet(orgs.a.org.id, 450)
    for i in range(40):
        add_alert(orgs.a.org.id, None, "critical" if i % 2 else "warning", status="open")
    db.session.commit()
    with counted_queries() as large:
        page = client.get("/fleet/")
    assert page.status_code == 200 and kpi(page.get_data(as_text=True), "devices_online") == "450"
    assert len(large) == len(small), (len(small), len(large))
    assert len(large) <= 25, large
    with counted_queries() as scanners_page:
        assert client.get("/fleet/scanners").status_code == 200
    assert len(scanners_page) <= 15, scanners_page


def test_the_scanner_operations_page(client, orgs):
    agent = enrolled(client, orgs.a.org.id, serial="SN-S1", name="scan-ops")
    old_feed = (utcnow() - timedelta(hours=72)).isoformat()
    last_scan = (utcnow() - timedelta(minutes=30)).isoformat()
    client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(scanner_stats={
        "tasks_total": 12, "scans_running": 2, "scans_queued": 5, "vulns_critical": 1, "vulns_high": 7,
        "vulns_medium": 11, "vulns_low": 13, "feed_updated_at": old_feed, "last_scan_at": last_scan}))
    enrolled(client, orgs.b.org.id, serial="SN-S2", name="their-scanner")
    client.login(orgs.a.users["read_only"].email)
    html = client.get("/fleet/scanners").get_data(as_text=True)
    row = html.split(f'data-scanner="{agent["device_id"]}"')[1].split("</tr>")[0]
    assert "72 h" in row and "feed 72 h old" in row and ">13<" in row and ">11<" in row and ">7<" in row
    assert "unknown" not in row  # the last scan time is shown
    assert "their-scanner" not in html
    assert "<html" not in client.get("/fleet/scanners", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_nav_starts_with_the_dashboard(client, orgs):
    from app.core.navigation import SECTIONS

    FLEET_NAV = SECTIONS["fleet"].entries

    assert FLEET_NAV[0][0] == "fleet.dashboard" and any(e == "fleet.scanners" for e, *_ in FLEET_NAV)


def test_retention_prunes_old_heartbeats_and_scanner_stats_but_keeps_each_devices_newest(app, client, orgs):
    now = utcnow()
    ids = make_fleet(orgs.a.org.id, 3, now=now - timedelta(days=30))  # only old rows: the newest stays
    keep = ids[1]  # a scanner
    db.session.execute(sa.insert(Heartbeat), [
        {"device_id": keep, "timestamp": now - timedelta(days=d), "received_at": now, "cpu_usage_percent": 1.0,
         "ram_usage_percent": 1.0, "filesystems": [], "payload": {}, "failed_login_count_24h": 0}
        for d in (20, 1)])
    db.session.execute(sa.insert(ScannerStats), [
        {"device_id": keep, "collected_at": now - timedelta(days=d), "top_vulns": []} for d in (20, 1)])
    db.session.commit()
    assert retention.has_old_telemetry()
    from app.jobs.schedule import start_periodic

    start_periodic("fleet.prune_telemetry")
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    left = db.session.execute(sa.select(Heartbeat.device_id, Heartbeat.timestamp)).all()
    assert sorted(d for d, _ in left) == sorted([ids[0], keep, ids[2]])  # one each: the newest
    assert all(ts > now - timedelta(days=2) for d, ts in left if d == keep)
    stats = db.session.execute(sa.select(ScannerStats.device_id, ScannerStats.collected_at)).all()
    assert [d for d, ts in stats if d == keep] == [keep] and all(ts > now - timedelta(days=2) for d, ts in stats
                                                                if d == keep)
    assert not retention.has_old_telemetry()
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "retention.pruned",
                                                         AuditLog.resource_type == "heartbeats")).all()
    assert audit and audit[-1].details["deleted"] == 2
    # A longer retention setting keeps what a shorter one would delete.
    db.session.execute(sa.insert(Heartbeat), [
        {"device_id": keep, "timestamp": now - timedelta(days=10), "received_at": now, "cpu_usage_percent": 1.0,
         "ram_usage_percent": 1.0, "filesystems": [], "payload": {}, "failed_login_count_24h": 0}])
    db.session.add(Setting(key="fleet.heartbeat_retention_days", value=30))
    db.session.commit()
    assert not retention.has_old_telemetry()
