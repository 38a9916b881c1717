"""Device facts (endpoint, retention, differences, the device page's Facts section), the
devices_online and scanner_summary queries, and the retention jobs."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.fleet import facts, queries, retention
from app.fleet.ingest import bucket_start
from app.models import (
    Alert,
    AuditLog,
    Device,
    DeviceFacts,
    MetricRollup,
    ScannerStats,
    Setting,
    db,
    utcnow,
)
from tests.conftest import run_jobs
from tests.test_fleet import bearer, enrolled, heartbeat, new_device

FACTS = {"hostname": "scn-a1", "os": {"name": "debian", "version": "12.4"}, "cpu": {"cores": 8},
         "disks": [{"mount": "/", "size_gb": 100}, {"mount": "/var", "size_gb": 200}],
         "installed_packages": ["openssh", "gvm-libs", "curl"], "docker_version": "24.0.7"}


def post_facts(client, agent, payload):
    return client.post("/api/agent/facts", headers=bearer(agent["api_key"]), json=payload)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_diff_reports_added_removed_and_changed_keys_nested():
    new = {**FACTS, "os": {"name": "debian", "version": "12.5"}, "cpu": {"cores": 8, "model": "Xeon"},
           "disks": [{"mount": "/var", "size_gb": 400}, {"mount": "/", "size_gb": 100}],
           "installed_packages": ["openssh", "gvm-libs", "jq"], "greenbone_version": "22.4"}
    del new["docker_version"]
    changes = facts.diff(FACTS, new)
    assert changes["changed"] == {"os.version": ["12.4", "12.5"], "disks[mount=/var].size_gb": [200, 400]}
    assert changes["added"] == {"cpu.model": "Xeon", "installed_packages[]": ["jq"], "greenbone_version": "22.4"}
    assert changes["removed"] == {"installed_packages[]": ["curl"], "docker_version": "24.0.7"}
    assert facts.is_empty(facts.diff(FACTS, dict(FACTS)))
    # Lists of objects without an identifying key are compared by position; a type change is a change.
    assert facts.diff({"x": [{"a": 1}]}, {"x": [{"a": 2}, {"a": 3}]}) == {
        "added": {"x[1]": {"a": 3}}, "removed": {}, "changed": {"x[0].a": [1, 2]}}
    assert facts.diff({"n": 1}, {"n": "1"})["changed"] == {"n": [1, "1"]}


def test_facts_are_stored_and_a_change_is_audited(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    first = post_facts(client, agent, {"facts": FACTS})
    assert first.status_code == 201 and first.json["device_id"] == agent["device_id"]
    audits = count(AuditLog)
    assert post_facts(client, agent, {"facts": FACTS}).status_code == 201  # the same again: telemetry
    assert count(AuditLog) == audits
    changed = post_facts(client, agent, {"facts": {**FACTS, "docker_version": "25.0.1"}})
    assert changed.json["changes"] == {"added": 0, "removed": 0, "changed": 1}
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.facts_changed"))
    assert audit.actor_type == "agent" and audit.org_id == orgs.a.org.id
    assert audit.details["summary"]["changed"]["paths"] == ["docker_version"]
    assert count(DeviceFacts) == 3


def test_bad_facts_are_422_with_field_errors_and_store_nothing(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    for payload, field in (({"facts": []}, "facts"), ({}, "facts"), ({"facts": {}}, "facts"),
                           ({"facts": FACTS, "collected_at": "last week"}, "collected_at"),
                           ({"facts": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}}, "facts.a.b.c.d.e.f.g.h"),
                           ({"facts": {"blob": "x" * 300_000}}, "facts"),
                           ({"facts": {"k" * 201: 1}}, "facts." + "k" * 40)):
        response = post_facts(client, agent, payload)
        assert response.status_code == 422, payload
        assert field in response.json["error"]["fields"], response.json
    assert client.post("/api/agent/facts", headers=bearer(agent["api_key"]), data="nope",
                       content_type="application/json").status_code == 422
    assert count(DeviceFacts) == 0


def test_facts_are_bound_to_the_keys_own_device(client, orgs):
    mine = enrolled(client, orgs.a.org.id, serial="A")
    theirs = enrolled(client, orgs.b.org.id, serial="B", name="b-1")
    response = post_facts(client, mine, {"facts": FACTS, "device_id": theirs["device_id"]})
    assert response.status_code == 403 and response.json["error"]["code"] == "wrong_device"
    assert client.post("/api/agent/facts", json={"facts": FACTS}).status_code == 401
    from app.api.tokens import create_api_key

    user_key, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "x", ["events:read"], None)
    db.session.commit()
    assert client.post("/api/agent/facts", headers=bearer(user_key), json={"facts": FACTS}).status_code == 403
    assert count(DeviceFacts) == 0


def test_only_the_newest_snapshots_are_kept(client, orgs):
    db.session.add(Setting(key="fleet.facts_keep", value=3))
    db.session.commit()
    agent = enrolled(client, orgs.a.org.id)
    for i in range(5):
        ts = (utcnow() - timedelta(minutes=10 - i)).isoformat()
        assert post_facts(client, agent, {"facts": {**FACTS, "n": i}, "collected_at": ts}).status_code == 201
    kept = [s.facts["n"] for s in facts.snapshots(agent["device_id"])]
    assert kept == [4, 3, 2]


def test_the_device_page_shows_what_changed_between_two_snapshots(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    post_facts(client, agent, {"facts": FACTS, "collected_at": (utcnow() - timedelta(hours=2)).isoformat()})
    post_facts(client, agent, {"facts": {**FACTS, "docker_version": "25.0.1"},
                               "collected_at": (utcnow() - timedelta(hours=1)).isoformat()})
    post_facts(client, agent, {"facts": {**FACTS, "docker_version": "25.0.1", "kernel": "6.1.0-18"}})
    client.login(orgs.a.users["read_only"].email)
    device_page = client.get(f"/fleet/devices/{agent['device_id']}/tab/facts").get_data(as_text=True)
    assert f'hx-get="/fleet/devices/{agent["device_id"]}/facts"' in device_page
    newest = client.get(f"/fleet/devices/{agent['device_id']}/facts", headers={"HX-Request": "true"})
    html = newest.get_data(as_text=True)
    assert "<html" not in html and "kernel" in html and "docker_version" not in html
    oldest, _, latest = [s.id for s in reversed(facts.snapshots(agent["device_id"]))]
    chosen = client.get(f"/fleet/devices/{agent['device_id']}/facts?from={oldest}&to={latest}").get_data(as_text=True)
    assert "docker_version" in chosen and '"24.0.7"' in chosen and "kernel" in chosen
    assert client.get(f"/fleet/devices/{agent['device_id']}/facts?from=999999").status_code == 404


# ---------------------------------------------------------------- the seed's views

def test_devices_online_and_scanner_summary(client, orgs):
    agent = enrolled(client, orgs.a.org.id, name="scan-1")
    client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(
        scanner_stats={"scans_running": 2, "scans_queued": 5, "vulns_critical": 3, "vulns_high": 7}))
    quiet, _ = new_device(orgs.a.org.id, "srv-quiet", "server")
    quiet.last_seen_at = utcnow() - timedelta(minutes=10)
    gone, _ = new_device(orgs.a.org.id, "gone", "scanner")
    gone.soft_delete()
    new_device(orgs.b.org.id, "theirs", "scanner")
    db.session.commit()
    rows = {r.device.label: r for r in queries.devices_online(orgs.a.org.id)}
    assert set(rows) == {"scan-1", "srv-quiet"}
    assert rows["scan-1"].is_online and rows["scan-1"].seconds_since_heartbeat < 60
    assert not rows["srv-quiet"].is_online and 590 < rows["srv-quiet"].seconds_since_heartbeat < 700
    assert queries.online_counts(orgs.a.org.id) == {"total": 2, "online": 1, "scanners_online": 1,
                                                    "servers_online": 0}
    [scanner] = queries.scanner_summary(orgs.a.org.id)
    assert (scanner.device_name, scanner.org_name, scanner.scans_running, scanner.scans_queued,
            scanner.vulns_critical, scanner.vulns_high) == ("scan-1", orgs.a.org.name, 2, 5, 3, 7)
    # A newer stats row wins.
    db.session.add(ScannerStats(device_id=agent["device_id"], scans_running=0, vulns_critical=1,
                                collected_at=utcnow() + timedelta(seconds=5)))
    db.session.commit()
    assert queries.scanner_summary(orgs.a.org.id)[0].vulns_critical == 1
    everyone = {r.device_name for r in queries.scanner_summary(None)}
    assert {"scan-1", "theirs"} <= everyone and "gone" not in everyone
    [theirs] = queries.scanner_summary(orgs.b.org.id)
    assert theirs.scans_running is None and theirs.last_seen is None


# ---------------------------------------------------------------- retention jobs

def test_retention_jobs_delete_old_rollups_extra_facts_and_old_resolved_alerts(app, client, orgs):
    from app.jobs import enqueue
    from app.jobs.schedule import PERIODIC_JOBS, _has_work

    kinds = {p.kind: p for p in PERIODIC_JOBS}
    for kind in ("fleet.prune_rollups", "fleet.prune_facts", "alerts.prune_resolved", "fleet.evaluate_alerts"):
        assert kinds[kind].only_if
    device, _ = new_device(orgs.a.org.id)
    old, recent = bucket_start(utcnow() - timedelta(days=91)), bucket_start(utcnow() - timedelta(days=89))
    for bucket in (old, recent):
        db.session.add(MetricRollup(device_id=device.id, bucket_start=bucket, metric="cpu", avg_value=1,
                                    max_value=1, sample_count=1))
    for i in range(4):
        db.session.add(DeviceFacts(device_id=device.id, facts={"n": i}, collected_at=utcnow() - timedelta(hours=i)))
    db.session.add(Setting(key="fleet.facts_keep", value=2))
    for days in (200, 10):
        db.session.add(Alert(org_id=orgs.a.org.id, device_id=device.id, target_key="t", target_label="t",
                             alert_type="cpu_high", severity="info", message=f"{days} days", status="resolved",
                             resolved_at=utcnow() - timedelta(days=days), fired_at=utcnow() - timedelta(days=days)))
    db.session.add(Alert(org_id=orgs.a.org.id, device_id=device.id, target_key="t", target_label="t",
                         alert_type="cpu_high", severity="info", message="still open", status="open",
                         fired_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    assert all(_has_work(k) for k in ("fleet.prune_rollups", "fleet.prune_facts", "alerts.prune_resolved"))
    for kind in ("fleet.prune_rollups", "fleet.prune_facts", "alerts.prune_resolved"):
        enqueue(kind, org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.scalars(sa.select(MetricRollup.bucket_start)).all() == [recent]
    assert sorted(db.session.scalars(sa.select(DeviceFacts.facts["n"].as_integer()))) == [0, 1]
    assert sorted(db.session.scalars(sa.select(Alert.message))) == ["10 days", "still open"]
    assert not any(_has_work(k) for k in ("fleet.prune_rollups", "fleet.prune_facts", "alerts.prune_resolved"))
    pruned = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "retention.pruned")).all()
    assert {(a.resource_type, a.details["deleted"]) for a in pruned} == {
        ("metrics_rollup", 1), ("device_facts", 2), ("alerts", 1)}
    assert retention.prune_rollups() == 0
    assert db.session.get(Device, device.id) is not None
