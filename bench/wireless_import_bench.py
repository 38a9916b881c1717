"""WiGLE CSV import of N rows over N/10 radios (`--scale large`: 1,000,000 rows over 100,000
radios; BENCH_IMPORT_ROWS overrides) next to a plain PostgreSQL COPY of the same file into an
unindexed table, in the same run (issue 18.1: the import is to run at 0.1x a COPY or better).

The file comes from app/wireless/scenario.py's `large_wigle_csv` (skewed so some radios are
seen often) and is cached under bench/.cache (it takes ~30 s to write 1,000,000 rows). The
import runs in a child process through the same service as the job and the CLI
(`imports.run_import`), so its peak memory is that process's own ru_maxrss; the child also
reports its RSS just before the import, so the difference is what the import itself added.
The same child then imports the same file again (every row a duplicate: the dedupe pass).
The COPY baseline streams the file (pre-header skipped) into a table with typed columns, no
indexes and no constraints: the floor for getting these bytes into PostgreSQL. The ratio is
what parsing, validation, natural-key dedupe, the networks and ssid_history aggregates and
the observations indexes cost over that floor.

SQLite (embedded mode) has no COPY and is not held to the ratio: on PostgreSQL runs a second
child imports the first BENCH_IMPORT_SQLITE_ROWS rows (100,000 by default; 0 skips it) into a
fresh SQLite database built by the migrations, and its rows/s are reported on their own.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.env import BenchEnv
from bench.timing import Measure

COPY_TABLE = "bench_wigle_copy"
COPY_COLUMNS = ("mac text, ssid text, authmode text, firstseen timestamp, channel int, frequency int, rssi int, "
                "lat float8, lon float8, altitude float8, accuracy float8, rcois text, mfgrid text, type text")
CACHE = Path(__file__).resolve().parent / ".cache"


def bench_file(rows: int, log) -> Path:
    """The benchmark's WiGLE CSV of `rows` rows over rows/10 radios, written once and cached."""
    from app.wireless.scenario import large_wigle_csv

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"wigle_{rows}_{max(1, rows // 10)}_seed0.csv"
    if not path.exists():
        started = time.perf_counter()
        part = path.with_suffix(".part")
        large_wigle_csv(part, rows=rows, networks=max(1, rows // 10))
        part.rename(path)
        log(f"wireless import: wrote {rows} rows ({path.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - started:.0f} s to {path}")
    return path


def head_file(path: Path, rows: int) -> Path:
    """The first `rows` rows of a cached file (with its two header lines), cached too."""
    out = path.with_name(f"{path.stem}_head{rows}.csv")
    if not out.exists():
        with open(path, encoding="utf-8") as src, open(out.with_suffix(".part"), "w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(src, rows + 2))
        out.with_suffix(".part").rename(out)
    return out


def backend_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) a local PostgreSQL backend has used, or None when its
    /proc entry cannot be read (a remote server). CPU time, unlike wall time, hardly moves
    with the load other work puts on a shared machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _copy_baseline(env: BenchEnv, path: Path) -> tuple[float, int, float | None]:
    """Seconds to COPY the file's rows into an unindexed table, the rows COPY counted, and the
    CPU seconds it took (this process and the server backend; None when not measurable)."""
    from app.models import db

    with env.app.app_context():
        raw = db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
                cur.execute(f"CREATE TABLE {COPY_TABLE} ({COPY_COLUMNS})")
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            conn.commit()
            cpu_before, server_before = own_cpu(), backend_cpu(pid)
            started = time.perf_counter()
            with conn.cursor() as cur, open(path, "rb") as fh:
                fh.readline()  # WiGLE's pre-header line; COPY's HEADER skips the column header
                with cur.copy(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
                rows = cur.rowcount
            conn.commit()
            elapsed = time.perf_counter() - started
            server_after = backend_cpu(pid)
            cpu = (own_cpu() - cpu_before + server_after - server_before
                   if server_before is not None and server_after is not None else None)
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE {COPY_TABLE}")
            conn.commit()
        finally:
            raw.close()
    return elapsed, rows, cpu


def _child(url: str, org_id: int, path: str, migrate: bool = False) -> None:
    """In the child process: import the file for the org (twice) and print timings and memory as JSON."""
    from app import create_app
    from app.models import Organization, db
    from app.wireless import imports

    app = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret-key",
                      "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SERVER_NAME": None})
    app.instance_path = tempfile.mkdtemp(prefix="vigil-import-bench-")
    with app.app_context():
        if migrate:  # a fresh SQLite database: the schema through the migrations, one organization
            from flask_migrate import upgrade

            upgrade(revision="heads")
            org = Organization(name="Import bench", slug="import-bench", type="customer")
            db.session.add(org)
            db.session.commit()
            org_id = org.id
        file = Path(path)
        fmt = imports.detect(file)
        source = imports.resolve_source(org_id, new_code="bench-phone", device_type="wigle")
        out = {}
        for run in ("first", "again"):
            imp = imports.create_import(org_id, source, file, file.name, fmt, None, stored=False)
            db.session.commit()
            pid = _backend_pid(db)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            cpu_before, server_before = own_cpu(), backend_cpu(pid)
            started = time.perf_counter()
            imp = imports.run_import(imp.id, path=file)
            elapsed = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            server_after = backend_cpu(pid) if _backend_pid(db) == pid else None
            client_cpu = own_cpu() - cpu_before
            out[run] = {"elapsed": elapsed, "rss_before_kib": before, "rss_peak_kib": peak,
                        "client_cpu": client_cpu,
                        "server_cpu": (server_after - server_before
                                       if server_before is not None and server_after is not None else None),
                        "status": imp.status, "read": imp.rows_read, "imported": imp.rows_imported,
                        "duplicate": imp.rows_duplicate, "rejected": imp.rows_rejected,
                        "networks": imp.networks_touched}
        print(json.dumps(out))
        db.session.remove()
        db.engine.dispose()


def _backend_pid(db) -> int | None:
    """The session's PostgreSQL backend (the import uses one connection at a time), or None."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    db.session.commit()
    return pid


def _run_child(*args: str) -> dict:
    child = subprocess.run([sys.executable, "-m", "bench.wireless_import_bench", *args],
                           capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1])
    if child.returncode != 0:
        raise RuntimeError(f"wireless import bench child failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def run(env: BenchEnv, log) -> list[Measure]:
    from app.models import Organization, db
    from app.wireless import imports

    n = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    path = bench_file(n, log)
    size = f"{n:,} rows over {max(1, n // 10):,} radios, {path.stat().st_size / 2**20:.0f} MiB"
    with env.app.app_context():
        org = Organization(name="Import bench", slug="import-bench", type="customer")
        db.session.add(org)
        db.session.commit()
        org_id = org.id
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
    copy_s = copy_rows = copy_cpu = None
    if env.backend == "postgresql":
        copy_s, copy_rows, copy_cpu = _copy_baseline(env, path)
        log(f"wireless import: COPY of {copy_rows} rows in {copy_s:.2f} s ({copy_rows / copy_s:,.0f} rows/s)")
    copy_rate = round(copy_rows / copy_s, 1) if copy_s else None
    out = _run_child(url, str(org_id), str(path))
    first, again = out["first"], out["again"]
    if first["status"] != "succeeded" or first["read"] != n or again["imported"] != 0:
        raise RuntimeError(f"wireless import bench: {out}")
    rate, again_rate = n / first["elapsed"], n / again["elapsed"]
    peak_mib, before_mib = first["rss_peak_kib"] / 1024, first["rss_before_kib"] / 1024
    log(f"wireless import: {n} rows in {first['elapsed']:.1f} s ({rate:,.0f} rows/s, "
        f"{rate / copy_rate if copy_rate else 0:.3f}x COPY), imported {first['imported']}, "
        f"duplicate {first['duplicate']}, networks {first['networks']}, peak RSS {peak_mib:.0f} MiB "
        f"({before_mib:.0f} MiB before the import); again (all duplicates) in {again['elapsed']:.1f} s")
    note = (f"batches of {imports.BATCH}, folded every {imports.FOLD_ROWS:,} rows; {first['imported']} new, "
            f"{first['duplicate']} duplicate, {first['networks']} networks"
            + (f"; {rate / copy_rate:.3f}x the speed of COPY (goal: 0.1x or better)" if copy_rate else ""))
    load = _load()
    measures = [
        Measure("wireless", f"WiGLE CSV import {n} rows ({env.backend})", round(rate, 1), "rows/s",
                "plain COPY into an unindexed table" if copy_s else None, copy_rate,
                round(first["elapsed"] / copy_s, 2) if copy_s else None, note=note, size=size,
                peak_mib=round(peak_mib, 1), load=load),
        Measure("wireless", f"WiGLE CSV import {n} rows, again (all duplicates)", round(again_rate, 1), "rows/s",
                "plain COPY into an unindexed table" if copy_s else None, copy_rate,
                round(again["elapsed"] / copy_s, 2) if copy_s else None,
                note=f"{again['duplicate']} duplicate, {again['imported']} new", size=size,
                peak_mib=round(again["rss_peak_kib"] / 1024, 1), load=load),
        Measure("wireless", f"WiGLE CSV import {n} rows (peak RSS)", round(peak_mib, 1), "MiB",
                "RSS of the same process before the import", round(before_mib, 1),
                round(peak_mib / before_mib, 2), note="ru_maxrss of the importing child process", size=size,
                peak_mib=round(peak_mib, 1), load=load),
    ]
    if copy_cpu and first["server_cpu"] is not None:
        import_cpu = first["client_cpu"] + first["server_cpu"]
        log(f"wireless import: CPU {import_cpu:.1f} s (Python {first['client_cpu']:.1f} s, server "
            f"{first['server_cpu']:.1f} s) against {copy_cpu:.1f} s for the COPY")
        measures.append(Measure(
            "wireless", f"WiGLE CSV import {n} rows (CPU seconds, client + server)", round(import_cpu, 1), "s",
            "the COPY's CPU seconds (client + server)", round(copy_cpu, 2), round(import_cpu / copy_cpu, 2),
            note=(f"Python {first['client_cpu']:.1f} s (both threads), server backend {first['server_cpu']:.1f} s; "
                  "CPU time hardly moves with other work's load, wall time does"), size=size,
            peak_mib=round(peak_mib, 1), load=load))
    sqlite_rows = int(os.environ.get("BENCH_IMPORT_SQLITE_ROWS", "100000"))
    if env.backend == "postgresql" and sqlite_rows > 0:
        part = head_file(path, min(sqlite_rows, n))
        with tempfile.TemporaryDirectory(prefix="vigil-import-bench-sqlite-") as tmp:
            lite = _run_child(f"sqlite:///{Path(tmp) / 'bench.db'}", "0", str(part), "--migrate")["first"]
        lite_rate = lite["read"] / lite["elapsed"]
        log(f"wireless import (SQLite): {lite['read']} rows in {lite['elapsed']:.1f} s ({lite_rate:,.0f} rows/s)")
        measures.append(Measure(
            "wireless", f"WiGLE CSV import {lite['read']} rows (SQLite, embedded mode)", round(lite_rate, 1),
            "rows/s", note="not held to the COPY ratio; reported", size=f"first {lite['read']:,} rows of the file",
            peak_mib=round(lite["rss_peak_kib"] / 1024, 1), load=_load()))
    return measures


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3], migrate="--migrate" in sys.argv[4:])
