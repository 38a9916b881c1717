"""Demo fleet for seed-demo: a subscription, scanners and servers per demo organization,
enrolled through the real services, with history drawn from the simulator's fake hosts.

The older history (rollups for DEMO_HISTORY_HOURS, one heartbeat per 5 minutes) is written
in bulk; the last DEMO_LIVE_MINUTES go through the real ingest, so the alert engine opens
what the numbers warrant (a CPU spike, a full disk, a failed service, critical findings).
Then one device falls silent and the real offline job and absence rules run; backups, a
failed one included, are reported through the real backup service; commands are issued and
reported through the command service. Everything is audited by the services themselves.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from app.fleet import alert_rules, backups, commands, facts, ingest, offline, services
from app.fleet.ingest import bucket_start
from app.models import (
    Device,
    Heartbeat,
    MetricRollup,
    Organization,
    ScannerStats,
    Site,
    Subscription,
    User,
    db,
    utcnow,
)
from vigil_agent.runner import new_wireguard_key
from vigil_agent.simulate import FakeHost

DEMO_HISTORY_HOURS = 24
DEMO_MARK = "demo"  # custom_fields key: "simulated" devices are kept alive by fleet.demo_heartbeats, "silent" not
DEMO_LIVE_MINUTES = 12
# (name, type, site slug, tags, what happens to it)
DEMO_DEVICES = {
    "northwind": [("nw-scan-01", "scanner", "hq", ["pci"], None),
                  ("nw-scan-02", "scanner", "dc1", [], None),
                  ("nw-srv-01", "server", "dc1", ["backup"], "cpu_spike"),
                  ("nw-srv-02", "server", "hq", ["backup"], None)],
    "globex": [("gx-scan-01", "scanner", "main", ["customer"], None),
               ("gx-scan-02", "scanner", "lab", ["customer"], "offline"),
               ("gx-srv-01", "server", "main", ["backup"], "disk_full"),
               ("gx-srv-02", "server", "lab", ["backup"], "backup_failed")],
}
PLANS = {"northwind": ("MSP internal", "enterprise", "yearly", 0, 25, None),
         "globex": ("Managed scanning Pro", "professional", "monthly", 49900, 10, 400)}
TOP_VULNS = [{"cve": "CVE-2024-3400", "severity": 10.0, "affected_hosts": 2, "title": "PAN-OS GlobalProtect command injection"},
             {"cve": "CVE-2023-4966", "severity": 9.4, "affected_hosts": 3, "title": "Citrix Bleed session token leak"},
             {"cve": "CVE-2024-6387", "severity": 8.1, "affected_hosts": 7, "title": "OpenSSH regreSSHion"},
             {"cve": "CVE-2023-44487", "severity": 7.5, "affected_hosts": 11, "title": "HTTP/2 rapid reset"}]


def _admin(org: Organization) -> User | None:
    return db.session.scalar(sa.select(User).where(User.org_id == org.id, User.role == "admin"))


def _subscription(org: Organization) -> None:
    plan, tier, cycle, price, devices, scans = PLANS[org.slug]
    today = date.today()
    db.session.add(Subscription(org_id=org.id, plan_name=plan, plan_tier=tier, billing_cycle=cycle,
                                price_cents=price, currency="AUD", start_date=today - timedelta(days=120),
                                next_payment_date=today + timedelta(days=12), status="active",
                                payment_status="paid", max_devices=devices, max_scans_per_month=scans))


def _enrol(org: Organization, name: str, kind: str, site_id: int | None, tags: list[str], host) -> Any:
    device, code = services.create_device(org.id, name=name, device_type=kind, site_id=site_id, tags=tags,
                                          actor_label="seed-demo")
    device.custom_fields = {DEMO_MARK: "simulated"}
    services.enrol({"claim_code": code, "hostname": name, "wireguard_public_key": new_wireguard_key()[1],
                    "facts": host.facts()}, "127.0.0.1")
    return device


def _history(device, host, start, end) -> None:
    """Bulk rollups (5-minute buckets of five 1-minute samples) and one heartbeat per bucket."""
    rollups: list[dict[str, Any]] = []
    beats: list[dict[str, Any]] = []
    bucket = bucket_start(start)
    while bucket < end:
        samples: dict[str, list[float]] = {}
        for _ in range(5):
            beat = host.heartbeat()
            disk_root = next(f["used_percent"] for f in beat["filesystems"] if f["mount"] == "/")
            for metric, value in (("cpu", beat["cpu_percent"]), ("ram", beat["ram_percent"]), ("disk_root", disk_root),
                                  ("load_1m", beat["load_1m"]), ("net_rx", beat["network"]["rx_bytes_per_sec"]),
                                  ("net_tx", beat["network"]["tx_bytes_per_sec"])):
                samples.setdefault(metric, []).append(float(value))
        for metric, values in samples.items():
            rollups.append({"device_id": device.id, "bucket_start": bucket, "metric": metric,
                            "avg_value": sum(values) / len(values), "max_value": max(values), "sample_count": 5})
        beats.append({"device_id": device.id, "timestamp": bucket, "received_at": bucket,
                      "cpu_usage_percent": samples["cpu"][-1], "ram_usage_percent": samples["ram"][-1],
                      "disk_root_percent": samples["disk_root"][-1], "load_1m": samples["load_1m"][-1],
                      "filesystems": beat["filesystems"], "uptime_seconds": beat["uptime_seconds"], "payload": {}})
        bucket += timedelta(minutes=5)
    db.session.execute(sa.insert(MetricRollup), rollups)
    db.session.execute(sa.insert(Heartbeat), beats)


def _live(device, host, start, minutes: int, event: str | None) -> None:
    """The last minutes through the real ingest (and so the alert engine), one heartbeat a minute."""
    for minute in range(minutes):
        if event == "cpu_spike" and minute == 2:
            host.cpu, host.spike = max(host.cpu, 35.0), minutes  # above 90 % for the rest of the run
        if event == "disk_full" and minute == 0:
            host.disks["/var"] = 93.5
        if event == "disk_full" and minute == 3:
            host.failing["nginx"] = minutes
        beat = host.heartbeat()
        beat["timestamp"] = (start + timedelta(minutes=minute)).isoformat()
        if "scanner_stats" in beat:
            beat["scanner_stats"]["top_vulns"] = TOP_VULNS[: 1 + device.id % len(TOP_VULNS)]
        ingest.ingest(device, beat)


def _facts(device, host, now) -> None:
    base = {**host.facts(), "hostname": device.hostname, "agent_version": "1.4.0",
            "packages": {"openssl": "3.0.11-1", "openssh-server": "1:9.2p1-2"}}
    facts.store(device, {"facts": base, "collected_at": (now - timedelta(hours=20)).isoformat()})
    newer = {**base, "agent_version": "1.4.2", "kernel": "6.1.0-28-amd64",
             "packages": {"openssl": "3.0.15-1", "openssh-server": "1:9.2p1-2+deb12u3", "restic": "0.16.4"}}
    facts.store(device, {"facts": newer, "collected_at": (now - timedelta(hours=1)).isoformat()})


def _backups(device, rng: random.Random, now, failed_last: bool) -> None:
    backups.save_config(device, {"enabled": True, "backup_mode": "file", "schedule_cron": "0 2 * * *",
                                 "timezone": "Australia/Perth", "retention_count": 3, "keep_daily": 5,
                                 "keep_weekly": 2, "keep_monthly": 1, "storage_target": "s3-syd"}, None, now=now)
    for days in range(14, 0, -1):
        started = (now - timedelta(days=days)).replace(hour=18, minute=0, second=0, microsecond=0)
        failed = failed_last and days == 1
        size = int(rng.uniform(2e9, 4e9))
        report = {"snapshot_id": f"{device.hostname}-{started:%Y%m%d}", "backup_type": "file",
                  "backup_method": "restic", "storage_path": f"s3://vigil-demo/{device.hostname}",
                  "status": "failed" if failed else "completed", "started_at": started.isoformat(),
                  "completed_at": (started + timedelta(seconds=rng.randint(300, 1500))).isoformat(),
                  "size_bytes": size, "compressed_size_bytes": int(size * 0.42),
                  "file_count": rng.randint(40_000, 90_000)}
        if failed:
            report["error"] = "repository locked by another process (restic exit 11)"
            report["logs"] = "Fatal: unable to create lock in backend: repository is already locked"
        backups.ingest_report(device, report)


def _commands(devices: list, admin: User | None, now) -> None:
    scanner, server = devices[0], devices[2]
    done = commands.issue(scanner, "collect_diagnostics", {}, admin)
    commands.report(scanner, done.id, {"status": "in_progress"})
    commands.report(scanner, done.id, {"status": "completed", "result": {"hostname": scanner.hostname,
                                                                         "uptime_seconds": 86400}})
    refused = commands.issue(server, "reboot", {}, admin)
    commands.report(server, refused.id, {"status": "failed", "error": "unsupported: this agent does not run reboot"})
    commands.issue(server, "restart_services", {"services": ["nginx"]}, admin)
    stale = commands.issue(devices[1], "docker_prune", {}, admin)
    stale.expires_at = now - timedelta(minutes=1)
    commands.expire_stale()
    commands.issue(devices[3], "boot_recovery", {}, admin)  # waits for a second admin's approval


def seed_fleet(orgs: dict[str, Organization]) -> None:
    """The demo fleet of every demo organization (see the module docstring)."""
    now = utcnow()
    live_start = now - timedelta(minutes=DEMO_LIVE_MINUTES)
    rng = random.Random(2026)
    silent = []
    for number, (slug, specs) in enumerate(DEMO_DEVICES.items()):
        org = orgs.get(slug)
        if org is None:
            continue
        _subscription(org)
        sites = {s.slug: s.id for s in db.session.scalars(sa.select(Site).where(Site.org_id == org.id))}
        devices = []
        for index, (name, kind, site, tags, event) in enumerate(specs):
            host = FakeHost(100 * number + index, kind, random.Random(rng.random()))
            device = _enrol(org, name, kind, sites.get(site), tags, host)
            _history(device, host, now - timedelta(hours=DEMO_HISTORY_HOURS), live_start)
            _live(device, host, live_start, 3 if event == "offline" else DEMO_LIVE_MINUTES, event)
            _facts(device, host, now)
            if kind == "server":
                _backups(device, rng, now, failed_last=event == "backup_failed")
            if event == "offline":
                silent.append(device)
                device.custom_fields = {DEMO_MARK: "silent"}
            elif event == "disk_full":
                device.custom_fields = {DEMO_MARK: "simulated", "demo_failing": "nginx"}
            devices.append(device)
        _commands(devices, _admin(org), now)
    for device in silent:  # its agent stopped answering after its third live heartbeat
        device.last_seen_at = live_start + timedelta(minutes=3)
    db.session.flush()
    offline.mark_offline()
    alert_rules.evaluate_absence(now=now)


# Keeping the demo alive -----------------------------------------------------------------------

def _demo_devices() -> sa.Select:
    return sa.select(Device).where(Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
                                   Device.custom_fields[DEMO_MARK].as_string() == "simulated")


def has_demo_devices() -> bool:
    """The keeper job's only_if: demo devices exist (never in production, where seed-demo never runs)."""
    from flask import current_app

    if current_app.config.get("VIGIL_ENV") == "production":
        return False
    return db.session.scalar(_demo_devices().with_only_columns(sa.literal(1)).limit(1)) is not None


