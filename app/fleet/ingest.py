"""Heartbeat ingestion: validate the agent's payload, then store the heartbeat and update
last_seen_at, service_status, docker_containers, scanner_stats and metrics_rollup.

Validation happens entirely before the first write, so a bad payload stores nothing.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.alerting import events
from app.core.hygiene import BIGINT_MAX
from app.fleet.payload import Checker
from app.models import (
    Device,
    DockerContainer,
    Heartbeat,
    MetricRollup,
    ScannerStats,
    ServiceStatus,
    db,
    utcnow,
)
from app.models.fleet import CONTAINER_STATUSES, SERVICE_STATUSES

BUCKET_SECONDS = 300
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(hours=24)
SCANNER_COUNTS = ("tasks_total", "scans_running", "scans_queued", "scans_completed_24h", "nvt_count",
                  "vulns_critical", "vulns_high", "vulns_medium", "vulns_low")


MAX_TOP_VULNS = 50
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,7}$")


class Ingested(NamedTuple):
    heartbeat: Heartbeat
    duplicate: bool  # the device already had a heartbeat at this timestamp: nothing was written


class PayloadError(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__("The heartbeat payload is not valid.")
        self.fields = fields


def bucket_start(ts: datetime) -> datetime:
    """The start of the 5-minute bucket holding `ts`."""
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % BUCKET_SECONDS, UTC)


def top_vulns(c: Checker, stats: dict) -> list[dict[str, Any]]:
    """The scanner's top vulnerabilities (seed: cve, severity as CVSS, affected_hosts, title), each checked."""
    top = stats.get("top_vulns") or []
    if not isinstance(top, list) or len(top) > MAX_TOP_VULNS or not all(isinstance(v, dict) for v in top):
        c.errors["scanner_stats.top_vulns"] = f"a list of at most {MAX_TOP_VULNS} objects"
        return []
    clean = []
    for i, vuln in enumerate(top):
        path = f"scanner_stats.top_vulns[{i}]"
        cve = c.text(vuln, "cve", f"{path}.cve", 50, required=True)
        if cve is not None and not CVE_ID.match(cve):
            c.errors[f"{path}.cve"] = "a CVE id like CVE-2024-1234"
        clean.append({"cve": cve, "severity": c.number(vuln, "severity", f"{path}.severity", 0, 10),
                      "affected_hosts": c.number(vuln, "affected_hosts", f"{path}.affected_hosts", whole=True),
                      "title": c.text(vuln, "title", f"{path}.title", 500)})
    return clean


