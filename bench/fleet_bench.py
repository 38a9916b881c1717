"""Fleet heartbeat ingest through a real server: gunicorn on PostgreSQL + Redis.

N enrolled devices (500, then 5,000) each with its own key and its own address (sent as
X-Forwarded-For, the server trusting one proxy hop, as behind a real reverse proxy); client threads on keep-alive
connections post heartbeats for randomly chosen devices, so the server sees the key lookup,
validation, the heartbeat row, rollup upserts, services, containers, scanner stats and
whatever evaluation runs on ingest. The baseline, in the same run against the same server,
is the cheapest authenticated endpoint there is: GET /api/me with the same device keys
(key lookup, usage counter, commit). The ratio is the cost of ingest itself.

Before measuring, every device sends one heartbeat from its address (a fleet in steady
state: a device's first heartbeat, or its first from a new address, takes the full check of
that address and is not what a server carries every minute).

The request floor is measured too: GET /health on the same server in the same run (one
`SELECT 1`, a Redis ping, no credential). Issue 18.3 holds heartbeat ingest to at least
0.5x its requests/s. Nothing may be lost: every heartbeat answered 202 must be a row in
`heartbeats` afterwards (counted before and after each round), else the bench fails.

The fleet dashboard (GET /fleet/, signed in as the organization's admin) is measured on
the same server with 500 devices after their heartbeats: sequential requests interleaved
with a trivial signed-in page (GET /account: session lookup, guard, base template), so the
ratio is the dashboard's own queries and template.

The load generator runs on the same two-core machine as the server, so absolute numbers
are a floor; the ratio is what to compare between commits.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.env import BenchEnv
from bench.timing import Measure

DEVICE_COUNTS = (500, 5000)
CLIENT_THREADS = 16
REQUESTS_PER_ROUND = int(os.environ.get("BENCH_FLEET_REQUESTS", "4000"))
HEARTBEAT_INTERVAL = 60  # seconds: the agent's default, for "devices one server carries"
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))  # flushed: give each checkout its own
DASHBOARD_COUNT = 500
DASHBOARD_REQUESTS = 120  # each of the dashboard and the baseline; under the read rate limit per minute


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _enrol_devices(env: BenchEnv, total: int) -> list[str]:
    """Create `total` enrolled devices (beyond those already made) and return all keys."""
    from app.fleet import services
    from app.models import Device, Organization, db

    with env.app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.slug == "northwind"))
        from app.fleet.alert_rules import ensure_default_rules

        ensure_default_rules(org.id)  # ingest runs with the default alert rules evaluated
        keys: list[str] = env.__dict__.setdefault("_fleet_keys", [])
        have = len(keys)
        for i in range(have, total):
            device = Device(org_id=org.id, hostname=f"bench-{i:05d}", device_name=f"bench-{i:05d}",
                            device_type="scanner" if i % 3 else "server", environment="production",
                            billing_type="customer", status="active", heartbeat_interval=60,
                            enrolled_at=datetime.now(UTC), tags=[])
            db.session.add(device)
            db.session.flush()
            keys.append(services.create_device_key(device))
            if i % 500 == 499:
                db.session.commit()
        db.session.commit()
        db.session.remove()
        return keys


def _payload(rng: random.Random, index: int = 0) -> bytes:
    """One heartbeat of simulated device `index`: each device has its own steady profile
    (its disk fill, its load, whether its scanner service is failing) and its numbers drift
    a little between heartbeats, as a real host's do. About 1 device in 20 sits above a
    default alert threshold (a disk at 93-96 %, or a failed service), so value rules are
    evaluated on every heartbeat and some alerts fire and stay firing; an alert opening is
    audited and notified once, not re-opened on every heartbeat."""
    profile = random.Random(index)
    cpu = max(0.0, min(100.0, profile.uniform(5, 60) + rng.uniform(-5, 5)))
    disk = profile.uniform(93, 96) if index % 40 == 7 else profile.uniform(20, 80)
    failed = index % 40 == 23
    return json.dumps({
        "cpu_percent": round(cpu, 1), "ram_percent": round(profile.uniform(20, 75) + rng.uniform(-2, 2), 1),
        "uptime_seconds": rng.randint(600, 10_000_000), "load_1m": round(rng.uniform(0, 4), 2),
        "filesystems": [{"mount": "/", "used_percent": round(disk, 1), "size_gb": 100,
                         "used_gb": 50}, {"mount": "/var", "used_percent": 40.0, "size_gb": 200, "used_gb": 80}],
        "network": {"rx_bytes_per_sec": rng.randint(0, 10**6), "tx_bytes_per_sec": rng.randint(0, 10**6)},
        "services": [{"name": "gvmd", "status": "active", "enabled": True},
                     {"name": "ospd-openvas", "status": "failed" if failed else "active", "enabled": True}],
        "containers": [{"name": "redis", "id": "c1", "image": "redis:7", "status": "running", "restarts": 0}],
        "scanner_stats": {"tasks_total": 24, "scans_running": rng.randint(0, 4), "scans_queued": rng.randint(0, 3),
                          "vulns_critical": profile.randint(0, 5) if index % 10 == 3 else 0},
    }).encode()


def _drive(port: int, keys: list[str], n: int, make_request: Callable[[random.Random, int], tuple],
           accepted: list[int] | None = None) -> tuple[list[float], float, int]:
    """Send n requests from CLIENT_THREADS threads; (latencies ms, wall seconds, errors).
    `accepted`, when given, gets the number of 202 answers added to its first item."""
    latencies: list[float] = []
    errors = [0]
    created = [0]
    lock = threading.Lock()
    per_thread = n // CLIENT_THREADS

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = new = 0
        for _ in range(per_thread):
            index = rng.randrange(len(keys))
            key = keys[index]
            method, path, body = make_request(rng, index)
            headers = _headers(key, index)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 202)
                new += response.status == 202
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            mine.append(1000 * (time.perf_counter() - start))
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad
            created[0] += new

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if accepted is not None:
        accepted[0] += created[0]
    return latencies, wall, errors[0]


def _headers(key: str, index: int) -> dict[str, str]:
    # Each device at its own site address, as seen through the reverse proxy.
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
            "X-Forwarded-For": f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"}


def _every_device_once(port: int, keys: list[str]) -> int:
    """One heartbeat from every device (CLIENT_THREADS threads, each its share of the
    devices): the steady state of a fleet whose devices have all reported before, each
    from its usual address. Without it, most heartbeats of the 5,000-device round would be a
    device's first, which takes the full check of a new address. Returns the failures."""
    failures = [0]
    lock = threading.Lock()

    def worker(start: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(start)
        bad = 0
        for index in range(start, len(keys), CLIENT_THREADS):
            try:
                conn.request("POST", "/api/agent/heartbeat", body=_payload(rng, index),
                             headers=_headers(keys[index], index))
                response = conn.getresponse()
                response.read()
                bad += response.status not in (200, 202)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                bad += 1
        conn.close()
        with lock:
            failures[0] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures[0]


def _heartbeat_rows(env: BenchEnv) -> int:
    from app.models import Heartbeat, db

    with env.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Heartbeat.id)))
        db.session.remove()
        return count


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _start_server(port: int) -> subprocess.Popen:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, DATABASE_URL=os.environ["BENCH_DATABASE_URL"],
               REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}", VIGIL_ENV="production",
               SECRET_KEY="bench-secret-key-not-for-production", VIGIL_SECURE_COOKIES="0", VIGIL_PROXY_HOPS="1")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-k", "gthread", "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=root, env=env)
    deadline = time.monotonic() + 120  # a loaded two-core machine imports the app slowly
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not answer /health within 120 s")


