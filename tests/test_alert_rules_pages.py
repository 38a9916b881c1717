"""Alert rule and maintenance window pages: validation, permissions, audit, tenancy; and
when a maintenance window is open (one-off, weekly, cron, in its own time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.alerting.maintenance import is_open
from app.models import Alert, AlertRule, AuditLog, MaintenanceWindow, db, utcnow
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_alerts import alerts_of, send, tune
from tests.test_fleet import enrolled, new_device

RULE = {"name": "CPU hot", "rule_type": "cpu_high", "scope": "organization", "severity": "critical",
        "threshold_value": "95", "recovery_value": "85", "threshold_duration_seconds": "120",
        "cooldown_seconds": "600", "repeat_interval_seconds": "", "enabled": "y", "notify": "y"}


def test_admins_add_rules_with_validation(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get("/alerts/rules/new").status_code == 200
    wrong_side = client.post("/alerts/rules/new", data={**RULE, "recovery_value": "97"})
    assert wrong_side.status_code == 422
    assert "The recovery threshold must be at or below the threshold." in wrong_side.get_data(as_text=True)
    over = client.post("/alerts/rules/new", data={**RULE, "threshold_value": "140"})
    assert over.status_code == 422 and "A percentage from 0 to 100." in over.get_data(as_text=True)
    no_device = client.post("/alerts/rules/new", data={**RULE, "scope": "device"})
    assert no_device.status_code == 422 and "Choose the device" in no_device.get_data(as_text=True)
    missing = client.post("/alerts/rules/new", data={**RULE, "threshold_value": ""})
    assert missing.status_code == 422 and "Enter the threshold." in missing.get_data(as_text=True)
    # An admin of an organization cannot make a global rule.
    assert client.post("/alerts/rules/new", data={**RULE, "scope": "global"}).status_code == 422
    assert db.session.scalar(sa.select(AlertRule).where(AlertRule.name == "CPU hot")) is None
    assert client.post("/alerts/rules/new", data=RULE).status_code == 303
    rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.name == "CPU hot"))
    assert (rule.org_id, rule.device_id, rule.threshold_value, rule.recovery_value, rule.severity) == (
        orgs.a.org.id, None, 95, 85, "critical")
    assert rule.repeat_interval_seconds is None
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "alert_rule.created"))
    assert audit.resource_id == str(rule.id) and audit.user_id == orgs.a.users["admin"].id
    assert "CPU hot" in client.get("/alerts/rules").get_data(as_text=True)


def test_a_service_rule_for_one_device_with_names(client, orgs):
    device, _ = new_device(orgs.a.org.id)
    client.login(orgs.a.users["admin"].email)
    response = client.post("/alerts/rules/new", data={
        **RULE, "name": "gvmd down", "rule_type": "service_down", "scope": "device", "device_id": str(device.id),
        "threshold_value": "", "recovery_value": "", "names": "gvmd, ospd"})
    assert response.status_code == 303
    rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.name == "gvmd down"))
    assert rule.device_id == device.id and rule.params == {"names": ["gvmd", "ospd"]}
    assert (rule.threshold_value, rule.recovery_value) == (1, 1)


def test_disabling_a_rule_resolves_its_alerts(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    rule = tune(orgs.a.org.id, "ram_high", threshold_duration_seconds=0)
    send(client, agent, ram_percent=95)
    assert alerts_of(orgs.a.org.id, "ram_high")[0].status == "open"
    client.login(orgs.a.users["admin"].email)
    form = client.get(f"/alerts/rules/{rule.id}/edit").get_data(as_text=True)
    assert 'value="Memory high"' in form
    data = {**RULE, "name": "Memory high", "rule_type": "ram_high", "threshold_value": "90", "recovery_value": "85"}
    data.pop("enabled")
    assert client.post(f"/alerts/rules/{rule.id}/edit", data=data).status_code == 303
    [alert] = alerts_of(orgs.a.org.id, "ram_high")
    assert alert.status == "resolved" and alert.resolution_note == "The rule was disabled or changed."
    assert db.session.get(AlertRule, rule.id).enabled is False
    assert client.post(f"/alerts/rules/{rule.id}/delete").status_code == 303
    rule_id, alert_id = rule.id, alert.id
    db.session.expire_all()
    assert db.session.get(AlertRule, rule_id) is None and db.session.get(Alert, alert_id).rule_id is None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "alert_rule.deleted"))


def test_only_admins_manage_rules_and_global_rules_are_for_super_admins(client, orgs):
    global_rule = AlertRule(org_id=None, rule_type="cpu_high", name="Everyone CPU", threshold_value=99,
                            recovery_value=90, severity="info")
    db.session.add(global_rule)
    db.session.commit()
    client.login(orgs.a.users["operator"].email)
    assert "Everyone CPU" in client.get("/alerts/rules").get_data(as_text=True)
    assert client.get("/alerts/rules/new").status_code == 403
    assert client.post("/alerts/rules/new", data=RULE).status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/alerts/rules/{global_rule.id}/edit").status_code == 404
    assert client.post(f"/alerts/rules/{global_rule.id}/delete").status_code == 404
    client.post("/auth/logout")
    client.login(orgs.super_admin.email)
    assert client.get(f"/alerts/rules/{global_rule.id}/edit").status_code == 200
    assert client.post("/alerts/rules/new", data={**RULE, "name": "Global disk", "rule_type": "disk_full",
                                                       "scope": "global"}).status_code == 303
    assert db.session.scalar(sa.select(AlertRule).where(AlertRule.name == "Global disk")).org_id is None


def test_other_organizations_rules_and_windows_are_unreachable(client, orgs):
    device_b, _ = new_device(orgs.b.org.id, "theirs")  # and with it B's default rules
    theirs = db.session.scalar(sa.select(AlertRule).where(AlertRule.org_id == orgs.b.org.id))
    window = MaintenanceWindow(org_id=orgs.b.org.id, name="B night", recurrence="once",
                               starts_at=utcnow(), ends_at=utcnow() + timedelta(hours=1))
    db.session.add(window)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/alerts/rules/{theirs.id}/edit"),
        ("POST", f"/alerts/rules/{theirs.id}/edit"),
        ("POST", f"/alerts/rules/{theirs.id}/delete"),
        ("GET", f"/fleet/maintenance/{window.id}/edit"),
        ("POST", f"/fleet/maintenance/{window.id}/edit"),
        ("POST", f"/fleet/maintenance/{window.id}/delete"),
    ])
    assert "B night" not in client.get("/fleet/maintenance").get_data(as_text=True)
    # B's device cannot be picked for a rule of A.
    bad = client.post("/alerts/rules/new", data={**RULE, "scope": "device", "device_id": str(device_b.id)})
    assert bad.status_code == 422
    assert db.session.scalar(sa.select(AlertRule).where(AlertRule.device_id == device_b.id)) is None
    assert db.session.get(MaintenanceWindow, window.id) is not None


# ---------------------------------------------------------------- maintenance pages

WINDOW = {"name": "Patch Sunday", "scope": "organization", "recurrence": "weekly", "timezone": "Australia/Perth",
          "weekdays": ["6"], "start_time": "02:00", "duration_minutes": "120", "enabled": "y"}


def test_operators_schedule_windows_with_validation(client, orgs):
    client.login(orgs.a.users["operator"].email)
    assert client.post("/fleet/maintenance/new", data={**WINDOW, "weekdays": []}).status_code == 422
    bad_zone = client.post("/fleet/maintenance/new", data={**WINDOW, "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and "Not a known time zone" in bad_zone.get_data(as_text=True)
    assert client.post("/fleet/maintenance/new", data={**WINDOW, "start_time": "25:00"}).status_code == 422
    bad_cron = client.post("/fleet/maintenance/new", data={**WINDOW, "recurrence": "cron", "cron": "every sunday"})
    assert bad_cron.status_code == 422 and "five-field cron" in bad_cron.get_data(as_text=True)
    backwards = client.post("/fleet/maintenance/new", data={
        **WINDOW, "recurrence": "once", "starts_at": "2026-05-01T10:00", "ends_at": "2026-05-01T09:00"})
    assert backwards.status_code == 422 and "not after the start" in backwards.get_data(as_text=True)
    assert client.post("/fleet/maintenance/new", data={**WINDOW, "scope": "site"}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(MaintenanceWindow.id))) == 0
    assert client.post("/fleet/maintenance/new", data=WINDOW).status_code == 303
    window = db.session.scalar(sa.select(MaintenanceWindow))
    assert (window.weekdays, window.start_time, window.timezone) == ([6], "02:00", "Australia/Perth")
    assert "every Sun at 02:00 for 120 min" in client.get("/fleet/maintenance").get_data(as_text=True)
    once = client.post(f"/fleet/maintenance/{window.id}/edit", data={
        **WINDOW, "recurrence": "once", "scope": "site", "site_id": str(orgs.a.site.id),
        "starts_at": "2026-05-01T22:00", "ends_at": "2026-05-02T01:00"})
    assert once.status_code == 303
    db.session.refresh(window)
    # 22:00 in Perth (UTC+8) is 14:00 UTC.
    assert window.starts_at == datetime(2026, 5, 1, 14, 0, tzinfo=UTC) and window.site_id == orgs.a.site.id
    assert window.weekdays == [] and window.duration_minutes is None
    assert 'value="2026-05-01T22:00"' in client.get(f"/fleet/maintenance/{window.id}/edit").get_data(as_text=True)
    assert client.post(f"/fleet/maintenance/{window.id}/delete").status_code == 303
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.resource_type == "maintenance_window")
                                 .order_by(AuditLog.id)).all()
    assert actions == ["maintenance_window.created", "maintenance_window.updated", "maintenance_window.deleted"]
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/fleet/maintenance").status_code == 200
    assert client.post("/fleet/maintenance/new", data=WINDOW).status_code == 403


def window(**kw) -> MaintenanceWindow:
    return MaintenanceWindow(org_id=1, name="w", enabled=True, **kw)


def test_weekly_windows_follow_their_time_zone_and_may_cross_midnight():
    w = window(recurrence="weekly", weekdays=[6], start_time="23:00", duration_minutes=180,
               timezone="Australia/Perth")
    # Sunday 2026-03-01 23:00 in Perth is 15:00 UTC; the window runs to Monday 02:00 local.
    assert not is_open(w, datetime(2026, 3, 1, 14, 59, tzinfo=UTC))
    assert is_open(w, datetime(2026, 3, 1, 15, 0, tzinfo=UTC))
    assert is_open(w, datetime(2026, 3, 1, 17, 59, tzinfo=UTC))  # Monday 01:59 local
    assert not is_open(w, datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    assert not is_open(w, datetime(2026, 3, 2, 15, 30, tzinfo=UTC))  # Monday night: not a chosen day
    # Across a DST change the local start time stays put: 02:00 Europe/Berlin in winter and summer.
    berlin = window(recurrence="weekly", weekdays=[6], start_time="02:00", duration_minutes=60,
                    timezone="Europe/Berlin")
    assert is_open(berlin, datetime(2026, 1, 4, 1, 30, tzinfo=UTC))  # CET: 02:30 local
    assert is_open(berlin, datetime(2026, 7, 5, 0, 30, tzinfo=UTC))  # CEST: 02:30 local
    assert not is_open(berlin, datetime(2026, 7, 5, 1, 30, tzinfo=UTC))


def test_cron_and_one_off_windows():
    w = window(recurrence="cron", cron="30 1 * * 1-5", duration_minutes=30, timezone="UTC")
    assert is_open(w, datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # Monday 01:30 exactly
    assert is_open(w, datetime(2026, 3, 2, 1, 59, tzinfo=UTC))
    assert not is_open(w, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert not is_open(w, datetime(2026, 3, 1, 1, 45, tzinfo=UTC))  # Sunday
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    once = window(recurrence="once", starts_at=start, ends_at=start + timedelta(hours=1))
    assert is_open(once, start) and not is_open(once, start + timedelta(hours=1))
    once.enabled = False
    assert not is_open(once, start)
