"""Full-organization wireless rescoring at scale (issue 18.2), on PostgreSQL.

    python -m bench.wireless_rescore_bench --scale small   # 100,000 sightings over 10,000 radios
    python -m bench.wireless_rescore_bench --scale large   # 1,000,000 sightings over 100,000 radios

The data set lives in its own database (BENCH_RESCORE_DATABASE_URL, default
postgresql+psycopg://postgres:postgres@127.0.0.1:5432/vigil_bench_rescore; the name must
contain "bench") and is built once per scale, then reused (cached): the organization
`rescore-bench-<scale>` is checked for its sighting count before anything is generated.
Sightings are generated inside PostgreSQL with `generate_series` (ten per radio over the
last three weeks around a home in Denver: 90 % fixed radios heard at one spot, 5 % that move
with the collector on ten different days, 5 % Bluetooth/BLE near home), so building the
large set takes a minute or two, not an import.

One timed run of `rescore.rescore(org, everything=True)` (the `wireless.rescore` job's
code) reports networks/s and where the time went (`RescoreResult.timings`: building the
scoring context, loading sightings, scoring, writing scores back). Peak memory is
reported twice: tracemalloc's peak of Python allocations in a second, untimed run (it
must stay flat in the organization's size: work goes in chunks of networks), and the
process's peak RSS (ru_maxrss) after both runs. The machine's load average is printed
with the numbers: it is shared, so absolute times swing between runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

SCALES = {"small": 100_000, "large": 1_000_000, "tiny": 10_000}
PER_RADIO = 10
HOME = (39.7392, -104.9903)
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/vigil_bench_rescore"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _url() -> str:
    from app.config import normalise_database_url

    url = sa.make_url(normalise_database_url(os.environ.get("BENCH_RESCORE_DATABASE_URL", DEFAULT_URL)))
    if not url.drivername.startswith("postgresql") or "bench" not in (url.database or ""):
        raise SystemExit("BENCH_RESCORE_DATABASE_URL must name a PostgreSQL database whose name contains 'bench'")
    admin = url.set(database="postgres")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def make_app():
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret-key",
                      "SQLALCHEMY_DATABASE_URI": _url(), "REDIS_URL": None, "SERVER_NAME": None})
    with app.app_context():
        upgrade(revision="heads")  # a no-op once the cached database is current
    return app


# Every row is generated in SQL: radio i gets a fixed base position from a hash of its
# number, then PER_RADIO sightings. Fixed radios (i % 20 > 1) stay within ~30 m of it at
# random times; movers (i % 20 == 0) are heard on PER_RADIO different days up to ~5 km
# apart; i % 20 == 1 are Bluetooth/BLE radios near home with a strong signal.
_NETWORKS = """
INSERT INTO networks (org_id, bssid, ssid, type, frequency, capabilities, encryption, service, rcois, mfgrid,
                      manufacturer, is_randomized_mac, firsttime_ms, lasttime_ms, lastlat, lastlon, bestlevel,
                      bestlat, bestlon, observation_count, needs_rescore)
SELECT :org, upper(concat_ws(':', '02', lpad(to_hex((i >> 24) & 255), 2, '0'), lpad(to_hex((i >> 16) & 255), 2, '0'),
                             lpad(to_hex((i >> 8) & 255), 2, '0'), lpad(to_hex(i & 255), 2, '0'), 'B7')),
       CASE WHEN i % 20 = 0 AND i % 60 = 0 THEN 'myChevrolet ' || i ELSE 'net-' || (i % 5000) END,
       CASE WHEN i % 20 = 1 THEN (CASE WHEN i % 40 = 1 THEN 'E' ELSE 'B' END) ELSE 'W' END,
       2437, '[WPA2-PSK-CCMP][ESS]', 'wpa2', '', '', 0,
       (ARRAY['Sierra Wireless', 'Apple, Inc.', 'Espressif Inc.', NULL])[1 + i % 4], false,
       0, 0, 0, 0, -200, 0, 0, 0, true
