"""Fleet operations (seed 002): devices, enrolment claim codes, heartbeats and what they
carry (rollups, services, containers, scanner stats), and the organization's subscriptions."""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, sql_in, utcnow
from app.models.tenancy import Site

DEVICE_TYPES = ("scanner", "server")
BILLING_TYPES = ("customer", "internal")
ENVIRONMENTS = ("production", "staging", "development", "internal")
DEVICE_STATUSES = ("pending", "active", "offline", "suspended", "decommissioned")
SERVICE_STATUSES = ("active", "inactive", "failed", "unknown")
CONTAINER_STATUSES = ("running", "exited", "paused", "restarting", "dead", "created")
BILLING_CYCLES = ("monthly", "yearly", "one-time")
SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "canceled", "unpaid")
DEVICE_SCOPES = ("heartbeat", "facts", "commands", "backups")
ROLLUP_METRICS = ("cpu", "ram", "disk_root", "load_1m", "net_rx", "net_tx")


class Subscription(OrgOwnedMixin, TimestampMixin, db.Model):
    """What an organization pays for; the active one limits how many devices it may have."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.CheckConstraint(sql_in("billing_cycle", BILLING_CYCLES), name="billing_cycle"),
        sa.CheckConstraint(sql_in("status", SUBSCRIPTION_STATUSES), name="status"),
        sa.CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_name: Mapped[str] = mapped_column(sa.String(100))
    plan_tier: Mapped[str | None] = mapped_column(sa.String(50))
    billing_cycle: Mapped[str] = mapped_column(sa.String(20), default="monthly")
    price_cents: Mapped[int | None] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3), default="AUD")
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    next_payment_date: Mapped[date | None] = mapped_column(sa.Date)
    trial_end_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", index=True)
    payment_status: Mapped[str | None] = mapped_column(sa.String(20))
    max_devices: Mapped[int | None] = mapped_column()
    max_scans_per_month: Mapped[int | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(sa.Text)
    canceled_at: Mapped[datetime | None] = mapped_column()


class Device(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A scanner or server the MSP runs at a customer site."""

    __tablename__ = "devices"
    __table_args__ = (
        sa.CheckConstraint(sql_in("device_type", DEVICE_TYPES), name="device_type"),
        sa.CheckConstraint(sql_in("billing_type", BILLING_TYPES), name="billing_type"),
        sa.CheckConstraint(sql_in("environment", ENVIRONMENTS), name="environment"),
        sa.CheckConstraint(sql_in("status", DEVICE_STATUSES), name="status"),
        sa.Index("ix_devices_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriptions.id", ondelete="SET NULL"))
    hostname: Mapped[str] = mapped_column(sa.String(255))
    device_name: Mapped[str | None] = mapped_column(sa.String(255))
    device_type: Mapped[str] = mapped_column(sa.String(20))
    billing_type: Mapped[str] = mapped_column(sa.String(20), default="customer")
    environment: Mapped[str] = mapped_column(sa.String(20), default="production")
    enrolled_at: Mapped[datetime | None] = mapped_column()
    hardware_fingerprint: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    overlay_ip: Mapped[str | None] = mapped_column(sa.String(45), unique=True)
    # The same address as an integer (kept in step by set_overlay_number), so allocation
    # finds the next free address with an indexed MAX (app/fleet/services.py).
    overlay_ip_number: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    wireguard_public_key: Mapped[str | None] = mapped_column(sa.String(64))

    local_ip: Mapped[str | None] = mapped_column(sa.String(45))
    public_ip: Mapped[str | None] = mapped_column(sa.String(45))
    mac_addresses: Mapped[list[str]] = mapped_column(default=list)
    manufacturer: Mapped[str | None] = mapped_column(sa.String(255))
    model: Mapped[str | None] = mapped_column(sa.String(255))
    serial_number: Mapped[str | None] = mapped_column(sa.String(255))
    cpu_model: Mapped[str | None] = mapped_column(sa.String(255))
    cpu_cores: Mapped[int | None] = mapped_column()
    ram_mb: Mapped[int | None] = mapped_column()
    disk_gb: Mapped[int | None] = mapped_column()
    os_type: Mapped[str | None] = mapped_column(sa.String(50))
    os_version: Mapped[str | None] = mapped_column(sa.String(100))
    kernel_version: Mapped[str | None] = mapped_column(sa.String(100))
    modules_enabled: Mapped[list[str]] = mapped_column(default=lambda: ["monitoring"])
    docker_present: Mapped[bool] = mapped_column(default=False)
    lvm_present: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    last_seen_at: Mapped[datetime | None] = mapped_column(index=True)
    uptime_seconds: Mapped[int | None] = mapped_column(sa.BigInteger)
    heartbeat_interval: Mapped[int] = mapped_column(default=60)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    site: Mapped[Site | None] = relationship()
    subscription: Mapped[Subscription | None] = relationship()

    @validates("overlay_ip")
    def set_overlay_number(self, _key: str, value: str | None) -> str | None:
        self.overlay_ip_number = int(ipaddress.ip_address(value)) if value else None
        return value

    @property
    def label(self) -> str:
        return self.device_name or self.hostname


