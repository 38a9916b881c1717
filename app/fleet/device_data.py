"""What each tab of the device page shows, and the metric series behind its charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.core.templating import wall_clock_ms
from app.models import (
    AuditLog,
    Device,
    DockerContainer,
    Heartbeat,
    MetricRollup,
    ScannerStats,
    ServiceStatus,
    db,
    utcnow,
)
from app.models.fleet import ROLLUP_METRICS

# Range -> (how far back, chart bucket in seconds). 7 days of 5-minute buckets would be
# 2,016 points a metric; hourly buckets keep the chart readable and the answer small.
RANGES = {"1h": (timedelta(hours=1), 300), "24h": (timedelta(hours=24), 300), "7d": (timedelta(days=7), 3600)}
AUDIT_LIMIT = 100
TOP_CVES = 10


def latest_heartbeat(device: Device) -> Heartbeat | None:
    return db.session.scalar(sa.select(Heartbeat).where(Heartbeat.device_id == device.id)
                             .order_by(Heartbeat.timestamp.desc()).limit(1))


def latest_scanner_stats(device: Device) -> ScannerStats | None:
    return db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == device.id)
                             .order_by(ScannerStats.collected_at.desc()).limit(1))


def device_services(device: Device) -> list[ServiceStatus]:
    return list(db.session.scalars(sa.select(ServiceStatus).where(ServiceStatus.device_id == device.id)
                                   .order_by(ServiceStatus.service_name)))


def device_containers(device: Device) -> list[DockerContainer]:
    return list(db.session.scalars(sa.select(DockerContainer).where(DockerContainer.device_id == device.id)
                                   .order_by(DockerContainer.container_name)))


def top_cves(stats: ScannerStats | None, limit: int = TOP_CVES) -> list[dict[str, Any]]:
    """The scanner's reported top vulnerabilities, worst CVSS first, then most hosts."""
    vulns = [v for v in (stats.top_vulns if stats else []) or [] if isinstance(v, dict) and v.get("cve")]
    return sorted(vulns, key=lambda v: (-(v.get("severity") or 0), -(v.get("affected_hosts") or 0), v["cve"]))[:limit]


def severity_label(cvss: float | None) -> str:
    """CVSS v3 qualitative rating."""
    if cvss is None:
        return "unknown"
    return "critical" if cvss >= 9 else "high" if cvss >= 7 else "medium" if cvss >= 4 else "low" if cvss > 0 else "none"


def device_audit(device: Device, limit: int = AUDIT_LIMIT) -> list[AuditLog]:
    """The device's own audit rows (created, edited, state changes, keys), newest first."""
    return list(db.session.scalars(
        sa.select(AuditLog).where(AuditLog.org_id == device.org_id, AuditLog.resource_type == "device",
                                  AuditLog.resource_id == str(device.id))
        .order_by(AuditLog.id.desc()).limit(limit)))


def metric_series(device: Device, range_key: str, now: datetime | None = None) -> dict[str, Any]:
    """Each rollup metric over the range as [{t, wall_ms, avg, max}], regrouped into the range's chart bucket."""
    since, bucket = RANGES[range_key]
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(MetricRollup.bucket_start, MetricRollup.metric, MetricRollup.avg_value, MetricRollup.max_value,
                  MetricRollup.sample_count)
        .where(MetricRollup.device_id == device.id, MetricRollup.bucket_start >= now - since)
        .order_by(MetricRollup.bucket_start))
    # Per metric and chart bucket: sum of avg*count, count, max (a sample-weighted average).
    acc: dict[str, dict[int, list[float]]] = {m: {} for m in ROLLUP_METRICS}
    for start, metric, avg, peak, count in rows:
        epoch = int(start.timestamp())
        slot = acc.setdefault(metric, {}).setdefault(epoch - epoch % bucket, [0.0, 0, peak])
        slot[0] += avg * count
        slot[1] += count
        slot[2] = max(slot[2], peak)
    series = {
        # `wall_ms`: the chart's x, the user's wall-clock time (their profile zone, not the browser's).
        metric: [{"t": datetime.fromtimestamp(epoch, UTC).isoformat(),
                  "wall_ms": wall_clock_ms(datetime.fromtimestamp(epoch, UTC)), "avg": round(total / count, 2),
                  "max": round(peak, 2)} for epoch, (total, count, peak) in sorted(slots.items()) if count]
        for metric, slots in acc.items()
    }
    return {"device_id": device.id, "range": range_key, "bucket_seconds": bucket,
            "since": (now - since).isoformat(), "series": series}