def _host_like(device: Device, last: Heartbeat | None, stats):
    """A simulator host that continues where the device's newest heartbeat left off."""
    host = FakeHost(device.id, device.device_type, random.Random())
    if last is not None:
        host.cpu = min(last.cpu_usage_percent or host.cpu, 60.0)  # a spike is over
        host.ram = last.ram_usage_percent or host.ram
        host.uptime = last.uptime_seconds or host.uptime
        host.disks = {f["mount"]: f["used_percent"] for f in last.filesystems or []} or host.disks
    if stats is not None:
        host.findings = (stats.vulns_critical, stats.vulns_high)
    failing = (device.custom_fields or {}).get("demo_failing")
    if failing:
        host.failing[failing] = 1
    return host


def keep_demo_alive() -> int:
    """One heartbeat for every simulated demo device through the real ingest (so the demo
    does not go offline a few minutes after `make run`); returns how many were sent."""
    sent = 0
    for device in db.session.scalars(_demo_devices().order_by(Device.id)).all():
        last = db.session.scalar(sa.select(Heartbeat).where(Heartbeat.device_id == device.id)
                                 .order_by(Heartbeat.id.desc()).limit(1))
        stats = db.session.scalar(sa.select(ScannerStats).where(ScannerStats.device_id == device.id)
                                  .order_by(ScannerStats.id.desc()).limit(1))
        host = _host_like(device, last, stats)
        beat = host.heartbeat()
        if "scanner_stats" in beat:
            beat["scanner_stats"]["top_vulns"] = (stats.top_vulns if stats is not None else [])
        ingest.ingest(device, beat)
        sent += 1
    return sent
