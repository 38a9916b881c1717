"""Wireless rescoring at scale: N networks (100,000 by default) with a few sightings each.

The baseline, in the same run, is reading exactly the same networks and sightings in the
same batches without scoring or writing anything: the ratio is what the scorer plus the
bulk update and history insert cost over the I/O that any rescoring needs. Peak memory is
tracemalloc's peak during a second, untimed run (Python allocations), which must stay flat in N because
rescoring works in batches.

BENCH_WIRELESS_NETWORKS sets N (e.g. 10000 for a quick look).
"""

from __future__ import annotations

import os
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.env import BenchEnv
from bench.timing import Measure

SIGHTINGS_EACH = 6
CHUNK = 10_000


def _seed(org_id: int, n: int, log) -> None:
    from app.models import db
    from app.models.wireless import DeviceSource, Network, Observation

    source = DeviceSource(org_id=org_id, code="bench", name="Bench phone")
    db.session.add(source)
    db.session.flush()
    rng = random.Random(3)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for first in range(0, n, CHUNK):
        networks, ids = [], []
        for i in range(first, min(n, first + CHUNK)):
            bssid = f"{0x02:02X}:{(i >> 24) & 255:02X}:{(i >> 16) & 255:02X}:{(i >> 8) & 255:02X}:{i & 255:02X}:01"
            networks.append({"org_id": org_id, "bssid": bssid, "ssid": f"net-{i % 5000}", "type": "WWWWEB"[i % 6],
                             "firsttime_ms": 0, "lasttime_ms": 0, "lastlat": 0.0, "lastlon": 0.0,
                             "needs_rescore": True})
        ids = db.session.scalars(sa.insert(Network).returning(Network.id, sort_by_parameter_order=True),
                                 networks).all()
        observations = []
        for network_id, net in zip(ids, networks, strict=True):
            base_lat, base_lon = 40.0 + rng.uniform(-0.5, 0.5), -74.0 + rng.uniform(-0.5, 0.5)
            mobile = rng.random() < 0.05  # a few that move with the collector
            for k in range(SIGHTINGS_EACH):
                when = start + timedelta(days=k if mobile else 0, minutes=rng.randint(0, 600))
                lat = base_lat + (rng.uniform(-0.05, 0.05) if mobile else rng.uniform(-0.0003, 0.0003))
                lon = base_lon + (rng.uniform(-0.05, 0.05) if mobile else rng.uniform(-0.0003, 0.0003))
                ms = int(when.timestamp() * 1000)
                observations.append({"org_id": org_id, "network_id": network_id, "source_id": source.id,
                                     "bssid": net["bssid"], "ssid": net["ssid"], "level": rng.randint(-95, -50),
                                     "lat": lat, "lon": lon, "accuracy": 8.0, "time": when,
                                     "observed_at_ms": ms, "time_ms": ms, "source_pk": str(k)})
        db.session.execute(sa.insert(Observation), observations)
        db.session.commit()
        log(f"wireless: seeded {min(n, first + CHUNK)} of {n} networks")


def _read_only_pass(org_id: int) -> int:
    """The baseline: the same batched reads rescoring does, with no scoring and no writes."""
    from app.models import db
    from app.models.wireless import Network
    from app.wireless import rescore

    ids = db.session.scalars(sa.select(Network.id).where(Network.org_id == org_id).order_by(Network.id)).all()
    seen = 0
    for first in range(0, len(ids), rescore.BATCH):
        chunk = ids[first:first + rescore.BATCH]
        networks = db.session.scalars(sa.select(Network).where(Network.id.in_(chunk))).all()
        sightings = rescore._sightings(org_id, chunk, 20_000)
        rescore._tags(chunk)
        seen += len(networks) + sum(len(s) for s in sightings.values()) * 0
        db.session.commit()
    return seen


def run(env: BenchEnv, log) -> list[Measure]:
    from app.models import Organization, db
    from app.wireless import rescore

    n = int(os.environ.get("BENCH_WIRELESS_NETWORKS", "100000"))
    with env.app.app_context():
        org = Organization(name="Wireless bench", slug="wireless-bench", type="customer")
        db.session.add(org)
        db.session.commit()
        org_id = org.id
        _seed(org_id, n, log)

        started = time.perf_counter()
        baseline_count = _read_only_pass(org_id)
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        result = rescore.rescore(org_id, everything=True)
        elapsed = time.perf_counter() - started
        # Memory in a second pass: tracemalloc roughly doubles the run time, so it never
        # runs under the stopwatch.
        tracemalloc.start()
        rescore.rescore(org_id, everything=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.session.remove()
    if result.scored != n or baseline_count != n:
        raise RuntimeError(f"wireless bench: scored {result.scored}, read {baseline_count}, expected {n}")
    log(f"wireless: rescored {n} networks in {elapsed:.1f} s (read-only pass {baseline:.1f} s), "
        f"peak {peak / 2**20:.1f} MiB; levels {result.levels}")
    note = f"{n} networks x {SIGHTINGS_EACH} sightings, batches of {rescore.BATCH}, with history rows"
    return [
        Measure("wireless", f"rescore {n} networks", round(n / elapsed, 1), "networks/s",
                "read the same rows, no scoring", round(n / baseline, 1), round(elapsed / baseline, 2), note=note),
        Measure("wireless", f"rescore {n} networks (peak Python memory)", round(peak / 2**20, 2), "MiB",
                note="tracemalloc peak during the rescore"),
    ]
