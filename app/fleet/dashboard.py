"""The fleet dashboard: the seed's eight KPIs and the lists an operator on call looks at
first (recent alerts, offline devices, critical disks, scanner health).

Every function takes an organization id and runs a fixed number of queries whatever the
fleet's size (tests/test_fleet_dashboard.py counts them at 500 devices). Built on the
seed's views in `queries.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.orm import aliased

from app.core.settings_registry import get_setting
from app.fleet.queries import (
    ScannerRow,
    latest_stats_id,
    online_counts,
    scanner_row,
    scanner_select,
)
from app.fleet.services import online_cutoff
from app.models import Alert, BackupSnapshot, Device, Heartbeat, ScannerStats, db, utcnow

LIST_LIMIT = 15
ACTIVE_ALERT_STATUSES = ("open", "acknowledged", "muted")


@dataclass(frozen=True)
class DiskRow:
    device_id: int
    device_label: str
    mount: str
    used_percent: float
    size_gb: float | None
    reported_at: datetime


@dataclass(frozen=True)
class ScannerHealth:
    row: ScannerRow
    online: bool
    feed_age_hours: float | None
    feed_stale: bool
    problems: tuple[str, ...]


def failed_backups_24h(org_id: int) -> int:
    """Backups reported failed in the last 24 h (backups_catalog), of live devices."""
    since = utcnow() - timedelta(hours=24)
    return db.session.scalar(
        sa.select(sa.func.count(BackupSnapshot.id)).join(Device, Device.id == BackupSnapshot.device_id)
        .where(Device.org_id == org_id, Device.deleted_at.is_(None), BackupSnapshot.status == "failed",
               BackupSnapshot.started_at >= since)) or 0


def latest_heartbeat_id(device_id_column) -> sa.ScalarSelect:
    """A device's newest heartbeat id (one backward probe of ix_heartbeats_device_timestamp)."""
    return (sa.select(Heartbeat.id).where(Heartbeat.device_id == device_id_column)
            .order_by(Heartbeat.timestamp.desc()).limit(1).correlate_except(Heartbeat).scalar_subquery())


def critical_disks(org_id: int, threshold: float | None = None) -> list[DiskRow]:
    """Every filesystem at or above the threshold in each live device's latest heartbeat, fullest first."""
    threshold = get_setting("fleet.critical_disk_percent") if threshold is None else threshold
    stmt = (sa.select(Device.id, Device.device_name, Device.hostname, Heartbeat.filesystems, Heartbeat.timestamp)
            .join(Heartbeat, Heartbeat.id == latest_heartbeat_id(Device.id))
            .where(Device.org_id == org_id, Device.deleted_at.is_(None)))
    if db.session.get_bind().dialect.name == "postgresql":
        # Only heartbeats with a full filesystem leave the database (a superset of the exact
        # test below, which still decides): the page does not decode every device's JSON.
        stmt = stmt.where(Heartbeat.filesystems.op("@?")(
            sa.cast(f"$[*] ? (@.used_percent >= {float(threshold)})", JSONPATH)))
    rows = []
    for device_id, name, hostname, filesystems, reported in db.session.execute(stmt):
        for fs in filesystems or []:
            used = fs.get("used_percent")
            if isinstance(used, int | float) and used >= threshold:
                rows.append(DiskRow(device_id, name or hostname, str(fs.get("mount")), float(used),
                                    fs.get("size_gb"), reported))
    return sorted(rows, key=lambda r: (-r.used_percent, r.device_label, r.mount))


def offline_devices(org_id: int, limit: int = LIST_LIMIT, now: datetime | None = None) -> tuple[list[Device], int]:
    """Enrolled devices without a recent heartbeat, longest silent first, and how many there are."""
    cutoff = online_cutoff(now)
    silent = sa.and_(Device.org_id == org_id, Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
                     Device.status.not_in(("suspended", "decommissioned")),
                     sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < cutoff))
    total = db.session.scalar(sa.select(sa.func.count(Device.id)).where(silent)) or 0
    rows = db.session.scalars(sa.select(Device).where(silent)
                              .order_by(Device.last_seen_at.asc().nulls_first(), Device.id).limit(limit)).all()
    return list(rows), total


def recent_alerts(org_id: int, limit: int = LIST_LIMIT, domains: list[str] | None = None) -> list[Alert]:
    """Active alerts (of these domains, or all), critical first, then newest."""
    severity_rank = sa.case({"critical": 0, "warning": 1}, value=Alert.severity, else_=2)
    scope = [Alert.domain.in_(domains)] if domains is not None else []
    return list(db.session.scalars(
        sa.select(Alert).where(Alert.org_id == org_id, Alert.status.in_(ACTIVE_ALERT_STATUSES), *scope)
        .order_by(severity_rank, Alert.fired_at.desc()).limit(limit)))


