"""Backups: per-device configuration, the schedule (run_backup commands when a device's cron
is due, in its own time zone), the catalog the agents report into, grandfather-father-son
retention with a dry run, restore tests, and the two questions alerting asks
(`latest_backup_status`, `devices_missing_backups`). None of these functions commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from croniter import croniter

from app import audit
from app.alerting import events
from app.core.hygiene import INT_MAX
from app.fleet import backup_repository, commands
from app.fleet.backup_errors import BackupError
from app.fleet.payload import Checker
from app.models import BackupConfig, BackupSnapshot, Command, Device, User, db, utcnow
from app.models.base import as_dict
from app.models.fleet_ops import BACKUP_MODES, BACKUP_TYPES, FULL_DISK_METHODS

CONFIG_FIELDS = ["enabled", "backup_mode", "schedule_cron", "timezone", "retention_count", "keep_daily",
                 "keep_weekly", "keep_monthly", "full_disk_method", "require_reboot", "storage_target",
                 *backup_repository.REPOSITORY_FIELDS]
REPORT_STATUSES = ("in_progress", "completed", "failed")
MISSING_GRACE = timedelta(hours=2)  # how long a scheduled backup may take before it counts as missing
STORAGE_TARGET = re.compile(r"^[\w.-]{1,100}$")
MAX_LOGS = 100_000
MAX_DURATION = 10 ** 8  # seconds (3 years)
__all__ = ["BackupError"]  # raised by every rule here; defined apart so backup_repository raises it too


# Schedule --------------------------------------------------------------------------------------

def cron_error(expr: str | None) -> str | None:
    """Why a cron expression is not usable (five fields: minute hour day month weekday), or None."""
    if not expr or not expr.strip():
        return "Enter a cron expression, e.g. 0 2 * * * (02:00 every day)."
    if len(expr.split()) != 5:
        return "Five fields: minute hour day-of-month month day-of-week."
    if not croniter.is_valid(expr.strip()):
        return "Not a valid cron expression."
    return None


def timezone_error(name: str | None) -> str | None:
    if not name:
        return "Choose a time zone."
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        return f"Unknown time zone {name!r} (use an IANA name like Australia/Perth)."
    return None


def timezone_names() -> list[str]:
    return sorted(available_timezones())


def in_zone(when: datetime, tz: str) -> datetime:
    """`when` on the device's wall clock (what its schedule reads)."""
    return when.astimezone(ZoneInfo(tz))


def next_run(expr: str, tz: str, after: datetime) -> datetime:
    """The first time after `after` the cron fires, read in the device's time zone, as UTC."""
    from datetime import UTC

    local = after.astimezone(ZoneInfo(tz))
    return croniter(expr, local).get_next(datetime).astimezone(UTC)


def previous_run(expr: str, tz: str, before: datetime) -> datetime:
    from datetime import UTC

    return croniter(expr, before.astimezone(ZoneInfo(tz))).get_prev(datetime).astimezone(UTC)


# Configuration ---------------------------------------------------------------------------------

def config_errors(values: dict[str, Any]) -> dict[str, str]:
    """Field errors of a configuration (the form and bulk enable both use this)."""
    errors: dict[str, str] = {}
    mode = values.get("backup_mode")
    if mode not in BACKUP_MODES:
        errors["backup_mode"] = "One of " + ", ".join(BACKUP_MODES) + "."
    if values.get("enabled") and mode == "off":
        errors["backup_mode"] = "Choose what to back up, or switch backups off."
    if values.get("enabled") or values.get("schedule_cron"):
        if (message := cron_error(values.get("schedule_cron"))):
            errors["schedule_cron"] = message
    if (message := timezone_error(values.get("timezone"))):
        errors["timezone"] = message
    for name, low in (("retention_count", 1), ("keep_daily", 0), ("keep_weekly", 0), ("keep_monthly", 0)):
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 1000:
            errors[name] = f"A whole number from {low} to 1000."
    method = values.get("full_disk_method")
    if mode in ("full_disk", "hybrid") and method not in FULL_DISK_METHODS:
        errors["full_disk_method"] = "Full-disk backups need a method: " + ", ".join(FULL_DISK_METHODS) + "."
    elif method and method not in FULL_DISK_METHODS:
        errors["full_disk_method"] = "One of " + ", ".join(FULL_DISK_METHODS) + "."
    if not STORAGE_TARGET.match(values.get("storage_target") or ""):
        errors["storage_target"] = "Letters, digits, dots, dashes or underscores, at most 100."
    return {**errors, **backup_repository.repository_errors(values)}


