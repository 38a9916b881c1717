"""Fleet operations on devices (seed 002): the signed command queue, per-device backup
configuration and the backup snapshot catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, db, sql_in, utcnow
from app.models.fleet import Device
from app.models.identity import User

# awaiting_approval: a recovery command no second admin has approved yet (not signed yet).
COMMAND_STATUSES = ("awaiting_approval", "pending", "in_progress", "completed", "failed", "expired", "canceled")
BACKUP_MODES = ("off", "file", "full_disk", "hybrid")
FULL_DISK_METHODS = ("recovery_usb", "online_lvm")
BACKUP_TYPES = ("file", "full_disk")
BACKUP_STATUSES = ("in_progress", "completed", "failed", "deleted")


class Command(OrgOwnedMixin, db.Model):
    """One remote action queued for one device, signed with the server's Ed25519 key."""

    __tablename__ = "commands"
    __table_args__ = (
        sa.CheckConstraint(sql_in("status", COMMAND_STATUSES), name="status"),
        sa.Index("ix_commands_device_status", "device_id", "status"),
        sa.Index("ix_commands_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    command_type: Mapped[str] = mapped_column(sa.String(50))
    tier: Mapped[str] = mapped_column(sa.String(20))
    command_payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    command_signature: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    # NULL for commands the system issues (scheduled backups).
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None] = mapped_column()
    picked_up_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.Text)

    device: Mapped[Device] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])


class BackupConfig(OrgOwnedMixin, db.Model):
    """A device's backup settings: mode, cron schedule in a time zone, retention, target."""

    __tablename__ = "backup_configs"
    __table_args__ = (
        sa.CheckConstraint(sql_in("backup_mode", BACKUP_MODES), name="backup_mode"),
        sa.CheckConstraint("full_disk_method IS NULL OR " + sql_in("full_disk_method", FULL_DISK_METHODS),
                           name="full_disk_method"),
        sa.CheckConstraint("retention_count >= 1", name="retention_count"),
        sa.Index("ix_backup_configs_due", "enabled", "next_scheduled_at"),
    )

    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    backup_mode: Mapped[str] = mapped_column(sa.String(20), default="off")
    schedule_cron: Mapped[str | None] = mapped_column(sa.String(100))
    timezone: Mapped[str] = mapped_column(sa.String(50), default="UTC")
    retention_count: Mapped[int] = mapped_column(default=7)  # keep the last N
    keep_daily: Mapped[int] = mapped_column(default=7)
    keep_weekly: Mapped[int] = mapped_column(default=4)
    keep_monthly: Mapped[int] = mapped_column(default=6)
    full_disk_method: Mapped[str | None] = mapped_column(sa.String(50))
    require_reboot: Mapped[bool] = mapped_column(default=True)
    storage_target: Mapped[str] = mapped_column(sa.String(100), default="default")
    # The restic repository (a local path, sftp:user@host:/path or s3:https://host/bucket),
    # what to back up, and the secrets to open it, sealed with app/crypto.py (issue 19).
    repository: Mapped[str | None] = mapped_column(sa.String(2000))
    backup_paths: Mapped[list[str]] = mapped_column(default=list)
    exclude_patterns: Mapped[list[str]] = mapped_column(default=list)
    repository_password_sealed: Mapped[str | None] = mapped_column(sa.Text)
    s3_access_key_id: Mapped[str | None] = mapped_column(sa.String(200))
    s3_secret_key_sealed: Mapped[str | None] = mapped_column(sa.Text)
    last_backup_at: Mapped[datetime | None] = mapped_column()
    last_backup_status: Mapped[str | None] = mapped_column(sa.String(20))
    next_scheduled_at: Mapped[datetime | None] = mapped_column()
    # When backups were switched on or their schedule last changed: runs due before it are not "missing".
    schedule_changed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    device: Mapped[Device] = relationship()


class BackupSnapshot(OrgOwnedMixin, db.Model):
    """One backup snapshot of one device, as its agent reported it."""

    __tablename__ = "backups_catalog"
    __table_args__ = (
        sa.CheckConstraint(sql_in("backup_type", BACKUP_TYPES), name="backup_type"),
        sa.CheckConstraint(sql_in("status", BACKUP_STATUSES), name="status"),
        sa.UniqueConstraint("device_id", "snapshot_id"),
        sa.Index("ix_backups_catalog_device_started", "device_id", "started_at"),
        sa.Index("ix_backups_catalog_status", "status"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    command_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commands.id", ondelete="SET NULL"))
    backup_type: Mapped[str] = mapped_column(sa.String(20))
    backup_method: Mapped[str | None] = mapped_column(sa.String(50))
    snapshot_id: Mapped[str] = mapped_column(sa.String(255))
    snapshot_name: Mapped[str | None] = mapped_column(sa.String(255))
    storage_path: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    compressed_size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    encrypted: Mapped[bool] = mapped_column(default=True)
    encryption_key_id: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default="in_progress")
    started_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[int | None] = mapped_column()
    last_verified_at: Mapped[datetime | None] = mapped_column()
    restore_tested: Mapped[bool] = mapped_column(default=False)
    restore_result: Mapped[str | None] = mapped_column(sa.String(20))  # passed / failed
    expires_at: Mapped[datetime | None] = mapped_column()
    file_count: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    logs: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    device: Mapped[Device] = relationship()