def _sign_in(port: int) -> tuple[http.client.HTTPConnection, str]:
    """Sign the demo organization's admin in over HTTP (CSRF token from the form); (connection, cookie)."""
    import re

    from bench.request_bench import DASHBOARD_USER, DEMO_PASSWORD

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/auth/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)
    body = f"email={DASHBOARD_USER}&password={DEMO_PASSWORD}&csrf_token={token}".replace("@", "%40")
    conn.request("POST", "/auth/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 303:
        raise RuntimeError(f"fleet bench: sign-in answered {response.status}")
    return conn, response.getheader("Set-Cookie", "").split(";")[0] or cookie


def _page_latency(port: int, n: int) -> tuple[list[float], list[float]]:
    """Milliseconds per GET /fleet/ and per GET /account, interleaved on one keep-alive connection."""
    conn, cookie = _sign_in(port)

    def get(path: str) -> float:
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"fleet bench: GET {path} answered {response.status}")
        if path == "/fleet/" and b'data-kpi="devices_online"' not in body:
            raise RuntimeError("fleet bench: the dashboard did not render its KPIs")
        return 1000 * (time.perf_counter() - start)

    for _ in range(5):  # warm-up: both workers' templates and statement caches
        get("/fleet/")
        get("/account")
    dashboard, account = [], []
    for _ in range(n):
        dashboard.append(get("/fleet/"))
        account.append(get("/account"))
    conn.close()
    return dashboard, account


def _p50(values: list[float]) -> float:
    return statistics.median(values)