def validate(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The clean heartbeat, or PayloadError with every field error found."""
    c = Checker()
    clean: dict[str, Any] = {}
    ts = c.when(data, "timestamp", "timestamp") or now
    if ts > now + MAX_CLOCK_SKEW or ts < now - MAX_AGE:
        c.errors["timestamp"] = "within 24 hours before and 5 minutes after the server's time"
    clean["timestamp"] = ts
    clean["uptime_seconds"] = c.number(data, "uptime_seconds", "uptime_seconds", high=BIGINT_MAX, whole=True)
    clean["cpu"] = c.number(data, "cpu_percent", "cpu_percent", 0, 100, required=True)
    clean["ram"] = c.number(data, "ram_percent", "ram_percent", 0, 100, required=True)
    clean["ram_used_gb"] = c.number(data, "ram_used_gb", "ram_used_gb")
    clean["ram_total_gb"] = c.number(data, "ram_total_gb", "ram_total_gb")
    clean["load_1m"] = c.number(data, "load_1m", "load_1m")
    local_ip = data.get("local_ip")
    if local_ip is not None:
        try:
            clean["local_ip"] = str(ipaddress.ip_address(local_ip))
        except ValueError:
            c.errors["local_ip"] = "an IPv4 or IPv6 address"
    clean["failed_logins"] = c.number(data, "failed_login_count_24h", "failed_login_count_24h", whole=True) or 0
    network = data.get("network") or {}
    if not isinstance(network, dict):
        c.errors["network"] = "an object"
        network = {}
    clean["net_rx"] = c.number(network, "rx_bytes_per_sec", "network.rx_bytes_per_sec", high=BIGINT_MAX, whole=True)
    clean["net_tx"] = c.number(network, "tx_bytes_per_sec", "network.tx_bytes_per_sec", high=BIGINT_MAX, whole=True)

    filesystems = []
    for i, fs in enumerate(c.items(data, "filesystems")):
        mount = c.text(fs, "mount", f"filesystems[{i}].mount", 255, required=True)
        used = c.number(fs, "used_percent", f"filesystems[{i}].used_percent", 0, 100, required=True)
        filesystems.append({"mount": mount, "used_percent": used,
                            "size_gb": c.number(fs, "size_gb", f"filesystems[{i}].size_gb"),
                            "used_gb": c.number(fs, "used_gb", f"filesystems[{i}].used_gb")})
    clean["filesystems"] = filesystems
    clean["disk_root"] = next((f["used_percent"] for f in filesystems if f["mount"] == "/"), None)

    services = []
    for i, svc in enumerate(c.items(data, "services")):
        name = c.text(svc, "name", f"services[{i}].name", 100, required=True)
        status = svc.get("status")
        if status not in SERVICE_STATUSES:
            c.errors[f"services[{i}].status"] = "one of " + ", ".join(SERVICE_STATUSES)
        enabled = svc.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            c.errors[f"services[{i}].enabled"] = "true or false"
        services.append({"name": name, "status": status, "enabled": enabled,
                         "pid": c.number(svc, "pid", f"services[{i}].pid", whole=True),
                         "memory_mb": c.number(svc, "memory_mb", f"services[{i}].memory_mb", whole=True)})
    if len({s["name"] for s in services}) != len(services):
        c.errors["services"] = "each service name at most once"
    clean["services"] = services

    containers = []
    for i, ct in enumerate(c.items(data, "containers")):
        name = c.text(ct, "name", f"containers[{i}].name", 255, required=True)
        status = ct.get("status")
        if status not in CONTAINER_STATUSES:
            c.errors[f"containers[{i}].status"] = "one of " + ", ".join(CONTAINER_STATUSES)
        image = c.text(ct, "image", f"containers[{i}].image", 355) or ""
        image_name, _, image_tag = image.partition(":")
        containers.append({
            "name": name, "status": status, "container_id": c.text(ct, "id", f"containers[{i}].id", 64) or "",
            "image_name": image_name or None, "image_tag": image_tag[:100] or None,
            "restart_count": c.number(ct, "restarts", f"containers[{i}].restarts", whole=True) or 0,
            "cpu_percent": c.number(ct, "cpu_percent", f"containers[{i}].cpu_percent"),
            "mem_mb": c.number(ct, "mem_mb", f"containers[{i}].mem_mb", whole=True),
            "started_at": c.when(ct, "started_at", f"containers[{i}].started_at"),
        })
    if len({ct["name"] for ct in containers}) != len(containers):
        c.errors["containers"] = "each container name at most once"
    clean["containers"] = containers

    stats = data.get("scanner_stats")
    if stats is not None and not isinstance(stats, dict):
        c.errors["scanner_stats"] = "an object"
        stats = None
    if stats is not None:
        scanner: dict[str, Any] = {k: c.number(stats, k, f"scanner_stats.{k}", whole=True) for k in SCANNER_COUNTS}
        scanner["feed_updated_at"] = c.when(stats, "feed_updated_at", "scanner_stats.feed_updated_at")
        scanner["last_scan_at"] = c.when(stats, "last_scan_at", "scanner_stats.last_scan_at")
        scanner["top_vulns"] = top_vulns(c, stats)
        clean["scanner_stats"] = scanner
    if c.errors:
        raise PayloadError(c.errors)
    return clean


def _upsert(model: type, values: list[dict[str, Any]], keys: list[str], update: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE on PostgreSQL and SQLite alike."""
    if not values:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(values)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update(stmt.excluded) if callable(update) else update)
    db.session.execute(stmt)


def update_rollups(device_id: int, ts: datetime, samples: dict[str, float]) -> None:
    """Fold one sample per metric into its 5-minute bucket: running average, max, count."""
    table = MetricRollup.__table__
    bucket = bucket_start(ts)
    now = utcnow()
    rows = [{"device_id": device_id, "bucket_start": bucket, "metric": name, "avg_value": float(value),
             "max_value": float(value), "sample_count": 1, "created_at": now}
            for name, value in sorted(samples.items()) if value is not None]

    def merged(excluded):
        return {
            "avg_value": (table.c.avg_value * table.c.sample_count + excluded.avg_value) / (table.c.sample_count + 1),
            "max_value": sa.case((excluded.max_value > table.c.max_value, excluded.max_value),
                                 else_=table.c.max_value),
            "sample_count": table.c.sample_count + 1,
        }

    _upsert(MetricRollup, rows, ["device_id", "bucket_start", "metric"], merged)


def update_services(device_id: int, services: list[dict[str, Any]], now: datetime) -> list[tuple[str, str | None, str]]:
    """Upsert each service; status_changed_at moves only when the status changes. Returns the changes."""
    existing = {s.service_name: s for s in db.session.scalars(
        sa.select(ServiceStatus).where(ServiceStatus.device_id == device_id))}
    changes = []
    for svc in services:
        row = existing.get(svc["name"])
        if row is None:
            row = ServiceStatus(device_id=device_id, service_name=svc["name"], status=svc["status"],
                                status_changed_at=now)
            db.session.add(row)
            changes.append((svc["name"], None, svc["status"]))
        elif row.status != svc["status"]:
            changes.append((svc["name"], row.status, svc["status"]))
            row.status, row.status_changed_at = svc["status"], now
        row.enabled, row.pid, row.memory_mb, row.checked_at = svc["enabled"], svc["pid"], svc["memory_mb"], now
    return changes