class DeviceClaimCode(OrgOwnedMixin, db.Model):
    """A one-time enrolment code: only its SHA-256 is stored; 24 hours, single use."""

    __tablename__ = "device_claim_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    used_ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    device: Mapped[Device] = relationship()


class Heartbeat(db.Model):
    """One heartbeat as received (the numbers the console shows, plus the raw payload)."""

    __tablename__ = "heartbeats"
    __table_args__ = (sa.Index("ix_heartbeats_device_timestamp", "device_id", "timestamp"),
                      # The seed's idx_heartbeats_timestamp: retention deletes by age.
                      sa.Index("ix_heartbeats_timestamp", "timestamp"))

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    timestamp: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    uptime_seconds: Mapped[int | None] = mapped_column(sa.BigInteger)
    cpu_usage_percent: Mapped[float | None] = mapped_column(sa.Float)
    ram_usage_percent: Mapped[float | None] = mapped_column(sa.Float)
    ram_used_gb: Mapped[float | None] = mapped_column(sa.Float)
    ram_total_gb: Mapped[float | None] = mapped_column(sa.Float)
    disk_root_percent: Mapped[float | None] = mapped_column(sa.Float)
    load_1m: Mapped[float | None] = mapped_column(sa.Float)
    network_rx_bytes_per_sec: Mapped[int | None] = mapped_column(sa.BigInteger)
    network_tx_bytes_per_sec: Mapped[int | None] = mapped_column(sa.BigInteger)
    filesystems: Mapped[list[Any]] = mapped_column(default=list)
    failed_login_count_24h: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MetricRollup(db.Model):
    """One metric of one device over one 5-minute bucket: running average, max, sample count."""

    __tablename__ = "metrics_rollup"
    __table_args__ = (sa.UniqueConstraint("device_id", "bucket_start", "metric",
                                          name="uq_metrics_rollup_device_bucket_metric"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    bucket_start: Mapped[datetime] = mapped_column()
    metric: Mapped[str] = mapped_column(sa.String(50))
    avg_value: Mapped[float] = mapped_column(sa.Float)
    max_value: Mapped[float] = mapped_column(sa.Float)
    sample_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceStatus(db.Model):
    """The latest state of one systemd service on one device."""

    __tablename__ = "service_status"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "service_name"),
        sa.CheckConstraint(sql_in("status", SERVICE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    service_name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))
    enabled: Mapped[bool | None] = mapped_column()
    pid: Mapped[int | None] = mapped_column()
    memory_mb: Mapped[int | None] = mapped_column()
    uptime_seconds: Mapped[int | None] = mapped_column()
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column()


class DockerContainer(db.Model):
    """The latest state of one Docker container on one device (keyed by name)."""

    __tablename__ = "docker_containers"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "container_name"),
        sa.CheckConstraint(sql_in("status", CONTAINER_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    container_id: Mapped[str] = mapped_column(sa.String(64))
    container_name: Mapped[str] = mapped_column(sa.String(255))
    image_name: Mapped[str | None] = mapped_column(sa.String(255))
    image_tag: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))
    restart_count: Mapped[int] = mapped_column(default=0)
    cpu_percent: Mapped[float | None] = mapped_column(sa.Float)
    mem_mb: Mapped[int | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScannerStats(db.Model):
    """A scanner's task, feed and vulnerability counts as of one heartbeat."""

    __tablename__ = "scanner_stats"
    __table_args__ = (sa.UniqueConstraint("device_id", "collected_at"),
                      sa.Index("ix_scanner_stats_collected_at", "collected_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    tasks_total: Mapped[int] = mapped_column(default=0)
    scans_running: Mapped[int] = mapped_column(default=0)
    scans_queued: Mapped[int] = mapped_column(default=0)
    scans_completed_24h: Mapped[int] = mapped_column(default=0)
    feed_updated_at: Mapped[datetime | None] = mapped_column()
    last_scan_at: Mapped[datetime | None] = mapped_column()
    nvt_count: Mapped[int | None] = mapped_column()
    vulns_critical: Mapped[int] = mapped_column(default=0)
    vulns_high: Mapped[int] = mapped_column(default=0)
    vulns_medium: Mapped[int] = mapped_column(default=0)
    vulns_low: Mapped[int] = mapped_column(default=0)
    top_vulns: Mapped[list[Any]] = mapped_column(default=list)
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceFacts(db.Model):
    """One inventory snapshot an agent sent (the latest N per device are kept)."""

    __tablename__ = "device_facts"
    __table_args__ = (sa.Index("ix_device_facts_device_collected", "device_id", "collected_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