def scanner_health(rows: list[ScannerRow], now: datetime | None = None) -> list[ScannerHealth]:
    """Each scanner with what is wrong with it (offline, no stats, stale feed, critical findings)."""
    now = now or utcnow()
    cutoff = online_cutoff(now)
    stale_hours = get_setting("fleet.feed_stale_hours")
    health = []
    for row in rows:
        online = row.last_seen is not None and row.last_seen >= cutoff
        age = (now - row.feed_updated_at).total_seconds() / 3600 if row.feed_updated_at else None
        stale = age is not None and age >= stale_hours
        problems = tuple(p for p, bad in (
            ("offline", not online), ("no scanner stats", row.scans_running is None),
            (f"feed {age:.0f} h old" if age is not None else "", stale),
            (f"{row.vulns_critical} critical" if row.vulns_critical else "", bool(row.vulns_critical))) if bad)
        health.append(ScannerHealth(row, online, age, stale, problems))
    return sorted(health, key=lambda h: (not h.problems, h.row.device_name.lower()))


def scanner_totals(org_id: int) -> tuple[int, int, int]:
    """Live scanners, their running scans and their queued tasks (newest stats each), in one query."""
    stats = aliased(ScannerStats)
    total, running, queued = db.session.execute(
        sa.select(sa.func.count(Device.id), sa.func.coalesce(sa.func.sum(stats.scans_running), 0),
                  sa.func.coalesce(sa.func.sum(stats.scans_queued), 0))
        .select_from(Device).outerjoin(stats, stats.id == latest_stats_id(Device.id))
        .where(Device.org_id == org_id, Device.device_type == "scanner", Device.deleted_at.is_(None))).one()
    return int(total), int(running), int(queued)


def scanners_needing_attention(org_id: int, limit: int = LIST_LIMIT, now: datetime | None = None) -> list[ScannerRow]:
    """The first `limit` scanners in scanner_health's order (those with a problem first, then by
    name), chosen in SQL so the dashboard reads `limit` rows whatever the fleet's size."""
    now = now or utcnow()
    stale = now - timedelta(hours=get_setting("fleet.feed_stale_hours"))
    stmt, stats = scanner_select(org_id)
    # The same problems scanner_health names: offline, no stats, stale feed, critical findings.
    problem = sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < online_cutoff(now), stats.id.is_(None),
                     stats.feed_updated_at <= stale, stats.vulns_critical > 0)
    label = sa.func.lower(sa.func.coalesce(sa.func.nullif(Device.device_name, ""), Device.hostname))
    stmt = stmt.order_by(sa.case((problem, 0), else_=1), label, Device.id).limit(limit)
    return [scanner_row(r) for r in db.session.execute(stmt)]


def fleet_kpis(org_id: int, totals: tuple[int, int, int] | None = None,
               disks: list[DiskRow] | None = None) -> dict[str, Any]:
    """The seed's eight KPIs. `totals` (scanner_totals) and `disks` reuse what the page already loaded."""
    counts = online_counts(org_id)
    _, running, queued = scanner_totals(org_id) if totals is None else totals
    disks = critical_disks(org_id) if disks is None else disks
    critical = db.session.scalar(sa.select(sa.func.count(Alert.id)).where(
        Alert.org_id == org_id, Alert.severity == "critical", Alert.status.in_(ACTIVE_ALERT_STATUSES))) or 0
    return {
        "devices_online": counts["online"], "devices_total": counts["total"],
        "scanners_online": counts["scanners_online"], "servers_online": counts["servers_online"],
        "critical_alerts": critical,
        "running_scans": running,
        "failed_backups_24h": failed_backups_24h(org_id),
        "scanner_tasks_queued": queued,
        "critical_disks": len(disks),
    }


def dashboard(org_id: int) -> dict[str, Any]:
    """Everything the dashboard page shows, in a fixed number of queries, each reading a
    bounded number of rows except the per-device probes done inside the database."""
    totals = scanner_totals(org_id)
    disks = critical_disks(org_id)
    offline, offline_total = offline_devices(org_id)
    return {"kpis": fleet_kpis(org_id, totals, disks), "alerts": recent_alerts(org_id),
            "offline": offline, "offline_total": offline_total, "disks": disks[:LIST_LIMIT],
            "disks_total": len(disks), "scanners": scanner_health(scanners_needing_attention(org_id)),
            "scanners_total": totals[0],
            "disk_threshold": get_setting("fleet.critical_disk_percent"), "now": utcnow()}


def latest_scanner_details(device_ids: list[int]) -> dict[int, Any]:
    """Each scanner's newest scanner_stats row (the columns scanner_summary leaves out), in one query."""
    if not device_ids:
        return {}
    stmt = (sa.select(ScannerStats).join(Device, ScannerStats.id == latest_stats_id(Device.id))
            .where(Device.id.in_(device_ids)))
    return {s.device_id: s for s in db.session.scalars(stmt)}
