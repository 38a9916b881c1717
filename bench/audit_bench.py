"""Audit log: the cost of the hash chain on append, verify throughput, verify memory.

Append: N `audit.record()` calls (each reads the last hash, under PostgreSQL's advisory
lock, hashes the row and flushes it), against N plain ORM inserts of the same content
into an identical table without the chain. Both commit every COMMIT_EVERY rows: with one
commit per row, SQLite's fsync dominates both loops and buries the chain's own cost in
disk noise (tried: both near 120-160 rows/s, in either order). The two loops alternate
repetition by repetition, so drift on a shared machine hits both alike.

Memory: verify_chain's peak Python allocations at three chain lengths, to show that it
is bounded by its batch size rather than growing with the chain.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry

from app import audit
from app.models import AuditLog, Organization, User, db, utcnow
from bench.env import BenchEnv
from bench.timing import Measure, median, timed

N_APPEND = 2000
COMMIT_EVERY = 20
# Chain lengths at which verify's memory is measured: 2k (one batch), then 10k and 20k.
MEMORY_POINTS = (2_000, 10_000, 20_000)
FILL_COMMIT_EVERY = 2000


class PlainAudit:
    """The baseline's row: audit_log's columns and indexes, no chain, no lock."""


def _plain_table() -> sa.Table:
    """A copy of audit_log (same columns, types, indexes, foreign keys) named bench_audit_plain."""
    source = AuditLog.__table__
    metadata = sa.MetaData()
    for parent in (Organization.__table__, User.__table__):
        parent.to_metadata(metadata)  # only so the foreign keys resolve; never created
    plain = sa.Table(
        "bench_audit_plain", metadata,
        *[sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in source.columns],
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("row_hash", name="uq_bench_audit_plain_row_hash"),
    )
    for index in source.indexes:
        sa.Index(str(index.name).replace("audit_log", "bench_audit_plain"),
                 *[plain.c[c.name] for c in index.columns], unique=index.unique)
    return plain


def _map_plain() -> sa.Table:
    table = _plain_table()
    registry().map_imperatively(PlainAudit, table)
    db.session.close()  # DDL on SQLite must not wait on this session's open transaction
    table.create(db.engine, checkfirst=True)
    return table


def _content(i: int) -> dict[str, Any]:
    """What each appended row says: a typical small change with old and new values."""
    return {
        "action": "bench.setting_changed",
        "resource_type": "setting",
        "resource_id": f"bench-{i}",
        "old": {"value": i, "enabled": False},
        "new": {"value": i + 1, "enabled": True},
        "details": {"reason": "benchmark", "sequence": i},
    }


def append_audited(org_id: int, start: int, n: int, commit_every: int = COMMIT_EVERY) -> None:
    for i in range(start, start + n):
        c = _content(i)
        audit.record(c["action"], resource_type=c["resource_type"], resource_id=c["resource_id"],
                     old=c["old"], new=c["new"], details=c["details"], org_id=org_id,
                     actor_type="system", actor_label="bench")
        if (i - start + 1) % commit_every == 0:
            db.session.commit()
    db.session.commit()


def append_plain(org_id: int, start: int, n: int, commit_every: int = COMMIT_EVERY) -> None:
    for i in range(start, start + n):
        c = _content(i)
        row = PlainAudit()
        for name, value in {
            "created_at": utcnow(), "org_id": org_id, "actor_type": "system", "user_id": None,
            "actor_label": "bench", "user_role": None, "action": c["action"],
            "resource_type": c["resource_type"], "resource_id": c["resource_id"],
            "old_values": c["old"], "new_values": c["new"], "details": c["details"],
            "ip_address": None, "user_agent": None, "result": "success", "error_message": None,
            "prev_hash": audit.GENESIS_HASH, "row_hash": f"{i:064x}",
        }.items():
            setattr(row, name, value)
        db.session.add(row)
        db.session.flush()  # one INSERT per row, as record() does
        if (i - start + 1) % commit_every == 0:
            db.session.commit()
    db.session.commit()


def chain_length() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditLog.id))) or 0


def fill_chain_to(org_id: int, total: int) -> None:
    """Append audited rows (untimed) until the chain holds `total` rows."""
    missing = total - chain_length()
    if missing > 0:
        append_audited(org_id, 10_000_000 + chain_length(), missing, FILL_COMMIT_EVERY)


def verify_peak_memory(reps: int) -> tuple[float, list[float], int]:
    """Median peak of Python allocations (tracemalloc) during verify_chain, in bytes."""
    peaks = []
    checked = 0
    for _ in range(reps):
        db.session.remove()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            report = audit.verify_chain()
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert report.ok, report
        checked = report.checked
        peaks.append(float(peak))
    db.session.remove()
    return median(peaks), peaks, checked


def append_measure(org_id: int, reps: int, commit_every: int, offset: int) -> Measure:
    """Chained vs plain appends of N_APPEND rows, alternating, `reps` times."""
    chained, plain = [], []
    for rep in range(reps):
        start = offset + rep * N_APPEND
        plain.append(N_APPEND / timed(lambda s=start: append_plain(org_id, s, N_APPEND, commit_every)))
        chained.append(N_APPEND / timed(lambda s=start: append_audited(org_id, s, N_APPEND, commit_every)))
    per_tx = f"{commit_every} rows per transaction"
    return Measure(
        "audit", f"append {N_APPEND} rows with audit.record()", median(chained), "rows/s",
        baseline_name="plain ORM insert, same content", baseline_value=median(plain),
        ratio=median(plain) / median(chained), samples=chained, baseline_samples=plain,
        note=f"{per_tx}; ratio = time per row over the plain insert's",
    )


def memory_measure(rows: int, peak: float, samples: list[float], base_rows: int, base_peak: float,
                   base_samples: list[float], note: str) -> Measure:
    mib = 2**20
    return Measure(
        "audit", f"verify_chain peak memory, {rows:,} rows", peak / mib, "MiB",
        baseline_name=f"same, {base_rows:,} rows", baseline_value=base_peak / mib, ratio=peak / base_peak,
        samples=[p / mib for p in samples], baseline_samples=[p / mib for p in base_samples],
        note=note,
    )


def run(env: BenchEnv, reps: int, log: Callable[[str], None]) -> list[Measure]:
    results: list[Measure] = []
    with env.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        _map_plain()

        # Memory first, at exact chain lengths (verify always walks the whole chain).
        points = {}
        for size in MEMORY_POINTS:
            log(f"audit: chain filled to {size:,} rows; verify_chain peak memory")
            fill_chain_to(org_id, size)
            points[size] = verify_peak_memory(3)
        small, middle, large = (points[size] for size in MEMORY_POINTS)
        results.append(memory_measure(large[2], large[0], large[1], small[2], small[0], small[1],
                                      "tracemalloc peak above the level before the call, median of 3"))
        results.append(memory_measure(large[2], large[0], large[1], middle[2], middle[0], middle[1],
                                      "near 1 = flat: bounded by the batch size (2000 rows), not the chain"))

        # One untimed round first: warm caches, compiled statements and the plain table.
        append_plain(org_id, 0, 200)
        append_audited(org_id, 0, 200)
        log(f"audit: append {N_APPEND} rows x {reps}, chained vs plain, commit every {COMMIT_EVERY}")
        results.append(append_measure(org_id, reps, COMMIT_EVERY, offset=1_000_000))

        db.session.remove()
        rows = chain_length()
        log(f"audit: verify_chain over {rows:,} rows x {reps}")
        rates = []
        for _ in range(reps):
            db.session.remove()
            checked = {}
            seconds = timed(lambda c=checked: c.setdefault("report", audit.verify_chain()))
            assert checked["report"].ok, checked["report"]
            rates.append(checked["report"].checked / seconds)
        results.append(Measure(
            "audit", f"verify_chain over {rows:,} rows", median(rates), "rows/s", samples=rates,
            note="the whole chain in batches of 2000: SHA-256 of each row's canonical JSON",
        ))
        db.session.remove()
    # Report order: append, verify, memory.
    return results[2:] + results[:2]