def update_containers(device_id: int, containers: list[dict[str, Any]], now: datetime) -> None:
    existing = {c.container_name: c for c in db.session.scalars(
        sa.select(DockerContainer).where(DockerContainer.device_id == device_id))}
    for ct in containers:
        row = existing.get(ct["name"])
        if row is None:
            row = DockerContainer(device_id=device_id, container_name=ct["name"])
            db.session.add(row)
        row.container_id, row.image_name, row.image_tag = ct["container_id"], ct["image_name"], ct["image_tag"]
        row.status, row.restart_count = ct["status"], ct["restart_count"]
        row.cpu_percent, row.mem_mb, row.started_at, row.last_seen_at = (
            ct["cpu_percent"], ct["mem_mb"], ct["started_at"], now)


def ingest(device: Device, data: dict[str, Any], ip: str | None = None, *,
           clean: dict[str, Any] | None = None, now: datetime | None = None) -> Ingested:
    """Validate and store one heartbeat of `device` (raises PayloadError before any write).
    `ip` is the address the heartbeat came from: the device's public IP as Vigil sees it.
    `clean` and `now`: the payload already validated (by validate() at `now`), not again.

    A heartbeat whose timestamp the device already sent (an agent retrying after a lost
    answer, or a replay) is stored once: the first one stands and nothing is written.
    The caller holds the device row's lock, so two copies arriving together are one."""
    if clean is None or now is None:
        now = utcnow()
        clean = validate(data, now)
    ts = clean["timestamp"]
    earlier = db.session.scalar(sa.select(Heartbeat).where(Heartbeat.device_id == device.id,
                                                           Heartbeat.timestamp == ts).limit(1))
    if earlier is not None:
        return Ingested(earlier, True)
    heartbeat = Heartbeat(
        device_id=device.id, timestamp=ts, received_at=now, uptime_seconds=clean["uptime_seconds"],
        cpu_usage_percent=clean["cpu"], ram_usage_percent=clean["ram"], ram_used_gb=clean["ram_used_gb"],
        ram_total_gb=clean["ram_total_gb"], disk_root_percent=clean["disk_root"], load_1m=clean["load_1m"],
        network_rx_bytes_per_sec=clean["net_rx"], network_tx_bytes_per_sec=clean["net_tx"],
        filesystems=clean["filesystems"], failed_login_count_24h=clean["failed_logins"], payload=data,
    )
    db.session.add(heartbeat)
    # Liveness is the server's clock (when the heartbeat arrived), never the agent's.
    device.last_seen_at = now
    if clean.get("local_ip") and device.local_ip != clean["local_ip"]:
        device.local_ip = clean["local_ip"]
    if ip and device.public_ip != ip:
        device.public_ip = ip
    if clean["uptime_seconds"] is not None:
        device.uptime_seconds = clean["uptime_seconds"]
    came_back = device.status if device.status in ("pending", "offline") else None
    if came_back:
        device.status = "active"
    if clean["containers"]:
        device.docker_present = True
    changes = update_services(device.id, clean["services"], now)
    update_containers(device.id, clean["containers"], now)
    if "scanner_stats" in clean:
        stats = {k: v for k, v in clean["scanner_stats"].items() if v is not None}
        _upsert(ScannerStats, [{"device_id": device.id, "collected_at": ts, **stats}],
                ["device_id", "collected_at"], lambda excluded: {k: getattr(excluded, k) for k in stats})
    update_rollups(device.id, ts, {"cpu": clean["cpu"], "ram": clean["ram"], "disk_root": clean["disk_root"],
                                   "load_1m": clean["load_1m"], "net_rx": clean["net_rx"], "net_tx": clean["net_tx"]})
    # A heartbeat is telemetry: its own row is the record. Only a change of state (the
    # device coming back, a service changing) is audited, so ingest does not serialise on
    # the audit chain's lock once per heartbeat.
    if came_back or changes:
        audit.record("device.state_changed", resource_type="device", resource_id=device.id, org_id=device.org_id,
                     actor_type="agent", actor_label=f"agent {device.hostname}",
                     old={"status": came_back} if came_back else None,
                     new={"status": "active"} if came_back else None,
                     details={"timestamp": ts.isoformat(),
                              "service_changes": [{"service": n, "from": o, "to": s} for n, o, s in changes]})
    # Alert rules (subscribed in app/fleet/alert_rules.py) see the same clean numbers; an
    # alert opening or resolving is audited there.
    events.publish("fleet.heartbeat_stored", device=device, clean=clean, now=now, came_back=came_back == "offline")
    return Ingested(heartbeat, False)
