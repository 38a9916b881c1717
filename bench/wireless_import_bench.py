"""WiGLE CSV import of N rows (1,000,000 by default; BENCH_IMPORT_ROWS to change) next to a
plain PostgreSQL COPY of the same file into an unindexed table, in the same run.

The file comes from app/wireless/scenario.py's `large_wigle_csv` (N rows over N/10 radios,
skewed so some are seen often). The import runs in a child process through the same service
as the job and the CLI (`imports.run_import`), so its peak memory is that process's own
ru_maxrss; the child also reports its RSS just before the import, so the difference is what
the import itself added. The COPY baseline streams the same file (pre-header skipped) into
a table with typed columns, no indexes and no constraints: the floor for getting these bytes
into PostgreSQL. The ratio is what parsing, validation, natural-key dedupe, the networks
and ssid_history aggregates and the observations indexes cost over that floor. On SQLite
there is no COPY: the import alone is reported.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.env import BenchEnv
from bench.timing import Measure

COPY_TABLE = "bench_wigle_copy"
COPY_COLUMNS = ("mac text, ssid text, authmode text, firstseen timestamp, channel int, frequency int, rssi int, "
                "lat float8, lon float8, altitude float8, accuracy float8, rcois text, mfgrid text, type text")


def _copy_baseline(env: BenchEnv, path: Path) -> tuple[float, int]:
    """Seconds to COPY the file's rows into an unindexed table, and the rows COPY counted."""
    from app.models import db

    with env.app.app_context():
        raw = db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
                cur.execute(f"CREATE TABLE {COPY_TABLE} ({COPY_COLUMNS})")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur, open(path, "rb") as fh:
                fh.readline()  # WiGLE's pre-header line; COPY's HEADER skips the column header
                with cur.copy(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
                rows = cur.rowcount
            conn.commit()
            elapsed = time.perf_counter() - started
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE {COPY_TABLE}")
            conn.commit()
        finally:
            raw.close()
    return elapsed, rows


def _child(url: str, org_id: int, path: str) -> None:
    """In the child process: import the file for the org and print timings and memory as JSON."""
    from app import create_app
    from app.models import db
    from app.wireless import imports

    app = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret-key",
                      "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SERVER_NAME": None})
    app.instance_path = tempfile.mkdtemp(prefix="vigil-import-bench-")
    with app.app_context():
        file = Path(path)
        fmt = imports.detect(file)
        source = imports.resolve_source(org_id, new_code="bench-phone", device_type="wigle")
        imp = imports.create_import(org_id, source, file, file.name, fmt, None, stored=False)
        db.session.commit()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        imp = imports.run_import(imp.id, path=file)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"elapsed": elapsed, "rss_before_kib": before, "rss_peak_kib": peak,
                          "status": imp.status, "read": imp.rows_read, "imported": imp.rows_imported,
                          "duplicate": imp.rows_duplicate, "rejected": imp.rows_rejected,
                          "networks": imp.networks_touched}))
        db.session.remove()
        db.engine.dispose()


def run(env: BenchEnv, log) -> list[Measure]:
    from app.models import Organization, db
    from app.wireless import imports
    from app.wireless.scenario import large_wigle_csv

    n = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    workdir = Path(tempfile.mkdtemp(prefix="vigil-import-bench-"))
    path = workdir / "bench_wigle.csv"
    try:
        started = time.perf_counter()
        large_wigle_csv(path, rows=n, networks=max(1, n // 10))
        log(f"wireless import: wrote {n} rows ({path.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - started:.0f} s")
        with env.app.app_context():
            org = Organization(name="Import bench", slug="import-bench", type="customer")
            db.session.add(org)
            db.session.commit()
            org_id = org.id
            url = db.engine.url.render_as_string(hide_password=False)
            db.session.remove()
        copy_s = copy_rows = None
        if env.backend == "postgresql":
            copy_s, copy_rows = _copy_baseline(env, path)
            log(f"wireless import: COPY of {copy_rows} rows in {copy_s:.1f} s")
        child = subprocess.run([sys.executable, "-m", "bench.wireless_import_bench", url, str(org_id), str(path)],
                               capture_output=True, text=True, check=False,
                               cwd=Path(__file__).resolve().parents[1])
        if child.returncode != 0:
            raise RuntimeError(f"wireless import bench child failed:\n{child.stderr[-3000:]}")
        out = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        for f in workdir.iterdir():
            f.unlink()
        workdir.rmdir()
    if out["status"] != "succeeded" or out["read"] != n:
        raise RuntimeError(f"wireless import bench: {out}")
    rate = n / out["elapsed"]
    peak_mib, before_mib = out["rss_peak_kib"] / 1024, out["rss_before_kib"] / 1024
    log(f"wireless import: {n} rows in {out['elapsed']:.1f} s ({rate:.0f} rows/s), "
        f"imported {out['imported']}, duplicate {out['duplicate']}, networks {out['networks']}, "
        f"peak RSS {peak_mib:.0f} MiB ({before_mib:.0f} MiB before the import)")
    note = (f"{n} rows over {n // 10} radios, batches of {imports.BATCH}; {out['imported']} new, "
            f"{out['duplicate']} duplicate, {out['networks']} networks")
    measures = [Measure("wireless", f"WiGLE CSV import {n} rows", round(rate, 1), "rows/s",
                        "plain COPY into an unindexed table" if copy_s else None,
                        round(copy_rows / copy_s, 1) if copy_s else None,
                        round(out["elapsed"] / copy_s, 2) if copy_s else None, note=note),
                Measure("wireless", f"WiGLE CSV import {n} rows (peak RSS)", round(peak_mib, 1), "MiB",
                        "RSS of the same process before the import", round(before_mib, 1),
                        round(peak_mib / before_mib, 2), note="ru_maxrss of the importing child process")]
    return measures


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
