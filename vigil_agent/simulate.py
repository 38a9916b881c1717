"""Many simulated devices for demos and load tests: each is a real `Agent` (same enrolment,
signature checks and reports) over a fake host whose numbers drift like a real one's, with
failures injected now and then: a service that fails and recovers, a container stuck
restarting, a CPU spike, a filling disk, a missed heartbeat, a failed backup."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil_agent.client import AgentHttpError
from vigil_agent.config import StateFile
from vigil_agent.errors import ActionError
from vigil_agent.runner import Agent, AgentError

SERVICES = {"scanner": ["sshd", "gvmd", "ospd-openvas", "redis-server"], "server": ["sshd", "nginx", "postgresql"]}
CONTAINERS = {"scanner": [("gvmd", "greenbone/gvmd:22.4"), ("ospd-openvas", "greenbone/ospd-openvas:22.4")],
              "server": [("app", "example/app:1.8"), ("worker", "example/app:1.8")]}


def _drift(rng: random.Random, value: float, low: float, high: float, step: float, centre: float) -> float:
    """A bounded random walk pulled gently back towards its centre."""
    value += rng.gauss(0, step) + (centre - value) * 0.05
    return round(min(high, max(low, value)), 1)


@dataclass
class FakeHost:
    index: int
    kind: str
    rng: random.Random
    cpu: float = 20.0
    ram: float = 45.0
    disks: dict[str, float] = field(default_factory=lambda: {"/": 40.0, "/var": 55.0})
    failing: dict[str, int] = field(default_factory=dict)  # service -> ticks left failed
    restarting: dict[str, int] = field(default_factory=dict)
    spike: int = 0
    uptime: int = 86400
    skip_next: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.cpu = self.rng.uniform(5, 40)
        self.ram = self.rng.uniform(30, 70)
        self.findings = (self.rng.randint(0, 4), self.rng.randint(0, 20))
        self.mac = "02:5e:" + ":".join(f"{b:02x}" for b in uuid.uuid5(uuid.NAMESPACE_DNS, f"sim-{self.index}-"
                                                                        f"{uuid.uuid4()}").bytes[:4])

    def hostname(self) -> str:
        return f"sim-{self.kind}-{self.index:04d}"

    def facts(self) -> dict[str, Any]:
        return {"cpu_model": "Simulated Xeon E-2288G", "cores": 8, "ram_mb": 32768, "disk_gb": 512,
                "os": "Debian GNU/Linux 12 (simulated)", "kernel": "6.1.0-sim", "mac_addresses": [self.mac],
                "serial": f"SIM-{self.mac.replace(':', '')}"}

    def inject(self, failure_rate: float) -> None:
        rng = self.rng
        if rng.random() < failure_rate:
            self.failing[rng.choice(SERVICES[self.kind])] = rng.randint(2, 6)
        if rng.random() < failure_rate:
            self.restarting[rng.choice(CONTAINERS[self.kind])[0]] = rng.randint(2, 5)
        if rng.random() < failure_rate:
            self.spike = rng.randint(2, 5)
        if rng.random() < failure_rate / 2:
            self.disks["/var"] = min(99.0, self.disks["/var"] + rng.uniform(5, 15))
        self.skip_next = rng.random() < failure_rate / 2

    def heartbeat(self) -> dict[str, Any]:
        rng = self.rng
        self.cpu = _drift(rng, self.cpu, 1, 100, 4, 25)
        self.ram = _drift(rng, self.ram, 5, 99, 1.5, 50)
        for mount in self.disks:
            # Disks fill slowly (a few percent a day) unless a failure makes one fill fast.
            self.disks[mount] = round(min(99.5, self.disks[mount] + max(0.0, rng.gauss(0.001, 0.004))), 2)
        cpu = min(100.0, self.cpu + (60 if self.spike else 0))
        self.spike = max(0, self.spike - 1)
        services = []
        for name in SERVICES[self.kind]:
            left = self.failing.get(name, 0)
            services.append({"name": name, "status": "failed" if left else "active", "enabled": True})
            if left:
                self.failing[name] = left - 1
        containers = []
        for name, image in CONTAINERS[self.kind]:
            left = self.restarting.get(name, 0)
            containers.append({"name": name, "id": f"{self.index:04d}{name}"[:64], "image": image,
                               "status": "restarting" if left else "running", "restarts": 3 if left else 0})
            if left:
                self.restarting[name] = left - 1
        self.uptime += 60
        payload: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(), "uptime_seconds": self.uptime, "cpu_percent": cpu,
            "ram_percent": self.ram, "ram_total_gb": 32.0, "ram_used_gb": round(32 * self.ram / 100, 2),
            "load_1m": round(cpu / 12.5, 2), "local_ip": f"192.168.{10 + self.index // 250}.{10 + self.index % 240}",
            "network": {"rx_bytes_per_sec": int(rng.uniform(2e4, 2e6)), "tx_bytes_per_sec": int(rng.uniform(1e4, 5e5))},
            "filesystems": [{"mount": m, "used_percent": p, "size_gb": 256, "used_gb": round(256 * p / 100, 1)}
                            for m, p in self.disks.items()],
            "services": services, "containers": containers,
        }
        if self.kind == "scanner":
            # Findings change only when a scan finishes, not from one minute to the next.
            if rng.random() < 0.02:
                self.findings = (rng.randint(0, 4), rng.randint(0, 20))
            payload["scanner_stats"] = {"tasks_total": 24, "scans_running": rng.randint(0, 3),
                                        "scans_queued": rng.randint(0, 5), "vulns_critical": self.findings[0],
                                        "vulns_high": self.findings[1], "nvt_count": 150000,
                                        # the feed is refreshed daily; the last scan finished minutes ago
                                        "feed_updated_at": (self.started - timedelta(hours=6)).isoformat(),
                                        "last_scan_at": (datetime.now(UTC) - timedelta(minutes=rng.randint(1, 50)))
                                        .isoformat()}
        return payload


def simulated_actions(host: FakeHost, failure_rate: float) -> dict[str, Any]:
    """The safe actions, answered with plausible results; run_backup reports a snapshot."""

    def diagnostics(agent: Agent, payload: dict[str, Any]) -> dict[str, Any]:
        return {"hostname": host.hostname(), "uptime_seconds": host.uptime, "simulated": True}

    def backup(agent: Agent, payload: dict[str, Any]) -> dict[str, Any]:
        started = datetime.now(UTC)
        failed = host.rng.random() < failure_rate
        size = int(host.rng.uniform(2e8, 6e9))
        report = {"snapshot_id": uuid.uuid4().hex[:16], "backup_type": "file", "backup_method": "restic",
                  "storage_path": f"s3://vigil-sim/{host.hostname()}", "status": "failed" if failed else "completed",
                  "started_at": started.isoformat(),
                  "completed_at": (started + timedelta(seconds=host.rng.randint(30, 900))).isoformat(),
                  "size_bytes": size, "compressed_size_bytes": int(size * 0.4),
                  "file_count": host.rng.randint(1000, 200000), "command_id": agent.current_command_id,
                  "error": "repository locked by another process" if failed else None}
        agent.report_backup({k: v for k, v in report.items() if v is not None})
        if failed:
            raise ActionError(report["error"])
        return {"snapshot_id": report["snapshot_id"], "size_bytes": size}

    return {"collect_diagnostics": diagnostics, "run_backup": backup}


@dataclass
class SimStats:
    devices: int = 0
    heartbeats: int = 0
    heartbeat_errors: int = 0
    skipped: int = 0
    commands: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"devices": self.devices, "heartbeats": self.heartbeats, "heartbeat_errors": self.heartbeat_errors,
                "skipped_heartbeats": self.skipped, "commands": dict(self.commands)}


def simulate(server: str, claim_codes: list[tuple[str, str]], interval: float, *, ticks: int | None = None,
             duration: float | None = None, failure_rate: float = 0.05, seed: int | None = None,
             workers: int = 16, sleep=None) -> SimStats:
    """Enrol one simulated device per (claim code, type), then run ticks until `ticks` or
    `duration` seconds are reached (whichever is given; one of them is required)."""
    import time

    if ticks is None and duration is None:
        raise ValueError("give ticks or duration")
    sleep = sleep or time.sleep
    rng = random.Random(seed)
    stats = SimStats()
    agents: list[tuple[Agent, FakeHost]] = []
    for i, (code, kind) in enumerate(claim_codes):
        host = FakeHost(i, kind, random.Random(rng.random()))
        agent = Agent(server, StateFile(None), host, simulated_actions(host, failure_rate))
        agent.ensure_enrolled(code)
        agent.send_facts()
        agents.append((agent, host))
    stats.devices = len(agents)

    def one(pair: tuple[Agent, FakeHost]) -> tuple[str, list[str]]:
        agent, host = pair
        host.inject(failure_rate)
        if host.skip_next:
            return "skipped", []
        try:
            status = agent.send_heartbeat()
            return ("ok" if status == 202 else "error"), agent.poll()
        except (AgentHttpError, AgentError):
            return "error", []

    end = time.monotonic() + duration if duration is not None else None
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(agents)))) as pool:
        while (ticks is None or done < ticks) and (end is None or time.monotonic() < end):
            began = time.monotonic()
            for outcome, handled in pool.map(one, agents):
                stats.heartbeats += outcome == "ok"
                stats.heartbeat_errors += outcome == "error"
                stats.skipped += outcome == "skipped"
                for what in handled:
                    stats.commands[what] = stats.commands.get(what, 0) + 1
            done += 1
            if ticks is None or done < ticks:
                sleep(max(0.0, interval - (time.monotonic() - began)))
    return stats