def get_config(device: Device) -> BackupConfig | None:
    return db.session.get(BackupConfig, device.id)


def default_values() -> dict[str, Any]:
    return {"enabled": False, "backup_mode": "off", "schedule_cron": "0 2 * * *", "timezone": "UTC",
            "retention_count": 7, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6, "full_disk_method": None,
            "require_reboot": True, "storage_target": "default", "repository": None, "backup_paths": [],
            "exclude_patterns": [], "s3_access_key_id": None}


def save_config(device: Device, values: dict[str, Any], actor: User | None, now: datetime | None = None,
                secrets: dict[str, str | None] | None = None) -> BackupConfig:
    """Create or change a device's backup configuration (validated, audited) and schedule its next run.
    `secrets` (repository_password, s3_secret_key) are sealed; a blank one keeps the stored one."""
    values = {**default_values(), **{k: v for k, v in values.items() if k in CONFIG_FIELDS}}
    if values["backup_mode"] not in ("full_disk", "hybrid"):
        values["full_disk_method"] = None
    values["schedule_cron"] = (values.get("schedule_cron") or "").strip() or None
    errors = config_errors(values)
    if errors:
        raise BackupError("validation_error", "The backup configuration is not valid.", 422, errors)
    config = get_config(device)
    old = as_dict(config, CONFIG_FIELDS) if config else None
    if config is None:
        config = BackupConfig(device_id=device.id, org_id=device.org_id)
        db.session.add(config)
    now = now or utcnow()
    schedule_keys = ("enabled", "backup_mode", "schedule_cron", "timezone")
    if old is None or any(old[k] != values[k] for k in schedule_keys):
        config.schedule_changed_at = now
    for key in CONFIG_FIELDS:
        setattr(config, key, values[key])
    secrets = secrets or {}
    sealed = backup_repository.store_secrets(config, secrets.get("repository_password"), secrets.get("s3_secret_key"))
    active = config.enabled and config.backup_mode != "off" and config.schedule_cron
    config.next_scheduled_at = next_run(config.schedule_cron, config.timezone, now) if active else None
    db.session.flush()
    new = as_dict(config, CONFIG_FIELDS)
    old, new = audit.changes(old, new) if old else (None, new)
    audit.record("backup.config_saved", resource_type="device", resource_id=device.id, org_id=device.org_id,
                 actor=actor, old=old, new=new,
                 details={"next_scheduled_at": config.next_scheduled_at.isoformat() if config.next_scheduled_at else None,
                          **({"secrets_changed": sealed} if sealed else {})})
    return config


# The scheduled job -----------------------------------------------------------------------------

def _due(now: datetime) -> sa.Select:
    return (sa.select(BackupConfig).join(Device, Device.id == BackupConfig.device_id)
            .where(BackupConfig.enabled.is_(True), BackupConfig.backup_mode != "off",
                   BackupConfig.next_scheduled_at <= now, Device.deleted_at.is_(None), Device.enrolled_at.is_not(None)))


def has_due_backups() -> bool:
    """The schedule job's only_if."""
    return db.session.scalar(sa.select(sa.exists(_due(utcnow()).subquery().select()))) or False


def schedule_due(now: datetime | None = None) -> list[Command]:
    """Send run_backup to each device whose schedule is due; record its next run.

    A device that still has an unfinished run_backup gets no second one (the run is
    skipped, not queued up), so an agent that was offline does not wake up to a pile."""
    now = now or utcnow()
    sent = []
    for config in db.session.scalars(_due(now).with_for_update(of=BackupConfig, skip_locked=True)).all():
        busy = db.session.scalar(sa.select(Command.id).where(
            Command.device_id == config.device_id, Command.command_type == "run_backup",
            Command.status.in_(("pending", "in_progress")), Command.expires_at > now).limit(1))
        if busy is None:
            sent.append(commands.issue(config.device, "run_backup", {}, None, actor_label="fleet.backups_schedule"))
        config.next_scheduled_at = next_run(config.schedule_cron, config.timezone, now)
    return sent


# Reports from the agent ------------------------------------------------------------------------

