"""Fleet backups: configuration validation, schedules in the device's time zone, the
schedule job, agent reports, GFS retention (worked examples, dry run == applied), restore
tests, the alerting hooks, pages and tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.fleet import backups
from app.models import AuditLog, BackupConfig, BackupSnapshot, Command, Device, db, utcnow
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_fleet import bearer, enrolled

FORM = {"enabled": "y", "backup_mode": "file", "schedule_cron": "0 2 * * *", "timezone": "Australia/Perth",
        "retention_count": "7", "keep_daily": "7", "keep_weekly": "4", "keep_monthly": "6", "full_disk_method": "",
        "storage_target": "default"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def snapshot(device: Device, started: datetime, status: str = "completed", sid: str | None = None) -> BackupSnapshot:
    row = BackupSnapshot(device_id=device.id, org_id=device.org_id, snapshot_id=sid or f"snap-{started:%Y%m%d%H%M}",
                         backup_type="file", storage_path="/backups/x", status=status, started_at=started,
                         completed_at=started + timedelta(minutes=10))
    db.session.add(row)
    return row


def configure(device: Device, **values) -> BackupConfig:
    config = backups.save_config(device, {**backups.default_values(), "enabled": True, "backup_mode": "file",
                                          **values}, None)
    db.session.commit()
    return config


# Configuration and schedule ---------------------------------------------------------------------

def test_config_validation_messages():
    good = {**backups.default_values(), "enabled": True, "backup_mode": "file"}
    assert backups.config_errors(good) == {}
    assert set(backups.config_errors({**good, "schedule_cron": "61 2 * * *"})) == {"schedule_cron"}
    assert "Five fields" in backups.config_errors({**good, "schedule_cron": "0 2 * *"})["schedule_cron"]
    assert set(backups.config_errors({**good, "timezone": "Mars/Olympus"})) == {"timezone"}
    assert set(backups.config_errors({**good, "backup_mode": "full_disk"})) == {"full_disk_method"}
    assert set(backups.config_errors({**good, "backup_mode": "off"})) == {"backup_mode"}
    assert set(backups.config_errors({**good, "retention_count": 0, "storage_target": "a b"})) == {
        "retention_count", "storage_target"}


def test_next_run_is_read_in_the_devices_time_zone():
    now = at("2026-12-03T00:00:00")  # 11:00 in Sydney (AEDT, +11), 08:00 in Perth (+8)
    assert backups.next_run("0 2 * * *", "Australia/Sydney", now) == at("2026-12-03T15:00:00")
    assert backups.next_run("0 2 * * *", "Australia/Perth", now) == at("2026-12-03T18:00:00")
    assert backups.next_run("0 2 * * *", "UTC", now) == at("2026-12-03T02:00:00")
    # Across Sydney's daylight-saving start (2026-10-04 02:00 -> 03:00): 03:30 is +11, the day before +10.
    assert backups.next_run("30 3 * * *", "Australia/Sydney", at("2026-10-02T18:00:00")) == at("2026-10-03T16:30:00")
    assert backups.next_run("30 3 * * *", "Australia/Sydney", at("2026-10-03T18:00:00")) == at("2026-10-04T16:30:00")


def test_the_form_validates_saves_schedules_and_audits(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    url = f"/fleet/devices/{agent['device_id']}/backups"
    client.login(orgs.a.users["operator"].email)
    bad = client.post(url, data={**FORM, "schedule_cron": "every night", "timezone": "Nowhere/Land"})
    assert bad.status_code == 422
    assert "Five fields" in bad.get_data(as_text=True) and "Unknown time zone" in bad.get_data(as_text=True)
    assert db.session.get(BackupConfig, agent["device_id"]) is None
    assert client.post(url, data=FORM).status_code == 303
    config = db.session.get(BackupConfig, agent["device_id"])
    assert config.enabled and config.timezone == "Australia/Perth"
    local = config.next_scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("Australia/Perth"))
    assert (local.hour, local.minute) == (2, 0) and config.next_scheduled_at > utcnow()
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.config_saved"))
    assert audit.user_id == orgs.a.users["operator"].id and audit.new_values["schedule_cron"] == "0 2 * * *"
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post(url, data=FORM).status_code == 403
    assert "Save backup settings" not in client.get(url).get_data(as_text=True)


def test_the_schedule_job_sends_run_backup_once_when_due(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    config = configure(device, schedule_cron="0 2 * * *", timezone="UTC")
    assert not backups.has_due_backups()
    config.next_scheduled_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert backups.has_due_backups()
    [sent] = backups.schedule_due()
    db.session.commit()
    assert sent.command_type == "run_backup" and sent.created_by_id is None and sent.status == "pending"
    assert config.next_scheduled_at > utcnow() and config.next_scheduled_at.hour == 2
    # Due again while the first run is still pending: skipped, not piled up.
    config.next_scheduled_at = utcnow() - timedelta(minutes=1)
    assert backups.schedule_due() == []
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Command.id)).where(Command.device_id == device.id)) == 1
    polled = client.get("/api/agent/commands", headers=bearer(agent["api_key"])).json["commands"]
    assert [c["type"] for c in polled] == ["run_backup"]


# Agent reports ------------------------------------------------------------------------------------

def report(client, agent, **body):
    payload = {"snapshot_id": "r-1", "backup_type": "file", "backup_method": "restic", "storage_path": "s3://b/x",
               "status": "in_progress", "started_at": "2026-12-03T02:00:00Z", **body}
    return client.post("/api/agent/backups", json=payload, headers=bearer(agent["api_key"]), csrf=False)


def test_backup_reports_are_validated_and_stored_for_the_own_device_only(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    other = enrolled(client, orgs.b.org.id, serial="B1", name="b-1")
    device = db.session.get(Device, agent["device_id"])
    configure(device)
    bad = report(client, agent, status="exploded", size_bytes=-1, started_at=None)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"status", "size_bytes", "started_at"}
    assert report(client, agent, status="failed").json["error"]["fields"] == {"error": "required when the status is failed"}
    assert db.session.scalar(sa.select(sa.func.count(BackupSnapshot.id))) == 0
    assert report(client, agent).status_code == 201
    done = report(client, agent, status="completed", completed_at="2026-12-03T02:12:30Z", size_bytes=5_000_000,
                  compressed_size_bytes=2_000_000, file_count=1234, logs="ok")
    assert done.status_code == 201
    row = db.session.scalar(sa.select(BackupSnapshot).where(BackupSnapshot.snapshot_id == "r-1"))
    assert (row.status, row.duration_seconds, row.file_count, row.size_bytes) == ("completed", 750, 1234, 5_000_000)
    assert report(client, agent, status="in_progress").status_code == 409  # finished snapshots stay finished
    config = db.session.get(BackupConfig, device.id)
    assert config.last_backup_status == "completed" and config.last_backup_at == at("2026-12-03T02:00:00")
    assert backups.latest_backup_status(device.id)["status"] == "completed"
    # Another device's command cannot be named; the same snapshot id elsewhere is that device's own row.
    foreign = Command(org_id=orgs.b.org.id, device_id=other["device_id"], command_type="run_backup", tier="safe",
                      nonce="n" * 32, expires_at=utcnow(), status="pending")
    db.session.add(foreign)
    db.session.commit()
    assert report(client, agent, snapshot_id="r-2", command_id=foreign.id).json["error"]["fields"] == {
        "command_id": "a command of this device"}
    assert report(client, other).status_code == 201
    assert db.session.scalar(sa.select(sa.func.count(BackupSnapshot.id))) == 2
    reported = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "backup.reported")).all()
    assert len(reported) == 3 and {a.actor_type for a in reported} == {"agent"}


# Retention -------------------------------------------------------------------------------------------

def test_gfs_worked_example():
    # Daily 02:00 snapshots 2026-10-01 .. 2026-12-03 plus one at 14:00 on 2026-12-03 (a Thursday).
    times = [at("2026-10-01T02:00:00") + timedelta(days=i) for i in range(64)] + [at("2026-12-03T14:00:00")]
    kept = backups.gfs_keep(times, keep_last=2, daily=3, weekly=2, monthly=2)
    got = {times[i].strftime("%m-%d %H"): sorted(why) for i, why in kept.items()}
    assert got == {
        "12-03 14": ["daily", "last", "monthly", "weekly"],
        "12-03 02": ["last"],
        "12-02 02": ["daily"],
        "12-01 02": ["daily"],
        "11-29 02": ["weekly"],  # the Sunday closing the week before
        "11-30 02": ["monthly"],  # the newest of November
    }
    assert len(times) - len(kept) == 59


def test_gfs_reads_days_in_the_devices_time_zone():
    times = [at("2026-12-02T15:00:00"), at("2026-12-02T17:00:00")]  # 23:00 and 01:00 (next day) in Perth
    assert sorted(backups.gfs_keep(times, 0, 2, 0, 0, "UTC")) == [1]
    assert sorted(backups.gfs_keep(times, 0, 2, 0, 0, "Australia/Perth")) == [0, 1]
    assert sorted(backups.gfs_keep(times, 1, 0, 0, 0)) == [1]


def test_the_dry_run_lists_exactly_what_is_then_expired(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    configure(device, retention_count=2, keep_daily=2, keep_weekly=1, keep_monthly=0)
    start = at("2026-11-01T02:00:00")
    for i in range(10):
        snapshot(device, start + timedelta(days=i))
    snapshot(device, start + timedelta(days=20), status="failed")
    snapshot(device, start + timedelta(days=21), status="in_progress")
    db.session.commit()
    client.login(orgs.a.users["operator"].email)
    page = client.get(f"/fleet/devices/{device.id}/backups", headers={"HX-Request": "true"}).get_data(as_text=True)
    preview = page.split('id="retention-preview"')[1].split("</ul>")[0]
    listed = sorted(set(__import__("re").findall(r"<code>(snap-\d+)</code>", preview)))
    assert listed == [f"snap-202611{d:02d}0200" for d in range(1, 9)]  # keeps the 10th and 9th only
    assert client.post(f"/fleet/devices/{device.id}/backups/retention").status_code == 303
    expired = db.session.scalars(sa.select(BackupSnapshot.snapshot_id).where(
        BackupSnapshot.device_id == device.id, BackupSnapshot.status == "deleted")).all()
    assert sorted(expired) == listed
    statuses = db.session.scalars(sa.select(BackupSnapshot.status).where(BackupSnapshot.status != "deleted")).all()
    assert sorted(statuses) == ["completed", "completed", "failed", "in_progress"]
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.retention_applied"))
    assert sorted(audit.details["expired"]) == listed
    assert backups.retention_plan(device).expire == []


def test_the_retention_job(app, client, orgs):
    from app.jobs import enqueue
    from tests.conftest import run_jobs

    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    configure(device, retention_count=1, keep_daily=0, keep_weekly=0, keep_monthly=0)
    for i in range(3):
        snapshot(device, at("2026-11-01T02:00:00") + timedelta(days=i))
    db.session.commit()
    assert backups.has_retention_work()
    enqueue("fleet.backups_retention", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert not backups.has_retention_work()
    assert db.session.scalar(sa.select(sa.func.count(BackupSnapshot.id)).where(BackupSnapshot.status == "deleted")) == 2


# Restore tests, alerting hooks, bulk enable, tenancy ---------------------------------------------------

def test_restore_tests_are_recorded(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    good = snapshot(device, at("2026-11-01T02:00:00"))
    broken = snapshot(device, at("2026-11-02T02:00:00"), status="failed")
    db.session.commit()
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/fleet/backups/{good.id}/restore-test", data={"outcome": "passed", "note": "db ok"}).status_code == 303
    assert client.post(f"/fleet/backups/{broken.id}/restore-test", data={"outcome": "passed"}).status_code == 409
    db.session.expire_all()
    good = db.session.get(BackupSnapshot, good.id)
    assert good.restore_tested and good.restore_result == "passed" and good.last_verified_at is not None
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.restore_tested"))
    assert audit.details == {"note": "db ok"} and audit.user_id == orgs.a.users["operator"].id


def test_latest_status_and_missing_backups_for_alerting(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    device = db.session.get(Device, agent["device_id"])
    device.enrolled_at = at("2026-11-01T00:00:00")
    config = configure(device, schedule_cron="0 2 * * *", timezone="UTC")
    assert backups.latest_backup_status(device.id) is None
    now = at("2026-12-03T05:00:00")  # today's 02:00 run has had its 2 hours
    config.schedule_changed_at = at("2026-12-03T01:00:00")
    db.session.commit()
    assert len(backups.devices_missing_backups(orgs.a.org.id, now)) == 1
    config.schedule_changed_at = at("2026-12-03T02:30:00")  # set up after that run was due: not missing yet
    db.session.commit()
    assert backups.devices_missing_backups(orgs.a.org.id, now) == []
    config.schedule_changed_at = at("2026-11-01T00:00:00")
    db.session.commit()
    assert [m["device_id"] for m in backups.devices_missing_backups(orgs.a.org.id, now)] == [device.id]
    snapshot(device, at("2026-12-03T02:00:05"), status="failed")
    db.session.commit()
    assert backups.latest_backup_status(device.id)["status"] == "failed"
    assert len(backups.devices_missing_backups(orgs.a.org.id, now)) == 1
    snapshot(device, at("2026-12-03T02:30:00"))
    db.session.commit()
    assert backups.devices_missing_backups(orgs.a.org.id, now) == []
    assert backups.latest_backup_status(device.id)["status"] == "completed"
    assert backups.devices_missing_backups(orgs.b.org.id, now) == []
    # Tomorrow at 03:00 today's snapshot still covers the run (grace not over); at 04:01 it does not.
    assert backups.devices_missing_backups(orgs.a.org.id, at("2026-12-04T03:00:00")) == []
    assert len(backups.devices_missing_backups(orgs.a.org.id, at("2026-12-04T04:01:00"))) == 1


def test_bulk_enable_from_inventory(client, orgs):
    one = enrolled(client, orgs.a.org.id, serial="A1")
    two = enrolled(client, orgs.a.org.id, serial="A2", name="scanner-2")
    theirs = enrolled(client, orgs.b.org.id, serial="B1", name="b-1")
    client.login(orgs.a.users["operator"].email)
    response = client.post("/fleet/devices/backups/enable",
                           data={"device_ids": [str(one["device_id"]), str(two["device_id"]), str(theirs["device_id"])]})
    assert response.status_code == 303
    configs = db.session.scalars(sa.select(BackupConfig)).all()
    assert sorted(c.device_id for c in configs) == sorted([one["device_id"], two["device_id"]])
    assert all(c.enabled and c.backup_mode == "file" and c.next_scheduled_at for c in configs)


def test_other_organizations_backups_are_unreachable(client, orgs):
    theirs = enrolled(client, orgs.b.org.id, serial="B1", name="b-1")
    device = db.session.get(Device, theirs["device_id"])
    row = snapshot(device, at("2026-11-01T02:00:00"))
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/fleet/devices/{device.id}/backups"),
        ("POST", f"/fleet/devices/{device.id}/backups"),
        ("POST", f"/fleet/devices/{device.id}/backups/retention"),
        ("POST", f"/fleet/backups/{row.id}/restore-test"),
    ], data=FORM)
    assert db.session.get(BackupConfig, device.id) is None


@pytest.mark.parametrize("kind", ["file", "full_disk"])
def test_full_disk_needs_a_method(kind):
    values = {**backups.default_values(), "enabled": True, "backup_mode": kind}
    assert ("full_disk_method" in backups.config_errors(values)) == (kind == "full_disk")
