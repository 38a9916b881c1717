"""Fleet inventory and device page: the edit form, bulk actions, the organization filter,
the device tabs, the metric series and scanner CVEs, and tenant isolation of every id route."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.fleet.ingest import bucket_start
from app.models import AuditLog, Device, MetricRollup, ScannerStats, Site, db, utcnow
from tests.conftest import csrf_from
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_fleet import bearer, enrolled, heartbeat, new_device

EDIT = {"device_name": "Perth scanner", "hostname": "scn-perth-01", "device_type": "scanner", "site_id": "",
        "subscription_id": "", "billing_type": "customer", "environment": "staging", "status": "suspended",
        "heartbeat_interval": "120", "manufacturer": "Dell", "model": "R250", "serial_number": "ABC123",
        "cpu_model": "Xeon E-2314", "cpu_cores": "4", "ram_mb": "16384", "disk_gb": "480", "os_type": "debian",
        "os_version": "12", "kernel_version": "6.1.0-18", "local_ip": "192.168.1.20", "public_ip": "203.0.113.7",
        "mac_addresses": "AA:BB:CC:DD:EE:01, aa-bb-cc-dd-ee-02", "modules_enabled": ["monitoring", "scanner"],
        "tags": "dmz, Perth", "custom_fields": "rack = R12\ncontract = MSP-77", "notes": "Front office"}


def test_the_edit_form_saves_every_inventory_column_and_audits(client, orgs):
    device, _ = new_device(orgs.a.org.id, "scn-1")
    client.login(orgs.a.users["operator"].email)
    form = client.get(f"/fleet/devices/{device.id}/edit")
    assert form.status_code == 200 and 'name="custom_fields"' in form.get_data(as_text=True)
    response = client.post(f"/fleet/devices/{device.id}/edit", data={**EDIT, "site_id": str(orgs.a.site.id)})
    assert response.status_code == 303
    db.session.expire_all()
    d = db.session.get(Device, device.id)
    assert (d.device_name, d.hostname, d.environment, d.status, d.heartbeat_interval) == (
        "Perth scanner", "scn-perth-01", "staging", "suspended", 120)
    assert (d.manufacturer, d.model, d.cpu_cores, d.ram_mb, d.os_version, d.public_ip) == (
        "Dell", "R250", 4, 16384, "12", "203.0.113.7")
    assert d.mac_addresses == ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"] and d.site_id == orgs.a.site.id
    assert d.modules_enabled == ["monitoring", "scanner"] and d.tags == ["dmz", "perth"]
    assert d.custom_fields == {"rack": "R12", "contract": "MSP-77"}
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.updated"))
    assert row.new_values["environment"] == "staging" and row.old_values["environment"] == "production"
    overview = client.get(f"/fleet/devices/{device.id}").get_data(as_text=True)
    assert "R12" in overview and "203.0.113.7" in overview
    audit_tab = client.get(f"/fleet/devices/{device.id}/tab/audit").get_data(as_text=True)
    assert "device.updated" in audit_tab and "device.created" in audit_tab


def test_an_invalid_edit_is_422_with_messages_and_saves_nothing(client, orgs):
    device, _ = new_device(orgs.a.org.id, "scn-2")
    client.login(orgs.a.users["operator"].email)
    for field, value, message in (("public_ip", "999.1.1.1", "IPv4 or IPv6"),
                                  ("mac_addresses", "not-a-mac", "Not a MAC address"),
                                  ("custom_fields", "no equals sign", "Line 1"),
                                  ("heartbeat_interval", "5", "between 15 and 3600"),
                                  ("status", "offline", "Not a valid choice")):
        response = client.post(f"/fleet/devices/{device.id}/edit", data={**EDIT, field: value})
        assert response.status_code == 422, field
        assert message in response.get_data(as_text=True), field
    db.session.expire_all()
    assert db.session.get(Device, device.id).device_name == "scn-2"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.updated")) is None


def test_bulk_actions_touch_only_this_organizations_devices(client, orgs):
    mine = [new_device(orgs.a.org.id, f"mine-{i}")[0] for i in range(3)]
    theirs, _ = new_device(orgs.b.org.id, "theirs")
    client.login(orgs.a.users["operator"].email)
    ids = [str(d.id) for d in mine[:2]] + [str(theirs.id)]
    assert client.post("/fleet/devices/bulk", data={"action": "tag", "tag": "Patch-Tuesday",
                                                    "device_ids": ids}).status_code == 303
    assert client.post("/fleet/devices/bulk", data={"action": "assign_site", "site_id": str(orgs.a.site.id),
                                                    "device_ids": ids}).status_code == 303
    db.session.expire_all()
    assert [db.session.get(Device, d.id).tags for d in mine] == [["patch-tuesday"], ["patch-tuesday"], []]
    assert [db.session.get(Device, d.id).site_id for d in mine] == [orgs.a.site.id, orgs.a.site.id, None]
    other = db.session.get(Device, theirs.id)
    assert other.tags == [] and other.site_id is None
    assert client.post("/fleet/devices/bulk", data={"action": "untag", "tag": "patch-tuesday",
                                                    "device_ids": [str(mine[0].id)]}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Device, mine[0].id).tags == []
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "device.bulk_updated")).all()
    assert len(rows) == 5 and {r.resource_id for r in rows} == {str(mine[0].id), str(mine[1].id)}
    # Only another organization's ids: nothing happens; another organization's site is refused.
    assert client.post("/fleet/devices/bulk", data={"action": "tag", "tag": "x",
                                                    "device_ids": [str(theirs.id)]}).status_code == 303
    assert client.post("/fleet/devices/bulk", data={"action": "assign_site", "site_id": str(orgs.b.site.id),
                                                    "device_ids": [str(mine[2].id)]}).status_code in (404, 422)
    db.session.expire_all()
    assert db.session.get(Device, theirs.id).tags == [] and db.session.get(Device, mine[2].id).site_id is None
    # Nothing ticked, or no tag named: the inventory again with the message.
    for data, message in (({"action": "tag", "tag": "x"}, "Tick between 1 and 1000"),
                          ({"action": "tag", "tag": "", "device_ids": [str(mine[2].id)]}, "Name the tag")):
        response = client.post("/fleet/devices/bulk", data=data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_read_only_users_cannot_edit_or_bulk(client, orgs):
    device, _ = new_device(orgs.a.org.id, "ro")
    client.login(orgs.a.users["read_only"].email)
    assert client.get(f"/fleet/devices/{device.id}/edit").status_code == 403
    assert client.post(f"/fleet/devices/{device.id}/edit", data=EDIT).status_code == 403
    assert client.post("/fleet/devices/bulk", data={"action": "tag", "tag": "x",
                                                    "device_ids": [str(device.id)]}).status_code == 403
    assert db.session.get(Device, device.id).tags == []


def test_every_device_route_is_404_for_another_organization(client, orgs):
    theirs, _ = new_device(orgs.b.org.id, "theirs")
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/fleet/devices/{theirs.id}"),
        ("GET", f"/fleet/devices/{theirs.id}/edit"),
        ("POST", f"/fleet/devices/{theirs.id}/edit"),
        ("GET", f"/fleet/devices/{theirs.id}/metrics.json"),
        *(("GET", f"/fleet/devices/{theirs.id}/tab/{tab}") for tab in
          ("overview", "metrics", "services", "containers", "scanner", "facts", "audit")),
        ("GET", f"/fleet/devices?org={orgs.b.org.id}"),  # the org filter is for super admins
    ], data=EDIT)
    db.session.expire_all()
    assert db.session.get(Device, theirs.id).device_name == "theirs"
    # A site of the other organization on my own device: 404, nothing saved.
    mine, _ = new_device(orgs.a.org.id, "mine")
    assert client.post(f"/fleet/devices/{mine.id}/edit",
                       data={**EDIT, "site_id": str(orgs.b.site.id)}).status_code in (404, 422)
    db.session.expire_all()
    assert db.session.get(Device, mine.id).device_name == "mine"


def test_super_admins_filter_the_inventory_by_organization(client, orgs):
    new_device(orgs.a.org.id, "box-of-a")
    new_device(orgs.b.org.id, "box-of-b")
    client.login(orgs.super_admin.email)
    page = client.get(f"/fleet/devices?org={orgs.b.org.id}").get_data(as_text=True)
    assert "box-of-b" in page and "box-of-a" not in page and 'id="f-org"' in page
    page = client.get(f"/fleet/devices?org={orgs.a.org.id}").get_data(as_text=True)
    assert "box-of-a" in page and "box-of-b" not in page
    assert client.get("/fleet/devices?org=999999").status_code == 404
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert 'id="f-org"' not in client.get("/fleet/devices").get_data(as_text=True)


def test_device_tabs_load_as_fragments_and_as_pages(client, orgs):
    agent = enrolled(client, orgs.a.org.id, serial="SN-T1", name="scan-tabs")
    client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    client.login(orgs.a.users["read_only"].email)
    base = f"/fleet/devices/{agent['device_id']}"
    for tab, marker in (("overview", 'id="last-heartbeat"'), ("metrics", "data-metrics-url"),
                        ("services", "gvmd"), ("containers", "ospd-openvas"), ("scanner", 'data-severity="critical"'),
                        ("facts", "device-facts"), ("audit", 'id="device-audit"')):
        page = client.get(f"{base}/tab/{tab}")
        assert page.status_code == 200 and marker in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
        fragment = client.get(f"{base}/tab/{tab}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert marker in fragment and "<html" not in fragment and 'id="device-tabs"' not in fragment
    assert client.get(f"{base}/tab/toaster").status_code == 404
    assert client.get(f"{base}/tab/metrics?range=1y").status_code == 400
    assert "<script>" not in client.get(f"{base}/tab/metrics").get_data(as_text=True)


def test_the_metric_series_regroups_rollups_by_range(client, orgs):
    device, _ = new_device(orgs.a.org.id, "charts")
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    # Two 5-minute buckets in one hour: 10 (1 sample) and 40 (2 samples) -> hourly weighted average 30.
    for offset, avg, peak, count in ((0, 10.0, 15.0, 1), (5, 40.0, 70.0, 2)):
        db.session.add(MetricRollup(device_id=device.id, bucket_start=hour + timedelta(minutes=offset), metric="cpu",
                                    avg_value=avg, max_value=peak, sample_count=count))
    db.session.add(MetricRollup(device_id=device.id, bucket_start=bucket_start(now - timedelta(days=8)),
                                metric="cpu", avg_value=99, max_value=99, sample_count=1))
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    week = client.get(f"/fleet/devices/{device.id}/metrics.json?range=7d").json
    assert week["bucket_seconds"] == 3600 and week["series"]["cpu"] == [
        {"t": hour.isoformat(), "wall_ms": int(hour.timestamp() * 1000), "avg": 30.0, "max": 70.0}]
    day = client.get(f"/fleet/devices/{device.id}/metrics.json?range=24h").json
    assert [p["avg"] for p in day["series"]["cpu"]] == [10.0, 40.0] and day["series"]["ram"] == []
    assert client.get(f"/fleet/devices/{device.id}/metrics.json?range=1h").json["series"]["cpu"] == []
    assert client.get(f"/fleet/devices/{device.id}/metrics.json?range=2w").status_code == 400


def test_the_metric_charts_use_the_users_profile_zone(client, orgs):
    device, _ = new_device(orgs.a.org.id, "zoned")
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    db.session.add(MetricRollup(device_id=device.id, bucket_start=hour, metric="cpu", avg_value=5, max_value=5,
                                sample_count=1))
    user = orgs.a.users["read_only"]
    user.timezone = "Asia/Kolkata"  # UTC+05:30 all year
    db.session.commit()
    client.login(user.email)
    point = client.get(f"/fleet/devices/{device.id}/metrics.json?range=24h").json["series"]["cpu"][0]
    assert point["t"] == hour.isoformat()
    assert point["wall_ms"] == int((hour + timedelta(hours=5, minutes=30)).timestamp() * 1000)


def test_scanner_cves_are_validated_stored_and_shown_worst_first(client, orgs):
    agent = enrolled(client, orgs.a.org.id, serial="SN-C1", name="scan-cve")
    top = [{"cve": "CVE-2024-1111", "severity": 7.5, "affected_hosts": 3, "title": "Medium-high thing"},
           {"cve": "CVE-2024-2222", "severity": 9.8, "affected_hosts": 12, "title": "Remote code execution"}]
    stats = {"tasks_total": 1, "scans_running": 0, "scans_queued": 0, "vulns_critical": 1, "top_vulns": top,
             "last_scan_at": (utcnow() - timedelta(hours=1)).isoformat()}
    bad = {**stats, "top_vulns": [{"cve": "not-a-cve", "severity": 11}]}
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(scanner_stats=bad))
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert "scanner_stats.top_vulns[0].cve" in fields and "scanner_stats.top_vulns[0].severity" in fields
    assert db.session.scalar(sa.select(sa.func.count(ScannerStats.id))) == 0
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]),
                       json=heartbeat(scanner_stats=stats)).status_code in (200, 202)
    row = db.session.scalar(sa.select(ScannerStats))
    assert row.last_scan_at is not None and row.top_vulns[1]["cve"] == "CVE-2024-2222"
    client.login(orgs.a.users["read_only"].email)
    html = client.get(f"/fleet/devices/{agent['device_id']}/tab/scanner").get_data(as_text=True)
    table = html.split('id="top-cves"')[1]
    assert table.index("CVE-2024-2222") < table.index("CVE-2024-1111") and "critical" in table


def test_the_inventory_page_shows_bulk_controls_to_writers(client, orgs):
    new_device(orgs.a.org.id, "writer-box")
    client.login(orgs.a.users["operator"].email)
    html = client.get("/fleet/devices").get_data(as_text=True)
    assert 'id="bulk-form"' in html and 'name="device_ids"' in html and csrf_from(html)
    assert db.session.scalar(sa.select(Site).where(Site.id == orgs.a.site.id)) is not None