def validate_report(data: dict[str, Any]) -> dict[str, Any]:
    c = Checker()
    clean: dict[str, Any] = {
        "snapshot_id": c.text(data, "snapshot_id", "snapshot_id", 255, required=True),
        "snapshot_name": c.text(data, "snapshot_name", "snapshot_name", 255),
        "replaces_snapshot_id": c.text(data, "replaces_snapshot_id", "replaces_snapshot_id", 255),
        "backup_method": c.text(data, "backup_method", "backup_method", 50),
        "storage_path": c.text(data, "storage_path", "storage_path", 2000, required=True),
        "encryption_key_id": c.text(data, "encryption_key_id", "encryption_key_id", 100),
        "error_message": c.text(data, "error", "error", 5000),
        "logs": c.text(data, "logs", "logs", MAX_LOGS),
        "started_at": c.when(data, "started_at", "started_at"),
        "completed_at": c.when(data, "completed_at", "completed_at"),
    }
    for name in ("size_bytes", "compressed_size_bytes"):
        clean[name] = c.number(data, name, name, 0, 1 << 62, whole=True)
    clean["duration_seconds"] = c.number(data, "duration_seconds", "duration_seconds", 0, MAX_DURATION, whole=True)
    clean["file_count"] = c.number(data, "file_count", "file_count", 0, 2 ** 31 - 1, whole=True)
    if data.get("started_at") is None:
        c.errors["started_at"] = "required"
    if data.get("backup_type") not in BACKUP_TYPES:
        c.errors["backup_type"] = "one of " + ", ".join(BACKUP_TYPES)
    clean["backup_type"] = data.get("backup_type")
    if data.get("status") not in REPORT_STATUSES:
        c.errors["status"] = "one of " + ", ".join(REPORT_STATUSES)
    clean["status"] = data.get("status")
    encrypted = data.get("encrypted", True)
    if not isinstance(encrypted, bool):
        c.errors["encrypted"] = "true or false"
    clean["encrypted"] = encrypted
    if clean["status"] == "failed" and not clean["error_message"]:
        c.errors["error"] = "required when the status is failed"
    command_id = data.get("command_id")
    if command_id is not None and (not isinstance(command_id, int) or isinstance(command_id, bool)
                                   or not 1 <= command_id <= INT_MAX):  # commands.id is an INTEGER
        c.errors["command_id"] = "a command id"
    clean["command_id"] = command_id
    if clean["started_at"] and clean["completed_at"] and clean["completed_at"] < clean["started_at"]:
        c.errors["completed_at"] = "not before started_at"
    if c.errors:
        raise BackupError("validation_error", "The backup report is not valid.", 422, c.errors)
    return clean


def ingest_report(device: Device, data: dict[str, Any]) -> BackupSnapshot:
    """Store (or update, by snapshot id) one snapshot the device's agent reports (audited)."""
    clean = validate_report(data)
    if clean["command_id"] is not None and db.session.scalar(sa.select(Command.id).where(
            Command.id == clean["command_id"], Command.device_id == device.id)) is None:
        raise BackupError("validation_error", "The backup report is not valid.", 422,
                          {"command_id": "a command of this device"})
    row = db.session.scalar(sa.select(BackupSnapshot).where(
        BackupSnapshot.device_id == device.id, BackupSnapshot.snapshot_id == clean["snapshot_id"]).with_for_update())
    replaces = clean.pop("replaces_snapshot_id")
    if row is None and replaces:
        # The run reported in progress under a provisional id; restic names the snapshot at the end.
        row = db.session.scalar(sa.select(BackupSnapshot).where(
            BackupSnapshot.device_id == device.id, BackupSnapshot.snapshot_id == replaces,
            BackupSnapshot.status == "in_progress").with_for_update())
        if row is not None:
            row.snapshot_id = clean["snapshot_id"]
    old_status = row.status if row else None
    if row is not None and row.status != "in_progress" and row.status != clean["status"]:
        raise BackupError("bad_transition", f"The snapshot is already {row.status}.", 409)
    if row is None:
        row = BackupSnapshot(device_id=device.id, org_id=device.org_id, snapshot_id=clean["snapshot_id"])
        db.session.add(row)
    for key, value in clean.items():
        if key != "snapshot_id" and (value is not None or key in ("backup_type", "status")):
            setattr(row, key, value)
    if row.status in ("completed", "failed") and row.completed_at is None:
        row.completed_at = utcnow()
    if row.duration_seconds is None and row.completed_at is not None:
        took = int((row.completed_at - row.started_at).total_seconds())
        # Within the bound of a reported duration: agent clocks can be centuries off.
        row.duration_seconds = took if 0 <= took <= MAX_DURATION else None
    db.session.flush()
    config = get_config(device)
    if config is not None and row.status in ("completed", "failed"):
        if config.last_backup_at is None or row.started_at >= config.last_backup_at:
            config.last_backup_at, config.last_backup_status = row.started_at, row.status
    audit.record("backup.reported", resource_type="backup", resource_id=row.id, org_id=device.org_id,
                 actor_type="agent", actor_label=f"agent {device.hostname}", old={"status": old_status} if old_status else None,
                 new={"snapshot_id": row.snapshot_id, "status": row.status, "size_bytes": row.size_bytes},
                 result="failure" if row.status == "failed" else "success")
    if row.status in ("completed", "failed") and old_status != row.status:
        events.publish("fleet.backup_reported", device=device)  # alert rules subscribe
    return row


