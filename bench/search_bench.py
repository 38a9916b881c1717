"""Global search over a large organization: 1,000,000 observations of 50,000 networks and
5,000 devices (PostgreSQL only: the pg_trgm path is what is measured).

Through the Flask test client with a signed-in admin (session lookup, rate limiter,
permissions, every registered provider, the full template), interleaved requests time
GET /search/?q=... for several kinds of term against GET /fleet/devices/<id>, a
primary-key page, in the same run. Median and p95 are reported.

BENCH_SEARCH_OBSERVATIONS sets the total (e.g. 100000 for a quick look); networks are a
twentieth of it and devices a tenth of the networks.
"""

from __future__ import annotations

import os
import statistics
import time

import sqlalchemy as sa

from bench.env import BENCH_PASSWORD, BenchEnv
from bench.timing import Measure, median, timed

SIGHTINGS_EACH = 20
CHUNK = 5_000
REQUESTS = 40
EMAIL = "bench-search@search.example"
TERMS = {
    "SSID fragment (many hits)": "cafe-12",
    "BSSID prefix": "02:00:00:A1",
    "device hostname": "host-04217",
    "IP fragment": "198.18.7.",
    "no match": "zq-nothing-zq",
}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _seed(org_id: int, networks: int, devices: int, log) -> int:
    """Bulk rows; returns one device id for the primary-key baseline."""
    from app.models import Device, db
    from app.models.wireless import DeviceSource, Network

    source = DeviceSource(org_id=org_id, code="bench", name="Bench phone")
    db.session.add(source)
    db.session.flush()
    for first in range(0, networks, CHUNK):
        db.session.execute(sa.insert(Network), [
            {"org_id": org_id, "bssid": f"02:00:{(i >> 24) & 255:02X}:{(i >> 16) & 255:02X}:{(i >> 8) & 255:02X}:{i & 255:02X}",
             "ssid": f"cafe-{i % 9973}-{'guest' if i % 3 else 'staff'}", "type": "W", "encryption": "wpa2",
             "firsttime_ms": 0, "lasttime_ms": 0, "lastlat": 39.7, "lastlon": -104.9, "observation_count": SIGHTINGS_EACH}
            for i in range(first, min(networks, first + CHUNK))])
    # Observations in the database itself: 20 per network, spread over 90 days.
    db.session.execute(sa.text(
        "INSERT INTO observations (org_id, network_id, source_id, bssid, ssid, level, lat, lon, altitude, accuracy, "
        "time, observed_at_ms, time_ms, external, mfgrid, source_tag, source_pk) "
        "SELECT n.org_id, n.id, :source, n.bssid, n.ssid, -40 - ((n.id * 7 + k) % 55), "
        "39.7 + ((n.id * 13 + k) % 400) / 1000.0, -104.9 + ((n.id * 17 + k) % 500) / 1000.0, 0, 8, "
        "t.at, (extract(epoch FROM t.at) * 1000)::bigint, (extract(epoch FROM t.at) * 1000)::bigint, false, 0, '', k::text "
        "FROM networks n CROSS JOIN generate_series(1, :each) AS k "
        "CROSS JOIN LATERAL (SELECT timestamptz '2026-06-01 00:00+00' + ((n.id * 131 + k * 977) % 129600) "
        "* interval '1 minute' AS at) t WHERE n.org_id = :org"),
        {"source": source.id, "each": SIGHTINGS_EACH, "org": org_id})
    db.session.commit()
    log(f"search: {networks:,} networks and {networks * SIGHTINGS_EACH:,} observations inserted")
    for first in range(0, devices, CHUNK):
        db.session.execute(sa.insert(Device), [
            {"org_id": org_id, "hostname": f"host-{i:05d}.corp.example", "device_name": f"Scanner {i}",
             "device_type": "scanner", "status": "active", "public_ip": f"198.18.{i // 250}.{i % 250 + 1}",
             "local_ip": f"10.{i // 250}.{i % 250}.10"}
            for i in range(first, min(devices, first + CHUNK))])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("networks", "observations", "devices"):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    return db.session.scalar(sa.select(Device.id).where(Device.org_id == org_id).order_by(Device.id).offset(devices // 2))


def run(env: BenchEnv, log) -> list[Measure]:
    from app.models import Organization, User, db
    from app.passwords import hash_password

    if env.backend != "postgresql":
        log("search: skipped (PostgreSQL only: set BENCH_DATABASE_URL)")
        return []
    total = int(os.environ.get("BENCH_SEARCH_OBSERVATIONS", "1000000"))
    networks = max(1, total // SIGHTINGS_EACH)
    devices = max(1, networks // 10)
    with env.app.app_context():
        org = Organization(name="Search bench", slug="search-bench", type="customer")
        db.session.add(org)
        db.session.flush()
        db.session.add(User(org_id=org.id, email=EMAIL, role="admin", status="active", email_verified=True,
                            password_hash=hash_password(BENCH_PASSWORD)))
        db.session.commit()
        started = time.perf_counter()
        device_id = _seed(org.id, networks, devices, log)
        log(f"search: seeded in {time.perf_counter() - started:.0f} s")
        db.session.remove()

    client = env.app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = "VigilBench/1"
    if client.post("/auth/login", data={"email": EMAIL, "password": BENCH_PASSWORD}).status_code != 303:
        raise RuntimeError("search bench sign-in failed")
    urls = {name: f"/search/?q={term}" for name, term in TERMS.items()}
    baseline_url = f"/fleet/devices/{device_id}"
    for url in (*urls.values(), baseline_url):
        for _ in range(3):
            r = client.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"search bench: GET {url} answered {r.status_code}")
    samples: dict[str, list[float]] = {name: [] for name in urls}
    # The same searches forced onto the LIKE fallback (no trigram index): what the index buys.
    like_names = [f"{name}, LIKE path" for name in ("SSID fragment (many hits)", "no match")]
    samples.update({name: [] for name in like_names})
    baseline: list[float] = []
    for _ in range(REQUESTS):
        for name, url in urls.items():
            samples[name].append(1000 * timed(lambda u=url: client.get(u)))
        env.app.config["SEARCH_MODE"] = "like"
        for name in like_names:
            url = urls[name.removesuffix(", LIKE path")]
            samples[name].append(1000 * timed(lambda u=url: client.get(u)))
        env.app.config["SEARCH_MODE"] = "auto"
        baseline.append(1000 * timed(lambda: client.get(baseline_url)))
    note = (f"{networks:,} networks, {networks * SIGHTINGS_EACH:,} observations, {devices:,} devices; "
            f"{REQUESTS} requests each, interleaved")
    out = []
    for name, values in samples.items():
        log(f"search: {name}: median {median(values):.1f} ms, p95 {p95(values):.1f} ms "
            f"(device page median {median(baseline):.1f} ms, p95 {p95(baseline):.1f} ms)")
        out.append(Measure("search", f"search {name} (p95)", round(p95(values), 2), "ms",
                           "GET /fleet/devices/<id> (p95)", round(p95(baseline), 2),
                           round(p95(values) / p95(baseline), 2), samples=values, baseline_samples=baseline, note=note))
        out.append(Measure("search", f"search {name} (median)", round(median(values), 2), "ms",
                           "GET /fleet/devices/<id> (median)", round(median(baseline), 2),
                           round(median(values) / median(baseline), 2), note=note))
    return out
