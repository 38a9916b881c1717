"""The seed's two views as query functions: devices_online and scanner_summary.

Vigil keeps every heartbeat, so "the last heartbeat" is the device's last_seen_at (the
server's receive time, the same clock the online badge uses). Both take an organization
id (None: every organization, for platform-wide use) and return plain rows that pages,
the dashboard and jobs can share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.core.settings_registry import get_setting
from app.models import Device, Organization, ScannerStats, db, utcnow


def online_cutoff(now: datetime | None = None) -> datetime:
    """A device is online when its last heartbeat is newer than this (`fleet.online_minutes` ago)."""
    return (now or utcnow()) - timedelta(minutes=get_setting("fleet.online_minutes"))


@dataclass(frozen=True)
class OnlineRow:
    device: Device
    last_heartbeat: datetime | None
    is_online: bool
    seconds_since_heartbeat: float | None


@dataclass(frozen=True)
class ScannerRow:
    device_id: int
    device_name: str
    org_id: int
    org_name: str
    status: str
    last_seen: datetime | None
    scans_running: int | None
    scans_queued: int | None
    vulns_critical: int | None
    vulns_high: int | None
    feed_updated_at: datetime | None


def devices_online(org_id: int | None, now: datetime | None = None) -> list[OnlineRow]:
    """Every live device with its last heartbeat, whether it is online and how long it has been quiet."""
    now = now or utcnow()
    cutoff = online_cutoff(now)
    stmt = sa.select(Device).where(Device.deleted_at.is_(None)).order_by(Device.device_name, Device.id)
    if org_id is not None:
        stmt = stmt.where(Device.org_id == org_id)
    return [OnlineRow(d, d.last_seen_at, d.last_seen_at is not None and d.last_seen_at >= cutoff,
                      (now - d.last_seen_at).total_seconds() if d.last_seen_at else None)
            for d in db.session.scalars(stmt)]


def online_counts(org_id: int | None, now: datetime | None = None) -> dict[str, int]:
    """Online and total devices, by type: {"online", "total", "scanners_online", "servers_online"}."""
    cutoff = online_cutoff(now)
    online = Device.last_seen_at >= cutoff
    stmt = sa.select(
        sa.func.count(Device.id),
        sa.func.count(Device.id).filter(online),
        sa.func.count(Device.id).filter(online, Device.device_type == "scanner"),
        sa.func.count(Device.id).filter(online, Device.device_type == "server"),
    ).where(Device.deleted_at.is_(None))
    if org_id is not None:
        stmt = stmt.where(Device.org_id == org_id)
    total, up, scanners, servers = db.session.execute(stmt).one()
    return {"total": total, "online": up, "scanners_online": scanners, "servers_online": servers}


def latest_stats_id(device_id_column) -> sa.ScalarSelect:
    """The id of a device's newest scanner_stats row, as a correlated subquery.

    The seed's LATERAL ... LIMIT 1, in a form SQLite runs too; on PostgreSQL each device
    is one backward probe of the (device_id, collected_at) unique index.
    """
    return (sa.select(ScannerStats.id).where(ScannerStats.device_id == device_id_column)
            .order_by(ScannerStats.collected_at.desc()).limit(1).correlate_except(ScannerStats).scalar_subquery())


def scanner_select(org_id: int | None) -> tuple[sa.Select, Any]:
    """Live scanners as plain columns (a ScannerRow each, see scanner_row) joined to their newest
    scanner_stats, unordered; also the stats alias, for callers that filter or order by it."""
    stats = aliased(ScannerStats)
    label = sa.func.coalesce(sa.func.nullif(Device.device_name, ""), Device.hostname)
    stmt = (sa.select(Device.id, label.label("label"), Device.org_id, Organization.name.label("org_name"),
                      Device.status, Device.last_seen_at, stats.scans_running, stats.scans_queued,
                      stats.vulns_critical, stats.vulns_high, stats.feed_updated_at)
            .join(Organization, Organization.id == Device.org_id)
            .outerjoin(stats, stats.id == latest_stats_id(Device.id))
            .where(Device.device_type == "scanner", Device.deleted_at.is_(None)))
    if org_id is not None:
        stmt = stmt.where(Device.org_id == org_id)
    return stmt, stats


def scanner_row(r: Any) -> ScannerRow:
    """One row of scanner_select as a ScannerRow."""
    return ScannerRow(r.id, r.label, r.org_id, r.org_name, r.status, r.last_seen_at, r.scans_running, r.scans_queued,
                      r.vulns_critical, r.vulns_high, r.feed_updated_at)


def scanner_summary(org_id: int | None) -> list[ScannerRow]:
    """Each live scanner with its organization and its newest scanner_stats (None when it never sent any)."""
    stmt, _ = scanner_select(org_id)
    return [scanner_row(r) for r in db.session.execute(stmt.order_by(Device.device_name, Device.id))]