# Retention (grandfather-father-son) ------------------------------------------------------------

@dataclass
class RetentionPlan:
    keep: list[BackupSnapshot] = field(default_factory=list)
    expire: list[BackupSnapshot] = field(default_factory=list)
    reasons: dict[int, list[str]] = field(default_factory=dict)  # snapshot id -> why it is kept


def gfs_keep(times: list[datetime], keep_last: int, daily: int, weekly: int, monthly: int,
             tz: str = "UTC") -> dict[int, list[str]]:
    """Which of `times` (indexes) a keep-last + daily/weekly/monthly policy keeps, and why.

    The standard rule (as restic's `forget`): walk the snapshots newest first; the first
    `keep_last` are kept; for each of day, ISO week and month, the newest snapshot of a
    period is kept until that many distinct periods have one. Periods are read in `tz`."""
    zone = ZoneInfo(tz)
    order = sorted(range(len(times)), key=lambda i: times[i], reverse=True)
    reasons: dict[int, list[str]] = {}
    buckets = {
        "daily": (daily, lambda t: t.date()),
        "weekly": (weekly, lambda t: t.isocalendar()[:2]),
        "monthly": (monthly, lambda t: (t.year, t.month)),
    }
    seen: dict[str, set] = {name: set() for name in buckets}
    for rank, i in enumerate(order):
        local = times[i].astimezone(zone)
        if rank < keep_last:
            reasons.setdefault(i, []).append("last")
        for name, (limit, key_of) in buckets.items():
            key = key_of(local)
            if key not in seen[name] and len(seen[name]) < limit:
                seen[name].add(key)
                reasons.setdefault(i, []).append(name)
    return reasons


def retention_plan(device: Device, config: BackupConfig | None = None) -> RetentionPlan:
    """What the policy keeps and what it would expire now (completed snapshots only)."""
    config = config or get_config(device)
    snapshots = db.session.scalars(sa.select(BackupSnapshot).where(
        BackupSnapshot.device_id == device.id, BackupSnapshot.status == "completed")
        .order_by(BackupSnapshot.started_at.desc(), BackupSnapshot.id.desc())).all()
    plan = RetentionPlan()
    if config is None:
        plan.keep = list(snapshots)
        return plan
    kept = gfs_keep([s.started_at for s in snapshots], config.retention_count, config.keep_daily,
                    config.keep_weekly, config.keep_monthly, config.timezone)
    for i, snapshot in enumerate(snapshots):
        if i in kept:
            plan.keep.append(snapshot)
            plan.reasons[snapshot.id] = kept[i]
        else:
            plan.expire.append(snapshot)
    return plan


def apply_retention(device: Device, actor: User | None = None) -> list[BackupSnapshot]:
    """Expire what the retention plan says (status deleted, expires_at now), audited once per
    device, and send the agent a signed forget + prune of exactly those snapshots."""
    plan = retention_plan(device)
    now = utcnow()
    for snapshot in plan.expire:
        snapshot.status, snapshot.expires_at = "deleted", now
    if plan.expire:
        audit.record("backup.retention_applied", resource_type="device", resource_id=device.id, org_id=device.org_id,
                     actor=actor, actor_type=None if actor else "system",
                     actor_label=None if actor else "fleet.backups_retention",
                     details={"expired": [s.snapshot_id for s in plan.expire], "kept": len(plan.keep)})
        backup_repository.send_forget(device, plan.expire)
    return plan.expire


def _with_retention() -> sa.Select:
    return (sa.select(Device).join(BackupConfig, BackupConfig.device_id == Device.id)
            .where(Device.deleted_at.is_(None), BackupConfig.enabled.is_(True)))


def has_retention_work() -> bool:
    """The retention job's only_if: a device with backups on and more completed snapshots than keep-last."""
    counts = (sa.select(BackupSnapshot.device_id, sa.func.count().label("n")).where(BackupSnapshot.status == "completed")
              .group_by(BackupSnapshot.device_id).subquery())
    stmt = (sa.select(BackupConfig.device_id).join(counts, counts.c.device_id == BackupConfig.device_id)
            .where(BackupConfig.enabled.is_(True), counts.c.n > BackupConfig.retention_count).limit(1))
    return db.session.scalar(stmt) is not None