FROM generate_series(1, :radios) AS i
"""

_OBSERVATIONS = """
INSERT INTO observations (org_id, network_id, source_id, bssid, ssid, radio_type, level, lat, lon, altitude, accuracy,
                          time, observed_at_ms, time_ms, external, mfgrid, source_tag, source_pk, time_unknown)
SELECT :org, n.id, :source, n.bssid, n.ssid, n.type,
       CASE WHEN n.kind = 1 THEN -45 - (random() * 10)::int ELSE -95 + (random() * 45)::int END,
       n.lat0 + CASE n.kind WHEN 0 THEN (random() - 0.5) * 0.05 WHEN 1 THEN (random() - 0.5) * 0.004
                            ELSE (random() - 0.5) * 0.0005 END,
       n.lon0 + CASE n.kind WHEN 0 THEN (random() - 0.5) * 0.06 WHEN 1 THEN (random() - 0.5) * 0.005
                            ELSE (random() - 0.5) * 0.0006 END,
       0, 5 + (random() * 20)::int, t.t, t.ms, t.ms, false, 0, '', k::text, false
FROM (SELECT id, bssid, ssid, type,
             CASE WHEN (id % 20) = 0 THEN 0 WHEN (id % 20) = 1 THEN 1 ELSE 2 END AS kind,
             CASE WHEN id % 20 = 1 THEN :hlat ELSE :hlat + (((id::bigint * 2654435761) % 100003) / 100003.0 - 0.5) * 0.3 END AS lat0,
             CASE WHEN id % 20 = 1 THEN :hlon ELSE :hlon + (((id::bigint * 40503) % 99991) / 99991.0 - 0.5) * 0.4 END AS lon0
      FROM networks WHERE org_id = :org) AS n
CROSS JOIN generate_series(0, :per - 1) AS k
CROSS JOIN LATERAL (
    SELECT ms, TIMESTAMPTZ 'epoch' + ms * INTERVAL '1 millisecond' AS t
    FROM (SELECT (:start_ms + CASE WHEN n.kind = 0 THEN k * 2 ELSE (random() * 20)::int END * 86400000::bigint
                  + (random() * 86400000)::bigint) AS ms) AS m
) AS t
"""

_AGGREGATES = """
UPDATE networks AS n SET firsttime_ms = a.first, lasttime_ms = a.last, observation_count = a.count,
       lastlat = a.lat, lastlon = a.lon, bestlat = a.lat, bestlon = a.lon, bestlevel = a.best
FROM (SELECT network_id, min(time_ms) AS first, max(time_ms) AS last, count(*) AS count, max(level) AS best,
             avg(lat) AS lat, avg(lon) AS lon
      FROM observations WHERE org_id = :org GROUP BY network_id) AS a
