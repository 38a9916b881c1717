"""The fleet health report: availability per device, alerts, backups and restore tests,
scanner findings.

Availability is the share of the device's 5-minute metric buckets (app/fleet/ingest.py)
that hold a heartbeat, counted from enrolment (or the period's start) to the period's end.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.fleet.ingest import BUCKET_SECONDS
from app.models import Alert, BackupSnapshot, Device, MetricRollup, ScannerStats, db, utcnow
from app.models.fleet import ROLLUP_METRICS
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart


def _availability(org_id: int, period: Period) -> list[list[Any]]:
    devices = list(db.session.scalars(sa.select(Device).where(Device.org_id == org_id, Device.deleted_at.is_(None))
                                      .order_by(Device.hostname)))
    counts = dict(db.session.execute(
        sa.select(MetricRollup.device_id, sa.func.count(MetricRollup.id))
        .join(Device, Device.id == MetricRollup.device_id)
        .where(Device.org_id == org_id, MetricRollup.metric == ROLLUP_METRICS[0],
               MetricRollup.bucket_start >= period.start, MetricRollup.bucket_start < period.end)
        .group_by(MetricRollup.device_id)).all())
    end = min(period.end, utcnow())
    rows = []
    for d in devices:
        start = max(period.start, d.enrolled_at or period.start)
        expected = max(int((end - start).total_seconds() // BUCKET_SECONDS), 0)
        seen = counts.get(d.id, 0)
        percent = round(min(100.0, 100.0 * seen / expected), 2) if expected else None
        rows.append([d.hostname, d.device_type, d.status, percent, d.last_seen_at])
    return rows


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    availability = Table(["Device", "Type", "Status", "Availability %", "Last seen"], _availability(org_id, period))
    alerts = Table(["Fired", "Device", "Severity", "Alert", "Status"], [
        [a.fired_at, a.target_label, a.severity, a.message, a.status]
        for a in db.session.scalars(sa.select(Alert).where(
            Alert.org_id == org_id, Alert.domain == "fleet", Alert.fired_at >= period.start,
            Alert.fired_at < period.end).order_by(Alert.fired_at))])
    backups = Table(["Started", "Device", "Type", "Status", "Size (MB)", "Restore test"], [
        [b.started_at, b.device.hostname, b.backup_type, b.status,
         round((b.size_bytes or 0) / 1e6, 1), b.restore_result or ("not tested" if not b.restore_tested else "tested")]
        for b in db.session.scalars(sa.select(BackupSnapshot).where(
            BackupSnapshot.org_id == org_id, BackupSnapshot.started_at >= period.start,
            BackupSnapshot.started_at < period.end).order_by(BackupSnapshot.started_at))])
    latest_scan = (sa.select(ScannerStats.device_id, sa.func.max(ScannerStats.id).label("id"))
                   .join(Device, Device.id == ScannerStats.device_id).where(Device.org_id == org_id)
                   .group_by(ScannerStats.device_id).subquery())
    scanners = Table(["Scanner", "Critical", "High", "Medium", "Low", "Last scan"], [
        [d.hostname, s.vulns_critical, s.vulns_high, s.vulns_medium, s.vulns_low, s.last_scan_at]
        for s, d in db.session.execute(sa.select(ScannerStats, Device).join(latest_scan, latest_scan.c.id == ScannerStats.id)
                                       .join(Device, Device.id == ScannerStats.device_id))])
    measured = [r[3] for r in availability.rows if r[3] is not None]
    failed = sum(1 for r in backups.rows if r[3] == "failed")
    context = {
        "device_count": len(availability.rows),
        "mean_availability": round(sum(measured) / len(measured), 2) if measured else None,
        "backup_count": len(backups.rows), "backup_failed": failed,
        "alert_count": len(alerts.rows),
        "availability_svg": bar_chart([(r[0], r[3]) for r in availability.rows if r[3] is not None][:30],
                                      title="Availability per device (%)") if measured else None,
    }
    return ReportContent("fleet.html", context, {"availability": availability, "alerts": alerts,
                                                 "backups": backups, "scanner_findings": scanners})


register_report("fleet", "Fleet health report", "data.read", build)