def run(env: BenchEnv, log) -> list[Measure]:
    if env.backend != "postgresql" or not os.environ.get("BENCH_DATABASE_URL"):
        log("fleet: skipped (needs BENCH_DATABASE_URL on PostgreSQL and Redis on 127.0.0.1:6379)")
        return []
    import redis

    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    measures: list[Measure] = []
    port = _free_port()
    for count in DEVICE_COUNTS:
        keys = _enrol_devices(env, count)[:count]
        log(f"fleet: {count} devices enrolled; starting gunicorn")
        proc = _start_server(port)
        try:
            heartbeat = lambda rng, index: ("POST", "/api/agent/heartbeat", _payload(rng, index))  # noqa: E731
            me = lambda rng, index: ("GET", "/api/me", None)  # noqa: E731
            health = lambda rng, index: ("GET", "/health", None)  # noqa: E731
            if _every_device_once(port, keys):
                raise RuntimeError("fleet bench: a device's first heartbeat was refused")
            _drive(port, keys, 400, heartbeat)  # warm-up: connections, statement caches
            _drive(port, keys, 400, me)
            _drive(port, keys, 400, health)
            before, accepted = _heartbeat_rows(env), [0]
            hb_lat, hb_wall, hb_err = _drive(port, keys, REQUESTS_PER_ROUND, heartbeat, accepted)
            stored = _heartbeat_rows(env) - before
            me_lat, me_wall, me_err = _drive(port, keys, REQUESTS_PER_ROUND, me)
            health_lat, health_wall, health_err = _drive(port, keys, REQUESTS_PER_ROUND, health)
            if count == DASHBOARD_COUNT:
                dash_lat, account_lat = _page_latency(port, DASHBOARD_REQUESTS)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if hb_err or me_err or health_err:
            raise RuntimeError(f"fleet bench: {hb_err} heartbeat, {me_err} /api/me and {health_err} /health "
                               "requests failed")
        if stored != accepted[0]:
            raise RuntimeError(f"fleet bench: {accepted[0]} heartbeats answered 202 but {stored} rows were stored")
        hb_rate, me_rate = len(hb_lat) / hb_wall, len(me_lat) / me_wall
        health_rate = len(health_lat) / health_wall
        note = f"gunicorn gthread 2x8, {CLIENT_THREADS} client threads, {len(hb_lat)} requests"
        measures.append(Measure("fleet", f"heartbeat ingest, {count} devices (throughput)", round(hb_rate, 1),
                                "req/s", "GET /api/me (same keys, same server)", round(me_rate, 1),
                                round(me_rate / hb_rate, 2), note=note))
        # Issue 18.3's target: heartbeats/s at least 0.5x the request floor's requests/s
        # (the ratio shown is cost over the floor, so at most 2.0 meets it).
        measures.append(Measure("fleet", f"heartbeat ingest vs request floor, {count} devices (throughput)",
                                round(hb_rate, 1), "req/s", "GET /health (same server, same run)",
                                round(health_rate, 1), round(health_rate / hb_rate, 2),
                                note=f"{note}; {accepted[0]} stored, {stored} rows; "
                                     f"{hb_rate / health_rate:.2f}x the floor's req/s; carries about "
                                     f"{int(hb_rate * HEARTBEAT_INTERVAL):,} devices at a "
                                     f"{HEARTBEAT_INTERVAL} s interval"))
        measures.append(Measure("fleet", f"heartbeat ingest, {count} devices (p95 latency)",
                                round(_p95(hb_lat), 2), "ms", "GET /api/me p95", round(_p95(me_lat), 2),
                                round(_p95(hb_lat) / _p95(me_lat), 2),
                                samples=[round(statistics.median(hb_lat), 2)],
                                baseline_samples=[round(statistics.median(me_lat), 2)], note=note))
        measures.append(Measure("fleet", f"GET /health, {count} devices' server (p95 latency)",
                                round(_p95(health_lat), 2), "ms", None, None, None,
                                samples=[round(_p50(health_lat), 2)], note=note))
        if count == DASHBOARD_COUNT:
            measures.append(Measure("fleet", f"GET /fleet/ dashboard, {count} devices (p95 latency)",
                                    round(_p95(dash_lat), 2), "ms", "GET /account p95 (same user, same server)",
                                    round(_p95(account_lat), 2), round(_p95(dash_lat) / _p95(account_lat), 2),
                                    samples=[round(statistics.median(dash_lat), 2)],
                                    baseline_samples=[round(statistics.median(account_lat), 2)],
                                    note=f"{DASHBOARD_REQUESTS} sequential requests each, interleaved"))
            log(f"fleet: dashboard p95 {_p95(dash_lat):.1f} ms (median {statistics.median(dash_lat):.1f}) vs "
                f"/account p95 {_p95(account_lat):.1f} ms")
        log(f"fleet: {count} devices: heartbeat {hb_rate:.0f}/s (p50 {_p50(hb_lat):.1f} ms, p95 {_p95(hb_lat):.1f} ms), "
            f"/api/me {me_rate:.0f}/s (p50 {_p50(me_lat):.1f}, p95 {_p95(me_lat):.1f}), "
            f"/health {health_rate:.0f}/s (p50 {_p50(health_lat):.1f}, p95 {_p95(health_lat):.1f}); "
            f"heartbeat/health {hb_rate / health_rate:.2f}x; {accepted[0]} accepted = {stored} stored; "
            f"~{int(hb_rate * HEARTBEAT_INTERVAL):,} devices at {HEARTBEAT_INTERVAL} s")
    return measures
