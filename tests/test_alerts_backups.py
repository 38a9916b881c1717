"""Backup alerts: a failed backup report opens backup_failed at once and the next completed
one resolves it; backup_missing opens from the scheduled job when a device's last scheduled
run (after its grace) has no completed snapshot, and never for a device with backups off."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.fleet import alert_rules, backups
from app.models import Alert, BackupSnapshot, Device, db, utcnow
from tests.test_alerts import alerts_of, notes_of
from tests.test_fleet import bearer, enrolled


def report(client, agent, **body):
    payload = {"snapshot_id": "s-1", "backup_type": "file", "backup_method": "restic", "storage_path": "/b",
               "status": "completed", "started_at": utcnow().isoformat(), **body}
    response = client.post("/api/agent/backups", json=payload, headers=bearer(agent["api_key"]), csrf=False)
    assert response.status_code == 201, response.json
    return response


def switch_on(device: Device, **values):
    backups.save_config(device, {**backups.default_values(), "enabled": True, "backup_mode": "file",
                                 "schedule_cron": "0 2 * * *", "timezone": "UTC", **values}, None)
    db.session.commit()


def test_a_failed_backup_opens_an_alert_and_the_next_success_resolves_it(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    report(client, agent, snapshot_id="ok-1")
    assert alerts_of(orgs.a.org.id, "backup_failed") == []
    report(client, agent, snapshot_id="bad-1", status="failed", error="repository locked")
    [alert] = alerts_of(orgs.a.org.id, "backup_failed")
    assert alert.status == "open" and alert.severity == "critical"
    assert "repository locked" in alert.message
    assert len(notes_of(orgs.a.org.id, "backup_failed")) == 1
    report(client, agent, snapshot_id="ok-2")
    assert alerts_of(orgs.a.org.id, "backup_failed")[0].status == "resolved"


def test_an_in_progress_report_decides_nothing(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    report(client, agent, snapshot_id="run-1", status="in_progress")
    assert alerts_of(orgs.a.org.id, "backup_failed") == []


def test_a_scheduled_backup_without_a_completed_snapshot_opens_backup_missing(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    other = enrolled(client, orgs.a.org.id, serial="OFF", name="backups-off")
    device = db.session.get(Device, agent["device_id"])
    switch_on(device)
    old = utcnow() - timedelta(days=3)
    db.session.execute(sa.update(Device).where(Device.id.in_([device.id, other["device_id"]]))
                       .values(enrolled_at=old))
    from app.models import BackupConfig

    db.session.execute(sa.update(BackupConfig).where(BackupConfig.device_id == device.id)
                       .values(schedule_changed_at=old))
    db.session.add(BackupSnapshot(device_id=device.id, org_id=device.org_id, snapshot_id="old", backup_type="file",
                                  storage_path="/b", status="completed", started_at=utcnow() - timedelta(hours=50)))
    db.session.commit()
    now = utcnow()
    # The same definition as the backups page: the daily 02:00 UTC run (after its 2-hour grace).
    [missing] = backups.devices_missing_backups(orgs.a.org.id, now)
    overdue = (now - missing["expected_at"]).total_seconds() / 3600
    assert alert_rules.has_absence_work() is True
    alert_rules.evaluate_absence(now=now)
    db.session.commit()
    [alert] = alerts_of(orgs.a.org.id, "backup_missing")  # the backups-off device is not watched
    assert alert.device_id == device.id and alert.metric_value == pytest.approx(overdue, abs=0.01)
    assert overdue >= 2  # the grace has passed
    report(client, agent, snapshot_id="fresh")
    alert_rules.evaluate_absence()
    db.session.commit()
    assert alerts_of(orgs.a.org.id, "backup_missing")[0].status == "resolved"


def test_switching_backups_on_does_not_alert_at_once(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    device.enrolled_at = utcnow() - timedelta(days=10)
    switch_on(device)  # schedule_changed_at is now: a backup is owed from now, not from enrolment
    alert_rules.evaluate_absence()
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Alert.id)).where(Alert.alert_type == "backup_missing")) == 0
