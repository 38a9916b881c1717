"""Vigil's own backups and reports (issue 17).

Backup: `archive.build` (pg_dump custom format + instance files + SHA-256 manifest, sealed
with the configured key) against bare `pg_dump --format=custom` of the same database, and
`restore.restore` (unseal, check every checksum, check the heads and the empty target,
pg_restore) against bare `pg_restore` into a new database, all in the same run, alternating
repetition by repetition. The database holds BENCH_BACKUP_OBSERVATIONS wireless
observations (default 1,000,000) on top of the demo data. PostgreSQL only.

Report: the executive monthly report end to end (build, HTML, PDF, CSV, store) against
building its data and HTML only, which shows what WeasyPrint costs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench.env import BenchEnv
from bench.timing import Measure, median, timed

REPS = int(os.environ.get("BENCH_BACKUP_REPS", "3"))


def _seed_observations(n: int, log) -> None:
    """n observations over n/10 networks, written by PostgreSQL itself (generate_series)."""
    from app.models import Organization, db
    from app.models.wireless import DeviceSource

    org_id = db.session.scalar(sa.select(Organization.id).order_by(Organization.id).limit(1))
    networks = max(1, n // 10)
    source_row = DeviceSource(org_id=org_id, code="bench-bk", name="Bench")
    db.session.add(source_row)
    db.session.flush()
    source = source_row.id
    db.session.execute(sa.text("""
        INSERT INTO networks (org_id, bssid, ssid, type, frequency, capabilities, encryption, service, rcois, mfgrid,
                              is_randomized_mac, firsttime_ms, lasttime_ms, lastlat, lastlon, bestlevel, bestlat,
                              bestlon, observation_count, needs_rescore)
        SELECT :o, 'BK:' || upper(lpad(to_hex(g), 8, '0')), 'bench-' || (g % 5000), 'W', 2412, '', 'wpa2', '', '', 0,
               false, 0, 0, 40.0, -74.0, -70, 40.0, -74.0, 10, false
        FROM generate_series(1, :n) g"""), {"o": org_id, "n": networks})
    first = db.session.scalar(sa.text("SELECT min(id) FROM networks WHERE bssid LIKE 'BK:%'"))
    db.session.execute(sa.text("""
        INSERT INTO observations (org_id, network_id, source_id, bssid, ssid, level, lat, lon, altitude, accuracy,
                                  time, observed_at_ms, time_ms, external, mfgrid, source_tag, source_pk, time_unknown)
        SELECT :o, :first + (g % :nets), :s, 'BK:' || upper(lpad(to_hex(g % :nets + 1), 8, '0')), 'bench', -60 - (g % 30),
               40.0 + (g % 1000) * 0.0001, -74.0 - (g % 997) * 0.0001, 0, 8,
               now() - make_interval(mins => g % 40000), 0, 0, false, 0, '', g::text, false
        FROM generate_series(1, :n) g"""), {"o": org_id, "first": first, "nets": networks, "s": source, "n": n})
    db.session.commit()
    log(f"backup: seeded {n} observations over {networks} networks")


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    from app.backup.archive import libpq_env

    return libpq_env(url)


def run(env: BenchEnv, log) -> list[Measure]:
    if env.backend != "postgresql":
        log("backup: skipped (needs BENCH_DATABASE_URL on PostgreSQL)")
        return []
    from app.backup import archive, restore
    from app.models import db

    n = int(os.environ.get("BENCH_BACKUP_OBSERVATIONS", "1000000"))
    measures: list[Measure] = []
    with env.app.app_context(), tempfile.TemporaryDirectory(prefix="vigil-bench-backup-") as tmp:
        work = Path(tmp)
        env.app.instance_path = str(work / "instance")
        (work / "instance").mkdir()
        _seed_observations(n, log)
        url = db.engine.url
        conninfo, penv = _libpq(url)
        ours, bare, ours_restore, bare_restore = [], [], [], []
        built = None
        for rep in range(REPS):
            dump = work / f"bare-{rep}.dump"
            bare.append(timed(lambda d=dump: subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(d), conninfo],
                env=penv, check=True)))
            ours.append(timed(lambda r=rep: _keep(archive.build(work / f"ours-{r}", encrypt=True))))
            built = _LAST[0]
            for target_list, how in ((bare_restore, "bare"), (ours_restore, "ours")):
                target = url.set(database=f"vigil_bench_restore_{secrets.token_hex(3)}")
                restore.create_database(target)
                try:
                    if how == "bare":
                        tconn, tenv = _libpq(target)
                        target_list.append(timed(lambda t=tconn, e=tenv, d=dump: subprocess.run(
                            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", t, str(d)],
                            env=e, check=True)))
                    else:
                        target_list.append(timed(lambda t=target, r=rep, b=built: restore.restore(
                            b.path, t, work / f"restored-{r}")))
                finally:
                    restore.drop_database(target)
            log(f"backup: rep {rep + 1}/{REPS}: ours {ours[-1]:.1f} s vs pg_dump {bare[-1]:.1f} s; "
                f"restore {ours_restore[-1]:.1f} s vs pg_restore {bare_restore[-1]:.1f} s")
        size = built.size / 1e6 if built else 0
        measures.append(Measure("backup", f"vigil backup create ({n:,} observations, sealed)", median(ours), "s",
                                "pg_dump -Fc", median(bare), median(ours) / median(bare), ours, bare,
                                note=f"archive {size:.0f} MB"))
        measures.append(Measure("backup", "vigil backup restore (checksums, heads, empty target)", median(ours_restore),
                                "s", "pg_restore", median(bare_restore), median(ours_restore) / median(bare_restore),
                                ours_restore, bare_restore))
        measures.append(_executive(env, log))
        db.session.remove()
    return measures


_LAST: list = [None]


def _keep(built):
    _LAST[0] = built
    return built


def _executive(env: BenchEnv, log) -> Measure:
    from app.models import Organization, db
    from app.reports import render, services
    from app.reports.registry import get_type

    org = db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))
    rtype = get_type("executive")
    full, html_only = [], []
    for _ in range(3):
        report = services.request_report(org.id, "executive", user_id=None, params={})
        db.session.flush()
        full.append(timed(lambda r=report: services.generate(r.id)))
        period = services.month_period(None)
        html_only.append(timed(lambda p=period: render.render_html(rtype.builder(org.id, p, {}), title=rtype.title,
                                                          org_name=org.name, period=p)))
        db.session.rollback()
    log(f"reports: executive {median(full) * 1000:.0f} ms vs data+HTML {median(html_only) * 1000:.0f} ms")
    return Measure("reports", "executive report: build + PDF + CSV + store", median(full) * 1000, "ms",
                   "build + HTML only", median(html_only) * 1000, median(full) / median(html_only), full, html_only)
