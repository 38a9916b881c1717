"""The networks explorer's first page over 1,000,000 observations (median and p95).

One organization gets N networks (50,000 by default) with 20 sightings each scattered
within ~25 km of its home marker, all inserted in bulk. Then, through the Flask test client
with a signed-in analyst (session lookup, rate limiter, permissions, the full template),
interleaved requests time:

- the explorer's first page (default sort: last seen, newest first);
- the same page sorted by best signal;
- the first page filtered to networks seen within 2 km of home (box on the
  observations' lat/lon index, then the exact haversine in SQL);
- an SSID expression with wildcards, OR and NOT;
- the map's observations in a box around home (capped at 5,000 points);

against the baseline GET /account (a trivial signed-in page) in the same run.

BENCH_EXPLORER_OBSERVATIONS sets the total (e.g. 100000 for a quick look).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.env import BENCH_PASSWORD, BenchEnv
from bench.timing import Measure, median, timed

SIGHTINGS_EACH = 20
CHUNK_NETWORKS = 2_500
REQUESTS = 40
HOME = (39.7392, -104.9903)
EMAIL = "bench-explorer@wireless.example"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) VigilBench/1"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _seed(org_id: int, networks: int, log) -> None:
    from app.models import db
    from app.models.wireless import DeviceSource, LocationMarker, Network, Observation

    source = DeviceSource(org_id=org_id, code="bench", name="Bench phone")
    db.session.add(source)
    db.session.add(LocationMarker(org_id=org_id, name="Home", lat=HOME[0], lon=HOME[1], is_home=True, radius_km=0.5))
    db.session.flush()
    rng = random.Random(11)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    levels = ("NONE",) * 12 + ("LOW",) * 4 + ("MEDIUM", "HIGH", "CRITICAL", None)
    for first in range(0, networks, CHUNK_NETWORKS):
        rows = []
        for i in range(first, min(networks, first + CHUNK_NETWORKS)):
            lat = HOME[0] + rng.uniform(-0.22, 0.22)
            lon = HOME[1] + rng.uniform(-0.29, 0.29)
            t0 = start + timedelta(minutes=rng.randint(0, 60 * 24 * 90))
            level = rng.choice(levels)
            rows.append({"org_id": org_id, "bssid": f"02:{(i >> 24) & 255:02X}:{(i >> 16) & 255:02X}:"
                                                    f"{(i >> 8) & 255:02X}:{i & 255:02X}:EE",
                         "ssid": f"net-{i % 7919}", "type": "WWWWWEBL"[i % 8], "encryption": "wpa2",
                         "manufacturer": ("Apple, Inc.", "Sierra Wireless", "Espressif Inc.", None)[i % 4],
                         "firsttime_ms": int(t0.timestamp() * 1000), "lasttime_ms": 0,
                         "lastlat": lat, "lastlon": lon, "bestlat": lat, "bestlon": lon,
                         "bestlevel": rng.randint(-95, -40), "observation_count": SIGHTINGS_EACH,
                         "threat_level": level, "threat_score_v2": None if level is None else rng.randint(0, 99),
                         "_t0": t0})
        ids = db.session.scalars(sa.insert(Network).returning(Network.id, sort_by_parameter_order=True),
                                 [{k: v for k, v in r.items() if k != "_t0"} for r in rows]).all()
        observations, last = [], []
        for network_id, r in zip(ids, rows, strict=True):
            when = r["_t0"]
            for k in range(SIGHTINGS_EACH):
                when += timedelta(minutes=rng.randint(5, 2880))
                ms = int(when.timestamp() * 1000)
                observations.append({"org_id": org_id, "network_id": network_id, "source_id": source.id,
                                     "bssid": r["bssid"], "ssid": r["ssid"], "level": rng.randint(-95, -40),
                                     "lat": r["lastlat"] + rng.uniform(-0.002, 0.002),
                                     "lon": r["lastlon"] + rng.uniform(-0.002, 0.002), "accuracy": 8.0,
                                     "time": when, "observed_at_ms": ms, "time_ms": ms, "source_pk": str(k)})
            last.append({"id": network_id, "lasttime_ms": int(when.timestamp() * 1000)})
        db.session.execute(sa.insert(Observation), observations)
        db.session.execute(sa.update(Network), last)
        db.session.commit()
        if (first // CHUNK_NETWORKS) % 4 == 3 or first + CHUNK_NETWORKS >= networks:
            log(f"explorer: seeded {min(networks, first + CHUNK_NETWORKS) * SIGHTINGS_EACH:,} observations")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE networks"))
            conn.execute(sa.text("VACUUM ANALYZE observations"))


def run(env: BenchEnv, log) -> list[Measure]:
    from app.models import Organization, User, db
    from app.passwords import hash_password

    total = int(os.environ.get("BENCH_EXPLORER_OBSERVATIONS", "1000000"))
    networks = max(1, total // SIGHTINGS_EACH)
    with env.app.app_context():
        org = Organization(name="Explorer bench", slug="explorer-bench", type="customer")
        db.session.add(org)
        db.session.flush()
        db.session.add(User(org_id=org.id, email=EMAIL, role="analyst", status="active", email_verified=True,
                            password_hash=hash_password(BENCH_PASSWORD)))
        db.session.commit()
        started = time.perf_counter()
        _seed(org.id, networks, log)
        log(f"explorer: {networks:,} networks, {networks * SIGHTINGS_EACH:,} observations "
            f"in {time.perf_counter() - started:.0f} s")
        db.session.remove()

    client = env.app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    response = client.post("/auth/login", data={"email": EMAIL, "password": BENCH_PASSWORD})
    if response.status_code != 303:
        raise RuntimeError(f"explorer bench sign-in answered {response.status_code}")
    box = f"{HOME[1] - 0.05},{HOME[0] - 0.04},{HOME[1] + 0.05},{HOME[0] + 0.04}"
    urls = {
        "explorer first page": "/wireless/networks",
        "explorer sorted by signal": "/wireless/networks?sort=signal&dir=desc",
        "explorer within 2 km of home": "/wireless/networks?near=home&km=2",
        "explorer SSID net-1*|net-2* -*7": "/wireless/networks?ssid=net-1*%7Cnet-2*+-*7",
        "map observations in a box (cap 5000)": f"/wireless/map/observations.geojson?bbox={box}",
    }
    baseline_url = "/account"
    for url in (*urls.values(), baseline_url):  # warm-up, and proof that each answers
        for _ in range(3):
            r = client.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"explorer bench: GET {url} answered {r.status_code}")
    samples: dict[str, list[float]] = {name: [] for name in urls}
    baseline: list[float] = []
    for _ in range(REQUESTS):
        for name, url in urls.items():
            samples[name].append(1000 * timed(lambda u=url: client.get(u)))
        baseline.append(1000 * timed(lambda: client.get(baseline_url)))
    base = median(baseline)
    note = f"{networks:,} networks, {networks * SIGHTINGS_EACH:,} observations, {REQUESTS} requests each, interleaved"
    out = []
    for name, values in samples.items():
        log(f"explorer: {name}: median {median(values):.1f} ms, p95 {p95(values):.1f} ms "
            f"(GET /account median {base:.1f} ms, p95 {p95(baseline):.1f} ms)")
        out.append(Measure("explorer", f"{name} (median)", round(median(values), 2), "ms",
                           "GET /account (median)", round(base, 2), round(median(values) / base, 2),
                           samples=values, baseline_samples=baseline, note=note))
        out.append(Measure("explorer", f"{name} (p95)", round(p95(values), 2), "ms",
                           "GET /account (p95)", round(p95(baseline), 2), round(p95(values) / p95(baseline), 2),
                           note=note))
    return out
