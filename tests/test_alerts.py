"""Fleet alerting end to end: rules evaluated on ingest and by the job, alerts opening,
notifying, resolving; maintenance windows; the alert pages and their permissions;
webhook delivery to a local server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.fleet import alert_rules
from app.models import (
    Alert,
    AlertRule,
    AlertRuleState,
    AuditLog,
    Device,
    MaintenanceWindow,
    Notification,
    NotificationDelivery,
    ScannerStats,
    db,
    utcnow,
)
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_fleet import bearer, enrolled, heartbeat
from tests.test_notifications import no_proxies, webhook_channel, webhook_server  # noqa: F401 - fixtures (no_proxies is autouse)


def rule_of(org_id: int, rule_type: str) -> AlertRule:
    return db.session.scalar(sa.select(AlertRule).where(AlertRule.org_id == org_id, AlertRule.rule_type == rule_type))


def tune(org_id: int, rule_type: str, **values) -> AlertRule:
    rule = rule_of(org_id, rule_type)
    for k, v in values.items():
        setattr(rule, k, v)
    db.session.commit()
    return rule


def send(client, agent, minutes_ago: float = 0, **overrides):
    ts = (utcnow() - timedelta(minutes=minutes_ago)).isoformat()
    overrides.setdefault("scanner_stats", {"vulns_critical": 0})  # the default heartbeat has 2: an alert
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]),
                           json=heartbeat(timestamp=ts, **overrides))
    assert response.status_code == 202, response.json
    return response


def alerts_of(org_id: int, alert_type: str | None = None) -> list[Alert]:
    db.session.expire_all()
    stmt = sa.select(Alert).where(Alert.org_id == org_id).order_by(Alert.id)
    if alert_type:
        stmt = stmt.where(Alert.alert_type == alert_type)
    return list(db.session.scalars(stmt))


def notes_of(org_id: int, event: str) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.org_id == org_id,
                                                                 Notification.event == event)))


@pytest.fixture()
def agent(client, orgs):
    return enrolled(client, orgs.a.org.id)


# ---------------------------------------------------------------- defaults and scope

def test_an_organizations_first_device_brings_the_default_rules_once(client, orgs, agent):
    rules = db.session.scalars(sa.select(AlertRule).where(AlertRule.org_id == orgs.a.org.id)).all()
    assert {r.rule_type for r in rules} == {"cpu_high", "ram_high", "disk_full", "service_down", "container_down",
                                           "scanner_vulns_critical", "device_offline", "scanner_feed_stale",
                                           "backup_failed", "backup_missing"}
    cpu = rule_of(orgs.a.org.id, "cpu_high")
    assert (cpu.threshold_value, cpu.recovery_value, cpu.threshold_duration_seconds) == (90, 80, 300)
    enrolled(client, orgs.a.org.id, serial="SECOND", name="second")
    assert db.session.scalar(sa.select(sa.func.count(AlertRule.id)).where(AlertRule.org_id == orgs.a.org.id)) == 10
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "alert_rule.defaults_created",
                                                       AuditLog.org_id == orgs.a.org.id))
    assert rule_of(orgs.b.org.id, "cpu_high") is None  # B has no device yet


def test_a_device_rule_overrides_its_organizations_rule_of_the_same_type(client, orgs, agent):
    device = db.session.get(Device, agent["device_id"])
    tune(orgs.a.org.id, "cpu_high", threshold_duration_seconds=0)
    db.session.add(AlertRule(org_id=orgs.a.org.id, device_id=device.id, rule_type="cpu_high", name="noisy box",
                             threshold_value=99, recovery_value=95, threshold_duration_seconds=0,
                             cooldown_seconds=0, severity="info"))
    db.session.add(AlertRule(org_id=None, rule_type="ram_high", name="global ram", threshold_value=10,
                             recovery_value=5, threshold_duration_seconds=0, severity="info"))
    db.session.commit()
    picked = alert_rules.rules_for(device, "value")
    assert [r.name for r in picked if r.rule_type == "cpu_high"] == ["noisy box"]
    assert [r.name for r in picked if r.rule_type == "ram_high"] == ["Memory high"]  # org beats global
    send(client, agent, cpu_percent=95)
    assert alerts_of(orgs.a.org.id, "cpu_high") == []  # 95 is under the device rule's 99


# ---------------------------------------------------------------- value rules on ingest

def test_cpu_high_respects_the_for_duration_and_resolves_below_recovery(client, orgs, agent):
    for minutes_ago in (10, 9, 8, 7, 6):  # four minutes over: not yet
        send(client, agent, minutes_ago, cpu_percent=96)
    assert alerts_of(orgs.a.org.id, "cpu_high") == []
    send(client, agent, 5, cpu_percent=97)  # five minutes: fires
    [alert] = alerts_of(orgs.a.org.id, "cpu_high")
    assert alert.status == "open" and alert.metric_value == 97 and alert.severity == "warning"
    assert len(notes_of(orgs.a.org.id, "cpu_high")) == 1
    for minutes_ago, cpu in ((4, 85), (3, 93), (2, 81)):  # under 90 but not under 80: still firing
        send(client, agent, minutes_ago, cpu_percent=cpu)
    assert alerts_of(orgs.a.org.id, "cpu_high")[0].status == "open"
    assert len(notes_of(orgs.a.org.id, "cpu_high")) == 1  # crossing 90 again does not notify again
    send(client, agent, 1, cpu_percent=40)
    [alert] = alerts_of(orgs.a.org.id, "cpu_high")
    assert alert.status == "resolved" and "recovery threshold 80" in alert.resolution_note
    assert [a.action for a in db.session.scalars(sa.select(AuditLog).where(
        AuditLog.resource_type == "alert", AuditLog.resource_id == str(alert.id)).order_by(AuditLog.id))] == [
        "alert.opened", "alert.resolved"]
    assert len(notes_of(orgs.a.org.id, "cpu_high.resolved")) == 1


def test_a_steady_heartbeat_with_rules_writes_no_alert_state(client, orgs, agent):
    send(client, agent)
    before = db.session.scalar(sa.select(sa.func.count(AlertRuleState.id)))
    audits = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))
    for _ in range(3):
        send(client, agent)
    assert db.session.scalar(sa.select(sa.func.count(AlertRuleState.id))) == before == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == audits


def test_ram_high(client, orgs, agent):
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0)
    send(client, agent, ram_percent=93)
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    assert alert.metric_name == "ram" and "Memory 93 %" in alert.message


def test_disk_full_watches_every_mount_separately(client, orgs, agent):
    disks = [{"mount": "/", "used_percent": 40.0}, {"mount": "/var", "used_percent": 96.0}]
    send(client, agent, filesystems=disks)
    [alert] = alerts_of(orgs.a.org.id, "disk_full")
    assert alert.target_key == f"device:{agent['device_id']}:mount:/var" and alert.severity == "critical"
    send(client, agent, filesystems=[{"mount": "/", "used_percent": 97.0}, {"mount": "/var", "used_percent": 80.0}])
    alerts = alerts_of(orgs.a.org.id, "disk_full")
    assert [(a.details["mount"], a.status) for a in alerts] == [("/var", "resolved"), ("/", "open")]


def test_service_down_after_its_for_duration(client, orgs, agent):
    failed = [{"name": "gvmd", "status": "failed"}, {"name": "ssh", "status": "active"}]
    send(client, agent, 3, services=failed)
    assert alerts_of(orgs.a.org.id, "service_down") == []  # 120 s have not passed
    send(client, agent, 1, services=failed)
    [alert] = alerts_of(orgs.a.org.id, "service_down")
    assert alert.details["service"] == "gvmd" and alert.severity == "critical"
    send(client, agent, 0, services=[{"name": "gvmd", "status": "active"}])
    assert alerts_of(orgs.a.org.id, "service_down")[0].status == "resolved"


def test_container_down_or_restarting(client, orgs, agent):
    tune(orgs.a.org.id, "container_down", threshold_duration_seconds=0)
    send(client, agent, containers=[{"name": "ospd", "status": "restarting", "restarts": 7},
                                    {"name": "redis", "status": "running"}])
    [alert] = alerts_of(orgs.a.org.id, "container_down")
    assert alert.details == {"container": "ospd", "status": "restarting", "restarts": 7,
                             "link": f"/fleet/devices/{agent['device_id']}"}


def test_scanner_vulns_critical(client, orgs, agent):
    send(client, agent, scanner_stats={"vulns_critical": 0})
    assert alerts_of(orgs.a.org.id, "scanner_vulns_critical") == []
    send(client, agent, scanner_stats={"vulns_critical": 4})
    [alert] = alerts_of(orgs.a.org.id, "scanner_vulns_critical")
    assert alert.metric_value == 4


# ---------------------------------------------------------------- absence rules (the job)

def test_device_offline_opens_from_the_job_and_resolves_on_the_next_heartbeat(app, client, orgs, agent):
    from app.jobs import enqueue
    from app.jobs.schedule import _has_work

    send(client, agent)
    assert _has_work("fleet.evaluate_alerts") is True  # a scanner whose feed could go stale
    db.session.execute(sa.update(Device).where(Device.id == agent["device_id"])
                       .values(last_seen_at=utcnow() - timedelta(minutes=4)))
    db.session.commit()
    enqueue("fleet.evaluate_alerts", org_id=None)
    db.session.commit()
    run_jobs(app)
    assert alerts_of(orgs.a.org.id, "device_offline") == []  # 4 minutes: under the 5-minute threshold
    db.session.execute(sa.update(Device).where(Device.id == agent["device_id"])
                       .values(last_seen_at=utcnow() - timedelta(minutes=12), status="offline"))
    db.session.commit()
    enqueue("fleet.evaluate_alerts", org_id=None)
    db.session.commit()
    run_jobs(app)
    [alert] = alerts_of(orgs.a.org.id, "device_offline")
    assert alert.status == "open" and alert.severity == "critical" and alert.metric_value >= 12
    assert len(notes_of(orgs.a.org.id, "device_offline")) == 1
    send(client, agent)  # it is back: resolved at once, not a minute later
    assert alerts_of(orgs.a.org.id, "device_offline")[0].status == "resolved"


def test_scanner_feed_stale(app, client, orgs, agent):
    old_feed = (utcnow() - timedelta(hours=60)).isoformat()
    send(client, agent, scanner_stats={"vulns_critical": 0, "feed_updated_at": old_feed})
    assert alert_rules.evaluate_absence() >= 1
    db.session.commit()
    [alert] = alerts_of(orgs.a.org.id, "scanner_feed_stale")
    assert 59 < alert.metric_value < 61
    fresh = utcnow().isoformat()
    db.session.add(ScannerStats(device_id=agent["device_id"], feed_updated_at=utcnow(),
                                collected_at=utcnow() + timedelta(seconds=1)))
    db.session.commit()
    alert_rules.evaluate_absence()
    db.session.commit()
    assert alerts_of(orgs.a.org.id, "scanner_feed_stale")[0].status == "resolved"
    assert fresh


def test_the_absence_job_has_nothing_to_do_without_rules(orgs, db_session):
    from app.jobs.schedule import _has_work

    db.session.execute(sa.delete(AlertRule))
    db.session.commit()
    assert _has_work("fleet.evaluate_alerts") is False


# ---------------------------------------------------------------- maintenance windows

def test_a_maintenance_window_keeps_an_alert_quiet_and_the_page_says_so(client, orgs, agent):
    device = db.session.get(Device, agent["device_id"])
    device.site_id = orgs.a.site.id
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0)
    window = MaintenanceWindow(org_id=orgs.a.org.id, site_id=orgs.a.site.id, name="Patch night",
                               recurrence="once", starts_at=utcnow() - timedelta(hours=1),
                               ends_at=utcnow() + timedelta(hours=1))
    db.session.add(window)
    db.session.commit()
    send(client, agent, ram_percent=95)
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    assert alert.status == "open" and alert.notify_count == 0
    assert alert.suppressed_reason == "maintenance window 'Patch night'"
    assert notes_of(orgs.a.org.id, "ram_high") == []
    client.login(orgs.a.users["read_only"].email)
    page = client.get("/fleet/alerts").get_data(as_text=True)
    assert "maintenance: Patch night" in page and 'id="maintenance-now"' in page
    assert "In maintenance window" in client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    section = client.get(f"/fleet/devices/{device.id}/alerts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in section and alert.message in section and "Patch night" in section
    # The window ends while the alert still fires: the held-back notification goes out.
    window.ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    send(client, agent, ram_percent=95)
    assert len(notes_of(orgs.a.org.id, "ram_high")) == 1
    assert alerts_of(orgs.a.org.id, "ram_high")[0].notify_count == 1


# ---------------------------------------------------------------- acting on alerts

def firing(client, orgs, agent) -> Alert:
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0, repeat_interval_seconds=60)
    send(client, agent, 3, ram_percent=95)
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    return alert


def test_acknowledging_stops_repeats(client, orgs, agent):
    alert = firing(client, orgs, agent)
    send(client, agent, 2, ram_percent=95)  # a minute later: the repeat
    assert alerts_of(orgs.a.org.id, "ram_high")[0].notify_count == 2
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/alerts/{alert.id}/ack").status_code == 303
    send(client, agent, 1, ram_percent=95)
    alert = alerts_of(orgs.a.org.id, "ram_high")[0]
    assert alert.status == "acknowledged" and alert.notify_count == 2
    assert alert.acknowledged_by_id == orgs.a.users["operator"].id
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "alert.acknowledged")).user_id == \
        orgs.a.users["operator"].id


def test_resolving_needs_a_note_and_a_condition_that_still_holds_fires_again(client, orgs, agent):
    alert = firing(client, orgs, agent)
    client.login(orgs.a.users["operator"].email)
    bad = client.post(f"/alerts/{alert.id}/resolve", data={"note": ""})
    assert bad.status_code == 422 and "Say what was done." in bad.get_data(as_text=True)
    assert alerts_of(orgs.a.org.id, "ram_high")[0].status == "open"
    ok = client.post(f"/alerts/{alert.id}/resolve", data={"note": "Restarted the scanner"})
    assert ok.status_code == 303
    alert = alerts_of(orgs.a.org.id, "ram_high")[0]
    assert alert.status == "resolved" and alert.resolution_note == "Restarted the scanner"
    assert alert.resolved_by_id == orgs.a.users["operator"].id
    assert "Restarted the scanner" in client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    send(client, agent, 0, ram_percent=95)  # not actually fixed
    alerts = alerts_of(orgs.a.org.id, "ram_high")
    assert [a.status for a in alerts] == ["resolved", "open"]


def test_muting_holds_notifications_until_the_time(client, orgs, agent):
    alert = firing(client, orgs, agent)
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/alerts/{alert.id}/mute", data={"hours": "4"}).status_code == 303
    alert = alerts_of(orgs.a.org.id, "ram_high")[0]
    assert alert.status == "muted" and timedelta(hours=3, minutes=59) < alert.muted_until - utcnow() <= timedelta(hours=4)
    send(client, agent, 1, ram_percent=95)  # the repeat is due but muted
    assert alerts_of(orgs.a.org.id, "ram_high")[0].notify_count == 1
    assert client.post(f"/alerts/{alert.id}/mute", data={"hours": "999"}).status_code == 422
    # The mute ends: the job puts it back to open, and repeats resume.
    db.session.execute(sa.update(Alert).where(Alert.id == alert.id).values(muted_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    from app.alerting.service import end_expired_mutes

    assert end_expired_mutes() == 1
    db.session.commit()
    send(client, agent, 0, ram_percent=95)
    alert = alerts_of(orgs.a.org.id, "ram_high")[0]
    assert alert.status == "open" and alert.notify_count == 2
    # Recovery still resolves a muted alert.
    client.post(f"/alerts/{alert.id}/mute", data={"hours": "1"})
    send(client, agent, 0, ram_percent=10)
    assert alerts_of(orgs.a.org.id, "ram_high")[0].status == "resolved"


def test_alert_list_filters_and_live_fragment(client, orgs, agent):
    alert = firing(client, orgs, agent)
    tune(orgs.a.org.id, "disk_full", severity="critical")
    send(client, agent, ram_percent=95, filesystems=[{"mount": "/data", "used_percent": 99.0}])
    client.login(orgs.a.users["read_only"].email)
    page = client.get("/fleet/alerts").get_data(as_text=True)
    assert alert.message in page and "/data" in page and "Devices online" in page
    critical = client.get("/fleet/alerts?severity=critical").get_data(as_text=True)
    assert "/data" in critical and alert.message not in critical
    fragment = client.get("/fleet/alerts?state=resolved", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "No alerts match." in fragment
    assert client.get("/fleet/alerts?state=sleeping").status_code == 400
    assert client.get(f"/fleet/alerts?device={agent['device_id']}").status_code == 200
    # Read-only users see but cannot act.
    assert "Acknowledge" not in page
    assert client.post(f"/alerts/{alert.id}/ack").status_code == 403
    assert client.post(f"/alerts/{alert.id}/resolve", data={"note": "x"}).status_code == 403
    assert alerts_of(orgs.a.org.id, "ram_high")[0].status == "open"


def test_other_organizations_alerts_are_unreachable(client, orgs, agent):
    alert = firing(client, orgs, agent)
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/fleet/alerts/{alert.id}"),
        ("POST", f"/fleet/alerts/{alert.id}/ack"),
        ("POST", f"/fleet/alerts/{alert.id}/resolve"),
        ("POST", f"/fleet/alerts/{alert.id}/mute"),
        ("GET", f"/fleet/devices/{agent['device_id']}/facts"),
        ("GET", f"/fleet/devices/{agent['device_id']}/alerts"),
    ], data={"note": "mine now", "hours": "1"})
    assert alert.message not in client.get("/fleet/alerts").get_data(as_text=True)
    assert alerts_of(orgs.a.org.id, "ram_high")[0].status == "open"


# ---------------------------------------------------------------- delivery

def test_webhook_delivery_carries_the_alert_to_a_local_server(app, client, orgs, agent, webhook_server):  # noqa: F811
    channel = webhook_channel(orgs.a.org.id, webhook_server.url, min_severity="warning")
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0)
    send(client, agent, ram_percent=95)
    run_jobs(app)
    [request] = webhook_server.requests
    body = json.loads(request["body"])
    attributes = body["data"]["attributes"]
    assert body["data"]["type"] == "incident"
    assert attributes["severity"] == "warning" and attributes["event"] == "ram_high"
    assert attributes["name"].startswith("Memory 95 %")
    assert attributes["url"].endswith(f"/fleet/devices/{agent['device_id']}")
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    details = attributes["details"]
    assert details["alert_id"] == alert.id and details["state"] == "firing" and details["metric_value"] == 95
    assert details["threshold"] == 90 and details["target"] == f"device:{agent['device_id']}"
    send(client, agent, ram_percent=20)
    run_jobs(app)
    resolved = json.loads(webhook_server.requests[1]["body"])["data"]["attributes"]
    assert resolved["event"] == "ram_high.resolved" and resolved["details"]["state"] == "resolved"
    assert resolved["details"]["resolved_at"] is not None
    statuses = db.session.scalars(sa.select(NotificationDelivery.status).where(
        NotificationDelivery.channel_id == channel.id)).all()
    assert statuses == ["sent", "sent"]


def test_seed_demo_and_the_alert_defaults_command_give_organizations_the_default_rules(app, orgs):
    from app.demo import seed_demo

    assert seed_demo() is True
    db.session.commit()
    demo_orgs = db.session.scalars(sa.select(MaintenanceWindow.org_id)).all()
    assert demo_orgs and all(rule_of(org_id, "device_offline") for org_id in demo_orgs)
    assert rule_of(orgs.a.org.id, "cpu_high") is None
    result = app.test_cli_runner().invoke(args=["fleet", "alert-defaults", "--org", orgs.a.org.slug])
    assert result.exit_code == 0 and "10 rule(s) added" in result.output, result.output
    assert rule_of(orgs.a.org.id, "cpu_high") is not None and rule_of(orgs.b.org.id, "cpu_high") is None
    again = app.test_cli_runner().invoke(args=["fleet", "alert-defaults", "--org", orgs.a.org.slug])
    assert "already has rules" in again.output
    assert app.test_cli_runner().invoke(args=["fleet", "alert-defaults", "--org", "nope"]).exit_code != 0


def test_an_alert_inside_the_cooldown_opens_quietly_and_says_why(client, orgs, agent):
    tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0, cooldown_seconds=3600)
    send(client, agent, 3, ram_percent=95)
    send(client, agent, 2, ram_percent=10)
    send(client, agent, 1, ram_percent=96)
    first, second = alerts_of(orgs.a.org.id, "ram_high")
    assert (first.status, first.notify_count) == ("resolved", 1)
    assert (second.status, second.notify_count) == ("open", 0)
    assert second.suppressed_reason == "cooldown (3600 s since the last notification)"
    assert len(notes_of(orgs.a.org.id, "ram_high")) == 1
