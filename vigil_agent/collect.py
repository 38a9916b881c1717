"""Real numbers from the host the agent runs on (psutil), plus systemd services and Docker
containers when the host has them. Anything missing is left out, never guessed."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

MAX_ITEMS = 500
COMMAND_TIMEOUT = 5
SERVICE_STATES = {"active": "active", "inactive": "inactive", "failed": "failed"}
CONTAINER_STATES = ("running", "exited", "paused", "restarting", "dead", "created")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def cpu_model() -> str:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.lower().startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()[:255]
    return (platform.processor() or platform.machine() or "unknown")[:255]


def mac_addresses() -> list[str]:
    macs = set()
    for addresses in psutil.net_if_addrs().values():
        for addr in addresses:
            value = (addr.address or "").lower().replace("-", ":")
            if addr.family == psutil.AF_LINK and len(value) == 17 and value != "00:00:00:00:00:00":
                macs.add(value)
    if not macs:  # no hardware address visible (some containers): a stable, locally administered one
        digest = hashlib.sha256((machine_id() or socket.gethostname()).encode()).digest()
        macs.add("02:" + ":".join(f"{b:02x}" for b in digest[:5]))
    return sorted(macs)[:64]


def machine_id() -> str | None:
    return _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")


def serial_number() -> str:
    return (_read("/sys/class/dmi/id/product_serial") or machine_id() or f"node-{uuid.getnode():012x}")[:255]


def os_name() -> str:
    release = {}
    for line in (_read("/etc/os-release") or "").splitlines():
        key, _, value = line.partition("=")
        release[key] = value.strip('"')
    return (release.get("PRETTY_NAME") or f"{platform.system()} {platform.release()}")[:100]


def facts() -> dict[str, Any]:
    """What enrolment needs to know (and fingerprint) about this machine."""
    root = psutil.disk_usage("/")
    return {"cpu_model": cpu_model(), "cores": psutil.cpu_count() or 1,
            "ram_mb": max(1, psutil.virtual_memory().total // (1024 * 1024)),
            "disk_gb": max(1, root.total // 10 ** 9), "os": os_name(), "kernel": platform.release()[:100],
            "mac_addresses": mac_addresses(), "serial": serial_number()}


def local_ip() -> str | None:
    """The first non-loopback, non-link-local address of an interface that is up."""
    import ipaddress

    stats = psutil.net_if_stats()
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        if name in stats and not stats[name].isup:
            continue
        for addr in addrs:
            if addr.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(addr.address.split("%")[0])
            except ValueError:
                continue
            if not (ip.is_loopback or ip.is_link_local):
                return str(ip)
    return None


def filesystems() -> list[dict[str, Any]]:
    """Every mounted filesystem with a size (duplicates of one device once)."""
    out, seen = [], set()
    for part in psutil.disk_partitions(all=False):
        if part.mountpoint in seen or len(part.mountpoint) > 255:
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except (PermissionError, OSError):
            continue
        if usage.total == 0:
            continue
        seen.add(part.mountpoint)
        out.append({"mount": part.mountpoint, "used_percent": round(usage.percent, 1),
                    "size_gb": round(usage.total / 10 ** 9, 2), "used_gb": round(usage.used / 10 ** 9, 2)})
    if "/" not in seen:  # containers often list no partitions; the root filesystem is always there
        usage = psutil.disk_usage("/")
        out.insert(0, {"mount": "/", "used_percent": round(usage.percent, 1),
                       "size_gb": round(usage.total / 10 ** 9, 2), "used_gb": round(usage.used / 10 ** 9, 2)})
    return out[:MAX_ITEMS]


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def systemd_services() -> list[dict[str, Any]]:
    """Service units and their active state, when systemd runs this host (else none)."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return []
    text = _run(["systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain", "--no-pager"])
    services, seen = [], set()
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith(".service"):
            continue
        name = parts[0][: -len(".service")][:100]
        if name in seen:
            continue
        seen.add(name)
        services.append({"name": name, "status": SERVICE_STATES.get(parts[2], "unknown")})
    return services[:MAX_ITEMS]


def docker_containers() -> list[dict[str, Any]]:
    """Containers and their state, when a Docker CLI answers (else none)."""
    if shutil.which("docker") is None:
        return []
    text = _run(["docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}"])
    containers, seen = [], set()
    for line in (text or "").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        name = str(item.get("Names") or "").split(",")[0][:255]
        if not name or name in seen:
            continue
        seen.add(name)
        state = str(item.get("State") or "").lower()
        containers.append({"name": name, "id": str(item.get("ID") or "")[:64], "image": str(item.get("Image") or "")[:355],
                           "status": state if state in CONTAINER_STATES else "exited"})
    return containers[:MAX_ITEMS]


class HostCollector:
    """Heartbeats from this host. CPU percent and network rates are measured between two
    calls, so the first numbers are primed when the collector is made."""

    MIN_WINDOW = 1.0  # seconds: shorter windows (a --once run right after enrolling) give noise, not numbers

    def __init__(self) -> None:
        psutil.cpu_percent(interval=None)
        self._net = self._net_totals()
        self._net_at = time.monotonic()

    @staticmethod
    def _net_totals() -> tuple[int, int]:
        counters = psutil.net_io_counters(pernic=True)
        rx = sum(c.bytes_recv for name, c in counters.items() if name != "lo")
        tx = sum(c.bytes_sent for name, c in counters.items() if name != "lo")
        return rx, tx

    def network_rates(self) -> dict[str, int]:
        now, totals = time.monotonic(), self._net_totals()
        elapsed = max(now - self._net_at, 1e-3)
        rates = {"rx_bytes_per_sec": max(0, int((totals[0] - self._net[0]) / elapsed)),
                 "tx_bytes_per_sec": max(0, int((totals[1] - self._net[1]) / elapsed))}
        self._net, self._net_at = totals, now
        return rates

    def heartbeat(self) -> dict[str, Any]:
        waited = time.monotonic() - self._net_at
        if waited < self.MIN_WINDOW:
            time.sleep(self.MIN_WINDOW - waited)
        memory = psutil.virtual_memory()
        payload: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(),
            "uptime_seconds": max(0, int(time.time() - psutil.boot_time())),
            "cpu_percent": min(100.0, max(0.0, psutil.cpu_percent(interval=None))),
            "ram_percent": memory.percent,
            "ram_used_gb": round((memory.total - memory.available) / 2 ** 30, 2),
            "ram_total_gb": round(memory.total / 2 ** 30, 2),
            "network": self.network_rates(),
            "filesystems": filesystems(),
            "services": systemd_services(),
            "containers": docker_containers(),
        }
        if hasattr(os, "getloadavg"):
            payload["load_1m"] = round(os.getloadavg()[0], 2)
        address = local_ip()
        if address:
            payload["local_ip"] = address
        return payload

    def facts(self) -> dict[str, Any]:
        return facts()

    def inventory(self) -> dict[str, Any]:
        """The facts snapshot: enrolment's facts plus what else an operator compares over time."""
        return {**facts(), "hostname": self.hostname(), "platform": platform.platform()[:200],
                "python": platform.python_version(),
                "filesystems": [{"mount": f["mount"], "size_gb": f["size_gb"]} for f in filesystems()],
                "services": sorted(s["name"] for s in systemd_services()),
                "containers": sorted(f"{c['name']} {c.get('image', '')}".strip() for c in docker_containers())}

    def hostname(self) -> str:
        return socket.gethostname()[:255]