WHERE n.id = a.network_id
"""


def ensure_data(scale: str) -> int:
    """The scale's organization id, building its data set first unless it is already there."""
    from app.models import Organization, db
    from app.models.wireless import DeviceSource, LocationMarker, Observation

    sightings = SCALES[scale]
    radios = sightings // PER_RADIO
    slug = f"rescore-bench-{scale}"
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if org is not None:
        have = db.session.scalar(sa.select(sa.func.count()).select_from(Observation)
                                 .where(Observation.org_id == org.id))
        if have == sightings:
            log(f"{slug}: cached ({have} sightings)")
            return org.id
        log(f"{slug}: {have} sightings, expected {sightings}: rebuilding")
        db.session.execute(sa.delete(Observation).where(Observation.org_id == org.id))
        db.session.delete(org)
        db.session.commit()
    started = time.perf_counter()
    org = Organization(name=f"Rescore bench ({scale})", slug=slug, type="customer")
    db.session.add(org)
    db.session.flush()
    source = DeviceSource(org_id=org.id, code="bench", name="Bench phone")
    db.session.add(source)
    db.session.add(LocationMarker(org_id=org.id, name="Home", lat=HOME[0], lon=HOME[1], is_home=True,
                                  radius_km=0.5))
    db.session.flush()
    db.session.execute(sa.text("SELECT setseed(0.18)"))
    db.session.execute(sa.text(_NETWORKS), {"org": org.id, "radios": radios})
    start_ms = int((time.time() - 21 * 86400) * 1000)
    db.session.execute(sa.text(_OBSERVATIONS), {"org": org.id, "source": source.id, "per": PER_RADIO,
                                                "hlat": HOME[0], "hlon": HOME[1], "start_ms": start_ms})
    db.session.execute(sa.text(_AGGREGATES), {"org": org.id})
    db.session.commit()
    db.session.execute(sa.text("ANALYZE networks"))
    db.session.execute(sa.text("ANALYZE observations"))
    db.session.commit()
    log(f"{slug}: built {sightings} sightings over {radios} radios in {time.perf_counter() - started:.1f} s")
    return org.id


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parent)
    return out.stdout.strip() or "?"


def run_scale(app, scale: str, memory: bool = True) -> dict:
    """Build or reuse the scale's data, rescore everything once timed and once under tracemalloc."""
    from app.models import db
    from app.wireless import rescore

    with app.app_context():
        org_id = ensure_data(scale)
        db.session.remove()
    with app.app_context():
        load_before = _load()
        started = time.perf_counter()
        result = rescore.rescore(org_id, everything=True)
        elapsed = time.perf_counter() - started
        load_after = _load()
        db.session.remove()
    peak = None
    if memory:
        with app.app_context():
            tracemalloc.start()
            rescore.rescore(org_id, everything=True)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.session.remove()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out = {"scale": scale, "sightings": SCALES[scale], "networks": result.scored, "seconds": elapsed,
           "networks_per_s": result.scored / elapsed, "timings": dict(result.timings or {}),
           "levels": result.levels, "tracemalloc_peak_mib": None if peak is None else peak / 2**20,
           "maxrss_mib": rss, "load": f"{load_before} -> {load_after}", "chunk": rescore.BATCH,
           "commit": _commit()}
    t = out["timings"]
    log(f"{scale}: {result.scored} networks in {elapsed:.1f} s = {out['networks_per_s']:.0f} networks/s; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
        + (f"; tracemalloc peak {peak / 2**20:.1f} MiB" if peak is not None else "")
        + f"; max RSS {rss:.0f} MiB; load {out['load']}; levels {result.levels}")
    return out


def markdown_row(r: dict) -> str:
    t = r["timings"]
    return (f"| {r['scale']} | {r['sightings']:,} / {r['networks']:,} | {r['seconds']:.1f} s | "
            f"{r['networks_per_s']:,.0f} | {t.get('context', 0):.1f} s | {t.get('load', 0):.1f} s | "
            f"{t.get('score', 0):.1f} s | {t.get('write', 0):.1f} s | {t.get('alerts', 0):.1f} s | "
            + (f"{r['tracemalloc_peak_mib']:.1f} MiB" if r["tracemalloc_peak_mib"] is not None else "-")
            + f" | {r['maxrss_mib']:.0f} MiB | {r['load']} | {r['commit']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wireless_rescore_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), action="append",
                        help="small (100,000 sightings) or large (1,000,000); repeatable; default small")
    parser.add_argument("--no-memory", action="store_true", help="skip the second, tracemalloc run")
    args = parser.parse_args(argv)
    app = make_app()
    rows = [run_scale(app, scale, memory=not args.no_memory) for scale in args.scale or ["small"]]
    print("| scale | sightings / networks | total | networks/s | context | loading sightings | scoring | "
          "writing | alert rules | peak Python memory | max RSS | load avg (1/5/15 min, before -> after) | commit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(markdown_row(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
