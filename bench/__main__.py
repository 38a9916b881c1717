"""`python -m bench`: run every benchmark, print the table, write bench/results/latest.json.

    python -m bench                 # SQLite in a temporary directory
    BENCH_DATABASE_URL=postgresql+psycopg://user:pw@127.0.0.1/vigil_bench python -m bench
    python -m bench --reps 3 --only audit
    python -m bench --scale large   # the large data set (1,000,000 sightings), and docs/performance.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    audit_bench,
    backup_bench,
    env,
    exposure_bench,
    fleet_bench,
    report,
    request_bench,
    search_bench,
    threats_bench,
    wireless_bench,
    wireless_explorer_bench,
    wireless_import_bench,
)
from bench.timing import Measure

# --scale: the sizes each benchmark reads from the environment (an explicit variable wins).
SCALES = {
    "small": {"BENCH_IMPORT_ROWS": "100000", "BENCH_IMPORT_SQLITE_ROWS": "20000"},
    "large": {"BENCH_IMPORT_ROWS": "1000000", "BENCH_IMPORT_SQLITE_ROWS": "100000"},
}
SECTIONS = ("audit", "requests", "threats", "fleet", "wireless", "explorer", "wireless_import", "search", "exposure",
            "backup", "rescore", "pages")
# Benchmarks with their own PostgreSQL data set and report (each also runs alone as
# `python -m <module>`): run as child processes, with --scale or when named with --only.
STANDALONE = {"rescore": "bench.wireless_rescore_bench", "pages": "bench.pages_bench"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


def run_standalone(name: str, module: str, scale: str | None, explicit: bool) -> None:
    """Run one standalone benchmark in a child process (its table goes to stdout)."""
    if not (scale or explicit):
        log(f"{name}: skipped (its own PostgreSQL data set: run with --scale or --only {name})")
        return
    extra = ["--scale", scale or "small"] if name == "rescore" else []
    log(f"{name}: python -m {module} {' '.join(extra)}".rstrip())
    done = subprocess.run([sys.executable, "-m", module, *extra], check=False)
    if done.returncode:
        log(f"{name}: exited with {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each audit loop (the median is reported; request counts are fixed)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    parser.add_argument("--scale", choices=tuple(SCALES), help="data set size; also writes docs/performance.md")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    if args.scale:
        for name, value in SCALES[args.scale].items():
            os.environ.setdefault(name, value)

    started = time.perf_counter()
    try:
        bench_env = env.build()
    except env.BenchSetupError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    log(f"database: {bench_env.database}")
    measures: list[Measure] = []

    def loaded(found: list[Measure]) -> list[Measure]:
        load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
        for m in found:
            m.load = m.load if m.load is not None else load
        return found

    try:
        if "audit" in sections:
            measures += loaded(audit_bench.run(bench_env, args.reps, log))
        if "requests" in sections:
            measures += loaded(request_bench.run(bench_env, log))
        if "threats" in sections:
            measures += loaded(threats_bench.run(bench_env, args.reps, log))
        if "fleet" in sections:
            measures += loaded(fleet_bench.run(bench_env, log))
        if "wireless" in sections:
            measures += loaded(wireless_bench.run(bench_env, log))
        if "explorer" in sections:
            measures += loaded(wireless_explorer_bench.run(bench_env, log))
        if "wireless_import" in sections:
            measures += loaded(wireless_import_bench.run(bench_env, log))
        if "search" in sections:
            measures += loaded(search_bench.run(bench_env, log))
        if "exposure" in sections:
            measures += loaded(exposure_bench.run(bench_env, log))
        if "backup" in sections:
            measures += loaded(backup_bench.run(bench_env, log))
    finally:
        bench_env.close()
    for name, module in STANDALONE.items():
        if name in sections:
            run_standalone(name, module, args.scale, explicit=bool(args.only))

    meta = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "backend": bench_env.backend,
        "database": bench_env.database,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "repetitions": args.reps,
        "duration_seconds": round(time.perf_counter() - started, 1),
    }
    print(f"Vigil benchmarks: {bench_env.backend} ({bench_env.database}), python {meta['python']}, "
          f"{meta['cpus']} cpus, load {', '.join(f'{x:.1f}' for x in meta['load_average'] or [])}")
    print()
    print(report.table(measures))
    path = report.write_json(meta, measures)
    if args.scale:
        doc = report.write_markdown(meta, measures, args.scale)
        print(f"written: {doc}")
    print()
    print(f"written: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
          f"({meta['duration_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
