"""Exposure: importing an N-line combolist (1,000,000 by default; BENCH_EXPOSURE_LINES to change)
through the same service as the job and the CLI (seal, scan-less, parse, describe each password,
HMAC, dedupe, insert per batch), next to a PostgreSQL COPY of the same file into a one-column
table in the same run; then finding one e-mail among those credentials (the local corpus
source of ghost search), p95 over BENCH_EXPOSURE_LOOKUPS random lookups.

The file mixes the formats the importer reads (`:`, `;`, `|`, ` : `, username lines, bare
e-mails) over N/2 distinct addresses, so about a third of the lines are duplicate credentials.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.env import BenchEnv
from bench.timing import Measure

COPY_TABLE = "bench_combolist_copy"


def write_combolist(path: Path, lines: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    seps = (":", ";", "|", " : ")
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(lines):
            person = rng.randrange(max(1, lines // 2))
            kind = i % 10
            if kind == 9:
                fh.write(f"user{person}@bench{person % 97}.example\n")
            elif kind == 8:
                fh.write(f"handle{person}:Pw{person % 5000}!x\n")
            else:
                fh.write(f"user{person}@bench{person % 97}.example{seps[kind % 4]}Pw{person % 5000}!x\n")


def _copy_baseline(env: BenchEnv, path: Path) -> tuple[float, int]:
    from app.models import db

    with env.app.app_context():
        raw = db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
                cur.execute(f"CREATE TABLE {COPY_TABLE} (line text)")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur, open(path, "rb") as fh:
                # A delimiter and quote that never occur: each line is one text value.
                with cur.copy(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')") as copy:
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


def run(env: BenchEnv, log) -> list[Measure]:
    from app.exposure import importer, uploads
    from app.exposure.providers.base import Context, Query
    from app.exposure.providers.local import LocalCorpus
    from app.models import Organization, db

    n = int(os.environ.get("BENCH_EXPOSURE_LINES", "1000000"))
    lookups = int(os.environ.get("BENCH_EXPOSURE_LOOKUPS", "200"))
    workdir = Path(tempfile.mkdtemp(prefix="vigil-exposure-bench-"))
    path = workdir / "combolist.txt"
    write_combolist(path, n)
    log(f"exposure: wrote {n} lines ({path.stat().st_size / 2**20:.0f} MiB)")
    copy_s = copy_rows = None
    if env.backend == "postgresql":
        copy_s, copy_rows = _copy_baseline(env, path)
        log(f"exposure: COPY of {copy_rows} lines in {copy_s:.1f} s")
    env.app.instance_path = str(workdir / "instance")
    with env.app.app_context():
        org = Organization(name="Exposure bench", slug="exposure-bench", type="customer", primary_domain="bench1.example")
        db.session.add(org)
        db.session.commit()
        started = time.perf_counter()
        with open(path, "rb") as fh:
            row = uploads.receive(org.id, None, path.name, uploads.chunks_of(fh))
        db.session.commit()
        row = importer.run_import(row.id)
        elapsed = time.perf_counter() - started
        if row.processing_status != "completed":
            raise RuntimeError(f"exposure bench import: {row.processing_error}")
        log(f"exposure: {importer.summary(row)} in {elapsed:.1f} s ({n / elapsed:.0f} lines/s)")
        rng = random.Random(7)
        source, ctx, samples = LocalCorpus(), Context(org.id), []
        for _ in range(lookups):
            person = rng.randrange(max(1, n // 2))
            query = Query("email", f"user{person}@bench{person % 97}.example")
            t0 = time.perf_counter()
            source.search(ctx, query)
            samples.append((time.perf_counter() - t0) * 1000)
        p95 = statistics.quantiles(samples, n=20)[-1]
        log(f"exposure: e-mail lookup among {row.records_count} credentials, p95 {p95:.2f} ms")
        summary = importer.summary(row)
    for f in sorted(workdir.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    workdir.rmdir()
    return [
        Measure("exposure", f"combolist import {n} lines", round(n / elapsed, 1), "lines/s",
                "COPY into a one-column table" if copy_s else None,
                round(copy_rows / copy_s, 1) if copy_s else None,
                round(elapsed / copy_s, 2) if copy_s else None, note=summary),
        Measure("exposure", "find an e-mail among the credentials (p95)", round(p95, 2), "ms",
                note=f"{lookups} lookups, local corpus source, {summary}"),
    ]
