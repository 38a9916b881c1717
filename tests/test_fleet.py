"""Fleet: claim codes, enrolment, overlay IPs, heartbeats, rollups, pages and tenancy."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.fleet import services
from app.fleet.ingest import bucket_start
from app.models import (
    ApiKey,
    AuditLog,
    Device,
    DeviceClaimCode,
    DockerContainer,
    Heartbeat,
    MetricRollup,
    ScannerStats,
    ServiceStatus,
    Setting,
    Subscription,
    db,
    utcnow,
)
from tests import factories
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach

WG_KEY = base64.b64encode(b"k" * 32).decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_device(org_id: int, name: str = "scanner-1", device_type: str = "scanner") -> tuple[Device, str]:
    device, code = services.create_device(org_id, name=name, device_type=device_type, actor_label="test")
    db.session.commit()
    return device, code


def enrol_payload(code: str, serial: str = "SN-1", macs: list[str] | None = None, **overrides) -> dict:
    return {"claim_code": code, "hostname": "scn-a1", "wireguard_public_key": WG_KEY,
            "facts": {"cpu_model": "Intel Xeon E-2288G", "cores": 8, "ram_mb": 32768, "disk_gb": 512,
                      "os": "debian 12", "kernel": "6.1.0", "mac_addresses": macs or ["AA:BB:CC:00:00:01"],
                      "serial": serial}, **overrides}


def enrolled(client, org_id: int, serial: str = "SN-1", name: str = "scanner-1") -> dict:
    _, code = new_device(org_id, name)
    response = client.post("/api/agent/enrol", json=enrol_payload(code, serial=serial,
                                                                  macs=[f"aa:bb:cc:00:00:{abs(hash(serial)) % 99:02d}"]))
    assert response.status_code == 201, response.json
    return response.json


def heartbeat(**overrides) -> dict:
    return {"cpu_percent": 12.5, "ram_percent": 40.0, "uptime_seconds": 3600, "load_1m": 0.5,
            "filesystems": [{"mount": "/", "used_percent": 61.0, "size_gb": 100, "used_gb": 61}],
            "network": {"rx_bytes_per_sec": 1000, "tx_bytes_per_sec": 500},
            "services": [{"name": "gvmd", "status": "active", "enabled": True}],
            "containers": [{"name": "ospd-openvas", "id": "abc123", "image": "greenbone/ospd:22.4",
                            "status": "running", "restarts": 1, "cpu_percent": 8.3, "mem_mb": 1200}],
            "scanner_stats": {"tasks_total": 24, "scans_running": 3, "scans_queued": 1, "vulns_critical": 2},
            **overrides}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


# Claim codes and enrolment --------------------------------------------------------------------

def test_claim_code_is_stored_hashed_and_works_once(client, orgs):
    device, code = new_device(orgs.a.org.id)
    row = db.session.scalar(sa.select(DeviceClaimCode).where(DeviceClaimCode.device_id == device.id))
    assert row.code_hash != code and len(row.code_hash) == 64
    assert timedelta(hours=23, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=24)
    first = client.post("/api/agent/enrol", json=enrol_payload(code))
    assert first.status_code == 201
    body = first.json
    assert body["device_id"] == device.id and body["heartbeat_interval"] == 60
    assert body["api_key"].startswith("vgl_")
    assert body["overlay_ip"] == "100.64.4.0"  # a customer organization: host 1024 upward
    assert "Address = 100.64.4.0/32" in body["wireguard_config"] and "[Peer]" in body["wireguard_config"]
    again = client.post("/api/agent/enrol", json=enrol_payload(code, serial="SN-2"))
    assert again.status_code == 401 and again.json["error"]["code"] == "claim_code_used"
    db.session.expire_all()
    device = db.session.get(Device, device.id)
    assert device.status == "active" and device.enrolled_at is not None and device.hostname == "scn-a1"
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.device_id == device.id))
    assert key.key_hash != body["api_key"] and key.user_id is None
    assert sorted(key.scopes) == ["backups", "commands", "facts", "heartbeat"]
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.enrolled"))
    assert audit.actor_type == "agent" and audit.resource_id == str(device.id) and audit.org_id == orgs.a.org.id


def test_an_expired_claim_code_is_refused(client, orgs):
    device, code = new_device(orgs.a.org.id)
    db.session.execute(sa.update(DeviceClaimCode).where(DeviceClaimCode.device_id == device.id)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.post("/api/agent/enrol", json=enrol_payload(code))
    assert response.status_code == 401 and response.json["error"]["code"] == "claim_code_expired"
    assert client.post("/api/agent/enrol", json=enrol_payload("NOPE-NOPE")).json["error"]["code"] == "invalid_claim_code"
    assert db.session.get(Device, device.id).enrolled_at is None


def test_a_bad_enrol_payload_is_422_with_field_errors_and_changes_nothing(client, orgs):
    device, code = new_device(orgs.a.org.id)
    keys_before = count(ApiKey)
    payload = enrol_payload(code, wireguard_public_key="not-a-key")
    payload["facts"]["cores"] = "eight"
    payload["facts"]["mac_addresses"] = []
    response = client.post("/api/agent/enrol", json=payload)
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"wireguard_public_key", "facts.cores", "facts.mac_addresses"}
    assert count(ApiKey) == keys_before
    assert db.session.scalar(sa.select(DeviceClaimCode.used_at).where(DeviceClaimCode.device_id == device.id)) is None


def test_the_same_hardware_cannot_enrol_twice(client, orgs):
    _, first_code = new_device(orgs.a.org.id, "one")
    _, second_code = new_device(orgs.b.org.id, "two")
    assert client.post("/api/agent/enrol", json=enrol_payload(first_code)).status_code == 201
    # Same serial, same MACs in another order and case, same CPU: the same machine.
    dup = client.post("/api/agent/enrol", json=enrol_payload(second_code, macs=["aa:bb:cc:00:00:01"]))
    assert dup.status_code == 409 and dup.json["error"]["code"] == "duplicate_fingerprint"
    assert db.session.scalar(sa.select(DeviceClaimCode.used_at).join(Device).where(Device.device_name == "two")) is None


def overlay_layout(network: str, internal: tuple[int, int], customer: tuple[int, int]) -> None:
    """Store the fleet.overlay_* settings (as an admin would on the Settings page)."""
    values = {"fleet.overlay_network": network, "fleet.overlay_internal_first": internal[0],
              "fleet.overlay_internal_last": internal[1], "fleet.overlay_customer_first": customer[0],
              "fleet.overlay_customer_last": customer[1]}
    for key, value in values.items():
        db.session.add(Setting(key=key, value=value))
    db.session.commit()


def test_overlay_ranges_by_organization_type_and_a_full_pool(client, orgs):
    overlay_layout("10.10.0.0/24", (10, 19), (20, 99))  # the seed's original small layout
    internal = factories.org(type="internal")
    db.session.commit()
    got = [enrolled(client, internal.id, serial=f"INT-{i}", name=f"int-{i}")["overlay_ip"] for i in range(10)]
    assert got == [f"10.10.0.{n}" for n in range(10, 20)]
    _, code = new_device(internal.id, "int-11")
    full = client.post("/api/agent/enrol", json=enrol_payload(code, serial="INT-11", macs=["aa:bb:cc:dd:ee:ff"]))
    assert full.status_code == 409 and full.json["error"]["code"] == "overlay_pool_full"
    assert "10.10.0.10-10.10.0.19" in full.json["error"]["message"]
    # Customers are allocated from .20 upward, never from the internal range.
    assert enrolled(client, orgs.a.org.id, serial="CUST-1")["overlay_ip"] == "10.10.0.20"


def test_the_default_overlay_fits_thousands_and_the_demo_subscription_enrols_past_ten(client, orgs):
    internal = factories.org(type="internal")
    db.session.add(Subscription(org_id=internal.id, plan_name="MSP internal", start_date=date.today(), max_devices=25))
    db.session.commit()
    got = [enrolled(client, internal.id, serial=f"INT-{i}", name=f"int-{i}")["overlay_ip"] for i in range(12)]
    assert got == [f"100.64.0.{n}" for n in range(10, 22)]
    assert enrolled(client, orgs.a.org.id, serial="CUST-1")["overlay_ip"] == "100.64.4.0"
    first, last = services.overlay_range("customer")
    assert last - first + 1 == 64511 and services.overlay_range("internal") == (first - 1014, first - 1)
    assert "AllowedIPs = 100.64.0.0/16" in services.wireguard_config(Device(overlay_ip=got[0]))


def test_the_next_free_address_reuses_a_given_back_one_only_when_the_top_is_full(client, orgs):
    overlay_layout("10.10.0.0/24", (10, 19), (20, 23))
    devices = [enrolled(client, orgs.a.org.id, serial=f"C-{i}", name=f"c-{i}") for i in range(3)]
    assert [d["overlay_ip"] for d in devices] == ["10.10.0.20", "10.10.0.21", "10.10.0.22"]
    services.delete_device(db.session.get(Device, devices[1]["device_id"]), orgs.a.users["admin"])
    db.session.commit()
    assert services.overlay_candidates("customer") == ["10.10.0.23"]  # one past the highest first
    enrolled(client, orgs.a.org.id, serial="C-3", name="c-3")
    assert services.overlay_candidates("customer") == ["10.10.0.21"]  # then the address given back
    enrolled(client, orgs.a.org.id, serial="C-4", name="c-4")
    assert services.overlay_candidates("customer") == []


def test_an_organization_without_a_subscription_has_the_default_quota(client, orgs):
    db.session.add(Setting(key="fleet.unsubscribed_device_quota", value=2))
    db.session.commit()
    new_device(orgs.a.org.id, "one")
    new_device(orgs.a.org.id, "two")
    with pytest.raises(services.FleetError, match="Without an active subscription, Vigil allows 2 device"):
        services.create_device(orgs.a.org.id, name="three", device_type="server")
    new_device(orgs.b.org.id, "theirs")  # another tenant's quota is its own


def test_overlay_settings_are_checked_together(client, orgs):
    client.login(orgs.super_admin.email)
    bad = client.post("/admin/settings/fleet.overlay_customer_last", data={"value": "70000"})
    assert bad.status_code == 422 and "host numbers 1 to 65534" in bad.get_data(as_text=True)
    overlap = client.post("/admin/settings/fleet.overlay_customer_first", data={"value": "1000"})
    assert overlap.status_code == 422 and "overlap" in overlap.get_data(as_text=True)
    public = client.post("/admin/settings/fleet.overlay_network", data={"value": "8.8.0.0/16"})
    assert public.status_code == 422
    assert client.post("/admin/settings/fleet.overlay_network", data={"value": "100.64.0.0/12"}).status_code == 303
    assert str(services.overlay_network()) == "100.64.0.0/12"


def test_overlay_allocation_retries_past_an_address_taken_meanwhile(client, orgs, monkeypatch):
    taken, _ = new_device(orgs.b.org.id, "holder")
    taken.overlay_ip = "100.64.4.0"
    db.session.commit()
    # A stale view of the pool (as a concurrent enrolment would have): .4.0 looks free.
    real = services.overlay_candidates
    calls = []

    def stale(org_type):
        calls.append(org_type)
        return ["100.64.4.0", *real(org_type)] if len(calls) == 1 else real(org_type)

    monkeypatch.setattr(services, "overlay_candidates", stale)
    assert enrolled(client, orgs.a.org.id)["overlay_ip"] == "100.64.4.1"
    assert len(calls) == 2


def test_the_subscription_device_limit_is_enforced(client, orgs):
    db.session.add(Subscription(org_id=orgs.a.org.id, plan_name="Basic", start_date=date.today(), max_devices=1))
    db.session.commit()
    new_device(orgs.a.org.id, "first")
    with pytest.raises(services.FleetError, match="allows 1 device"):
        services.create_device(orgs.a.org.id, name="second", device_type="server")
    client.login(orgs.a.users["operator"].email)
    page = client.post("/fleet/devices/new", data={"name": "second", "device_type": "server",
                                                   "environment": "production"})
    assert page.status_code == 422 and "allows 1 device" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Device.id)).where(Device.org_id == orgs.a.org.id)) == 1


def test_enrolment_is_refused_past_a_quota_lowered_after_the_device_was_created(client, orgs):
    sub = Subscription(org_id=orgs.a.org.id, plan_name="Basic", start_date=date.today(), max_devices=2)
    db.session.add(sub)
    db.session.commit()
    enrolled(client, orgs.a.org.id, serial="SN-1", name="first")
    _, code = new_device(orgs.a.org.id, "second")
    sub.max_devices = 1  # lowered after "second" was created
    db.session.commit()
    response = client.post("/api/agent/enrol", json=enrol_payload(code, serial="SN-2", macs=["aa:bb:cc:00:00:02"]))
    assert response.status_code == 409 and response.json["error"]["code"] == "device_limit_reached"
    assert "allows 1 device(s)" in response.json["error"]["message"]
    assert "already has 1 enrolled" in response.json["error"]["message"]
    second = db.session.scalar(sa.select(Device).where(Device.device_name == "second"))
    db.session.refresh(second)
    assert second.enrolled_at is None and second.overlay_ip is None  # nothing half-saved
    sub.max_devices = 2  # raised again: the same claim code works
    db.session.commit()
    again = client.post("/api/agent/enrol", json=enrol_payload(code, serial="SN-2", macs=["aa:bb:cc:00:00:02"]))
    assert again.status_code == 201, again.json


# Heartbeats ---------------------------------------------------------------------------------

def test_heartbeat_is_stored_and_updates_everything(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    assert response.status_code == 202
    device = db.session.get(Device, agent["device_id"])
    db.session.refresh(device)
    assert device.last_seen_at is not None and services.is_online(device)
    # An agent clock an hour behind still counts as online: liveness is the server's receive time.
    late = heartbeat(timestamp=(utcnow() - timedelta(hours=1)).isoformat())
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=late).status_code == 202
    db.session.refresh(device)
    assert utcnow() - device.last_seen_at < timedelta(minutes=1)
    hb = db.session.scalar(sa.select(Heartbeat).where(Heartbeat.device_id == device.id))
    assert hb.cpu_usage_percent == 12.5 and hb.disk_root_percent == 61.0 and hb.network_rx_bytes_per_sec == 1000
    svc = db.session.scalar(sa.select(ServiceStatus).where(ServiceStatus.device_id == device.id))
    assert (svc.service_name, svc.status) == ("gvmd", "active")
    ct = db.session.scalar(sa.select(DockerContainer).where(DockerContainer.device_id == device.id))
    assert (ct.image_name, ct.image_tag, ct.restart_count) == ("greenbone/ospd", "22.4", 1)
    stats = db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == device.id))
    assert (stats.scans_running, stats.vulns_critical) == (3, 2)
    # its services appeared: a change of state, audited once as the agent
    [audit] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "device.state_changed")).all()
    assert audit.actor_type == "agent" and audit.org_id == orgs.a.org.id
    assert audit.details["service_changes"][0]["service"] == "gvmd"


def test_service_status_changed_at_moves_only_on_change(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    now = utcnow()
    send = lambda ts, status: client.post(  # noqa: E731
        "/api/agent/heartbeat", headers=bearer(agent["api_key"]),
        json=heartbeat(timestamp=ts.isoformat(), services=[{"name": "gvmd", "status": status}]))
    assert send(now - timedelta(minutes=3), "active").status_code == 202
    first = db.session.scalar(sa.select(ServiceStatus.status_changed_at))
    assert send(now - timedelta(minutes=2), "active").status_code == 202
    assert db.session.scalar(sa.select(ServiceStatus.status_changed_at)) == first
    assert send(now - timedelta(minutes=1), "failed").status_code == 202
    row = db.session.scalar(sa.select(ServiceStatus))
    db.session.refresh(row)
    assert row.status == "failed" and row.status_changed_at > first


def test_a_heartbeat_naming_another_device_is_refused(client, orgs):
    mine = enrolled(client, orgs.a.org.id, serial="A")
    theirs = enrolled(client, orgs.b.org.id, serial="B", name="b-1")
    response = client.post("/api/agent/heartbeat", headers=bearer(mine["api_key"]),
                           json=heartbeat(device_id=theirs["device_id"]))
    assert response.status_code == 403 and response.json["error"]["code"] == "wrong_device"
    assert count(Heartbeat) == 0
    # Without a key, or with a user's key, no heartbeat either.
    assert client.post("/api/agent/heartbeat", json=heartbeat()).status_code == 401
    from app.api.tokens import create_api_key

    user_key, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "x", ["events:read"], None)
    db.session.commit()
    assert client.post("/api/agent/heartbeat", headers=bearer(user_key), json=heartbeat()).status_code == 403
    assert count(Heartbeat) == 0


def test_a_bad_heartbeat_is_422_with_field_errors_and_stores_nothing(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    audits = count(AuditLog)
    bad = heartbeat(cpu_percent=140, ram_percent="lots", services=[{"name": "gvmd", "status": "sleeping"}],
                    filesystems=[{"mount": "/"}], timestamp="yesterday")
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=bad)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {
        "cpu_percent", "ram_percent", "services[0].status", "filesystems[0].used_percent", "timestamp"}
    for model in (Heartbeat, ServiceStatus, DockerContainer, ScannerStats, MetricRollup):
        assert count(model) == 0, model
    assert count(AuditLog) == audits
    assert db.session.get(Device, agent["device_id"]).last_seen_at is None
    far = heartbeat(timestamp=(utcnow() + timedelta(hours=1)).isoformat())
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=far).status_code == 422


def test_rollups_keep_running_average_max_and_count_per_bucket(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    start = bucket_start(utcnow() - timedelta(minutes=10))
    for offset, cpu in ((10, 10.0), (70, 30.0), (130, 80.0), (190, 40.0)):
        ts = start + timedelta(seconds=offset)
        r = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]),
                        json=heartbeat(timestamp=ts.isoformat(), cpu_percent=cpu))
        assert r.status_code == 202, r.json
    nxt = start + timedelta(seconds=310)
    client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]),
                json=heartbeat(timestamp=nxt.isoformat(), cpu_percent=99.0))
    rows = db.session.scalars(sa.select(MetricRollup).where(MetricRollup.metric == "cpu")
                              .order_by(MetricRollup.bucket_start)).all()
    assert len(rows) == 2
    assert rows[0].bucket_start == start and rows[0].sample_count == 4
    assert rows[0].avg_value == pytest.approx(40.0) and rows[0].max_value == 80.0
    assert (rows[1].sample_count, rows[1].avg_value, rows[1].max_value) == (1, 99.0, 99.0)
    # One row per device, bucket and metric.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MetricRollup).where(
        MetricRollup.bucket_start == start)) == 6


def test_online_means_a_heartbeat_in_the_last_three_minutes(orgs, db_session):
    device, _ = new_device(orgs.a.org.id)
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert not services.is_online(device, now)
    device.last_seen_at = now - timedelta(minutes=2, seconds=59)
    assert services.is_online(device, now)
    device.last_seen_at = now - timedelta(minutes=3, seconds=1)
    assert not services.is_online(device, now)


def test_a_removed_devices_key_stops_working(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/fleet/devices/{agent['device_id']}/delete").status_code == 303
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    assert response.status_code == 401
    device = db.session.get(Device, agent["device_id"])
    assert device.deleted_at is not None and device.overlay_ip is None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.deleted"))


# Pages --------------------------------------------------------------------------------------

def test_creating_a_device_shows_the_claim_code_once(client, orgs):
    client.login(orgs.a.users["operator"].email)
    page = client.post("/fleet/devices/new", data={"name": "edge-1", "device_type": "server",
                                                   "environment": "production", "tags": "Perth, dmz",
                                                   "site_id": str(orgs.a.site.id)})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    code = re.search(r'id="claim-code">([^<]+)<', html).group(1)
    assert f"--claim-code {code}" in html
    device = db.session.scalar(sa.select(Device).where(Device.device_name == "edge-1"))
    assert device.org_id == orgs.a.org.id and device.tags == ["dmz", "perth"] and device.site_id == orgs.a.site.id
    assert code not in client.get(f"/fleet/devices/{device.id}").get_data(as_text=True)
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.created"))
    assert audit.user_id == orgs.a.users["operator"].id and audit.resource_id == str(device.id)
    # The code from the page enrols the device.
    assert client.post("/api/agent/enrol", json=enrol_payload(code)).status_code == 201
    invalid = client.post("/fleet/devices/new", data={"name": "", "device_type": "toaster"})
    assert invalid.status_code == 422


def test_inventory_filters_and_online_badge(client, orgs):
    agent = enrolled(client, orgs.a.org.id, name="scan-perth")
    client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    server, _ = services.create_device(orgs.a.org.id, name="srv-sydney", device_type="server",
                                       site_id=orgs.a.site.id, tags=["dmz"])
    services.create_device(orgs.b.org.id, name="other-org-box", device_type="server", tags=["dmz"])
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    all_rows = client.get("/fleet/devices").get_data(as_text=True)
    assert "scan-perth" in all_rows and "srv-sydney" in all_rows and "other-org-box" not in all_rows
    assert "online" in all_rows
    servers = client.get("/fleet/devices?type=server").get_data(as_text=True)
    assert "srv-sydney" in servers and "scan-perth" not in servers
    tagged = client.get("/fleet/devices?tag=dmz").get_data(as_text=True)
    assert "srv-sydney" in tagged and "scan-perth" not in tagged and "other-org-box" not in tagged
    online = client.get("/fleet/devices?status=online").get_data(as_text=True)
    assert "scan-perth" in online and "srv-sydney" not in online
    by_site = client.get(f"/fleet/devices?site={orgs.a.site.id}").get_data(as_text=True)
    assert "srv-sydney" in by_site and "scan-perth" not in by_site
    fragment = client.get("/fleet/devices?type=server", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "srv-sydney" in fragment and "<html" not in fragment
    assert client.get("/fleet/devices?type=toaster").status_code == 400
    detail = client.get(f"/fleet/devices/{agent['device_id']}").get_data(as_text=True)
    assert 'id="last-heartbeat"' in detail and "online" in detail
    services_tab = client.get(f"/fleet/devices/{agent['device_id']}/tab/services").get_data(as_text=True)
    containers_tab = client.get(f"/fleet/devices/{agent['device_id']}/tab/containers").get_data(as_text=True)
    assert "gvmd" in services_tab and "ospd-openvas" in containers_tab
    assert server.id


def test_read_only_users_cannot_change_the_fleet(client, orgs):
    device, _ = new_device(orgs.a.org.id)
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/fleet/devices").status_code == 200
    assert client.get("/fleet/devices/new").status_code == 403
    assert client.post("/fleet/devices/new", data={"name": "x", "device_type": "server"}).status_code == 403
    assert client.post(f"/fleet/devices/{device.id}/delete").status_code == 403
    assert client.post(f"/fleet/devices/{device.id}/claim-code").status_code == 403
    assert client.get("/fleet/subscriptions/new").status_code == 403
    assert db.session.get(Device, device.id).deleted_at is None


def test_other_organizations_devices_are_unreachable(client, orgs):
    theirs, _ = new_device(orgs.b.org.id, "theirs")
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/fleet/devices/{theirs.id}"),
        ("POST", f"/fleet/devices/{theirs.id}/delete"),
        ("POST", f"/fleet/devices/{theirs.id}/claim-code"),
    ])
    assert db.session.get(Device, theirs.id).deleted_at is None
    # A site of another organization cannot be given to a new device either.
    page = client.post("/fleet/devices/new", data={"name": "x", "device_type": "server",
                                                   "site_id": str(orgs.b.site.id)})
    assert page.status_code == 422
    assert db.session.scalar(sa.select(Device).where(Device.device_name == "x")) is None


def test_reissuing_a_claim_code_ends_the_old_one(client, orgs):
    device, old = new_device(orgs.a.org.id)
    client.login(orgs.a.users["operator"].email)
    page = client.post(f"/fleet/devices/{device.id}/claim-code")
    assert page.status_code == 200
    new = re.search(r'id="claim-code">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert client.post("/api/agent/enrol", json=enrol_payload(old)).json["error"]["code"] == "claim_code_expired"
    assert client.post("/api/agent/enrol", json=enrol_payload(new)).status_code == 201
    assert client.post(f"/fleet/devices/{device.id}/claim-code").status_code == 409


def test_subscriptions_are_listed_per_org_and_created_by_admins(client, orgs):
    db.session.add(Subscription(org_id=orgs.b.org.id, plan_name="Their plan", start_date=date.today()))
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    response = client.post("/fleet/subscriptions/new", data={
        "plan_name": "Pro", "billing_cycle": "yearly", "price_cents": "120000", "currency": "AUD",
        "status": "active", "start_date": "2026-01-01", "max_devices": "5"})
    assert response.status_code == 303
    page = client.get("/fleet/subscriptions").get_data(as_text=True)
    assert "Pro" in page and "1200.00 AUD" in page and "Their plan" not in page
    sub = db.session.scalar(sa.select(Subscription).where(Subscription.plan_name == "Pro"))
    assert sub.org_id == orgs.a.org.id and sub.max_devices == 5
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "subscription.created"))
    bad = client.post("/fleet/subscriptions/new", data={"plan_name": "X", "currency": "aud", "start_date": "2026-02-01",
                                                          "end_date": "2026-01-01", "billing_cycle": "monthly",
                                                          "status": "active"})
    assert bad.status_code == 422
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)
    assert client.post("/fleet/subscriptions/new", data={"plan_name": "Y"}).status_code == 403
    assert db.session.scalar(sa.select(Subscription).where(Subscription.plan_name == "Y")) is None


def test_claim_code_command(app, orgs):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["fleet", "claim-code", "--org", orgs.a.org.slug, "--name", "cli-box",
                                 "--type", "server"])
    assert result.exit_code == 0, result.output
    code = re.search(r"claim code: (\S+)", result.output).group(1)
    device = db.session.scalar(sa.select(Device).where(Device.device_name == "cli-box"))
    assert device.org_id == orgs.a.org.id and device.device_type == "server"
    assert services.find_claim_code(code).device_id == device.id
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.created",
                                                       AuditLog.resource_id == str(device.id)))
    bad = runner.invoke(args=["fleet", "claim-code", "--org", "nope", "--name", "x", "--type", "server"])
    assert bad.exit_code != 0


def test_the_offline_job_marks_silent_devices_and_notifies_once(app, client, orgs):
    from app.jobs import enqueue
    from app.jobs.schedule import _has_work
    from app.models import JobRun, Notification

    agent = enrolled(client, orgs.a.org.id)
    fresh = enrolled(client, orgs.a.org.id, serial="FRESH", name="fresh")
    for a in (agent, fresh):
        assert client.post("/api/agent/heartbeat", headers=bearer(a["api_key"]), json=heartbeat()).status_code == 202
    assert _has_work("fleet.mark_offline") is False  # both just reported
    db.session.execute(sa.update(Device).where(Device.id == agent["device_id"])
                       .values(last_seen_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert _has_work("fleet.mark_offline") is True
    run = enqueue("fleet.mark_offline", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.refresh(run)
    assert run.status == "succeeded" and run.result["offline"] == 1
    db.session.expire_all()
    assert db.session.get(Device, agent["device_id"]).status == "offline"
    assert db.session.get(Device, fresh["device_id"]).status == "active"
    notes = db.session.scalars(sa.select(Notification).where(Notification.event == "device_offline")).all()
    assert notes and {n.org_id for n in notes} == {orgs.a.org.id} and all(n.severity == "critical" for n in notes)
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "device.offline")).resource_id == str(
        agent["device_id"])
    # Still silent: nothing new to do, so no second notification.
    assert _has_work("fleet.mark_offline") is False
    # A heartbeat brings it back.
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    db.session.expire_all()
    assert db.session.get(Device, agent["device_id"]).status == "active"
    assert db.session.get(JobRun, run.id).result["offline"] == 1


def test_a_steady_heartbeat_is_telemetry_not_an_audit_row(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    audits = count(AuditLog)
    for _ in range(3):  # nothing changes: the heartbeat rows are the record
        assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    assert count(AuditLog) == audits and count(Heartbeat) == 4