def apply_all_retention() -> int:
    return sum(len(apply_retention(device)) for device in db.session.scalars(_with_retention()).all())


# Restore tests and what alerting asks ------------------------------------------------------------

def record_restore_test(snapshot: BackupSnapshot, passed: bool, note: str | None, actor: User) -> None:
    """Record that someone restored from this snapshot to test it, and whether it worked."""
    if snapshot.status != "completed":
        raise BackupError("not_restorable", f"A {snapshot.status} snapshot cannot be restore-tested.", 409)
    old = {"restore_tested": snapshot.restore_tested, "restore_result": snapshot.restore_result}
    snapshot.last_verified_at = utcnow()
    snapshot.restore_tested = True
    snapshot.restore_result = "passed" if passed else "failed"
    audit.record("backup.restore_tested", resource_type="backup", resource_id=snapshot.id, org_id=snapshot.org_id,
                 actor=actor, old=old, new={"restore_tested": True, "restore_result": snapshot.restore_result},
                 details={"note": note} if note else None, result="success" if passed else "failure")


def latest_backup_status(device_id: int) -> dict[str, Any] | None:
    """The device's newest finished backup: status, when, snapshot, error (None if it has none)."""
    row = db.session.scalar(sa.select(BackupSnapshot).where(
        BackupSnapshot.device_id == device_id, BackupSnapshot.status.in_(("completed", "failed", "deleted")))
        .order_by(BackupSnapshot.started_at.desc(), BackupSnapshot.id.desc()).limit(1))
    if row is None:
        return None
    status = "completed" if row.status == "deleted" else row.status
    return {"status": status, "started_at": row.started_at, "completed_at": row.completed_at,
            "snapshot_id": row.snapshot_id, "error": row.error_message, "backup_id": row.id}


def _backups_on() -> sa.Select:
    return (sa.select(Device, BackupConfig).join(BackupConfig, BackupConfig.device_id == Device.id)
            .where(Device.deleted_at.is_(None), Device.enrolled_at.is_not(None), BackupConfig.enabled.is_(True),
                   BackupConfig.backup_mode != "off", BackupConfig.schedule_cron.is_not(None)))


def _missed_run(device: Device, config: BackupConfig, last: datetime | None, now: datetime) -> datetime | None:
    """The scheduled run (given MISSING_GRACE to finish) that no completed snapshot started since
    answers, or None. A run due before the device enrolled or its backup settings last changed
    does not count."""
    expected = previous_run(config.schedule_cron, config.timezone, now - MISSING_GRACE)
    if max(device.enrolled_at, config.schedule_changed_at or device.enrolled_at) > expected:
        return None  # enrolled, or backups set up or changed, after that run was due
    if last is None or last < expected - timedelta(minutes=1):
        return expected
    return None


def _scheduled_backups(stmt: sa.Select, now: datetime) -> list[tuple[Device, datetime | None, datetime | None]]:
    """(device, missed run or None, newest completed start) for each device of `stmt`: two queries."""
    rows = db.session.execute(stmt).all()
    newest = dict(db.session.execute(
        sa.select(BackupSnapshot.device_id, sa.func.max(BackupSnapshot.started_at))
        .where(BackupSnapshot.device_id.in_([d.id for d, _ in rows]),
               BackupSnapshot.status.in_(("completed", "deleted")))
        .group_by(BackupSnapshot.device_id)).all()) if rows else {}
    return [(device, _missed_run(device, config, newest.get(device.id), now), newest.get(device.id))
            for device, config in rows]


def devices_missing_backups(org_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Devices of the organization with scheduled backups whose last scheduled run (given
    MISSING_GRACE to finish) has no completed snapshot started since."""
    now = now or utcnow()
    return [{"device_id": device.id, "device": device, "expected_at": missed, "last_completed_at": last}
            for device, missed, last in _scheduled_backups(_backups_on().where(Device.org_id == org_id), now)
            if missed is not None]


def backup_overdue_hours(device_ids: list[int], now: datetime) -> dict[int, float]:
    """For each of these devices with scheduled backups: hours since the run it missed (after
    MISSING_GRACE), or 0 when its last scheduled run is answered. The backup_missing alert
    rule reads this, so "missing" means the same on every page and in every alert."""
    if not device_ids:
        return {}
    return {device.id: (now - missed).total_seconds() / 3600 if missed is not None else 0.0
            for device, missed, _ in _scheduled_backups(_backups_on().where(Device.id.in_(device_ids)), now)}
