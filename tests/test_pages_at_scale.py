"""Pages whose cost does not grow with the data (issue 18.4): the audit log and the indicator
list page with a count capped at COUNT_CAP (app/pagination.paginate_capped), so their first page
runs the same statements, each bounded, for a short and a long list (bench/pages_bench.py
measures the time on a large data set)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit, pagination
from app.models import ThreatIntelligence, db, utcnow
from app.pagination import paginate_capped


@contextmanager
def counted_queries():
    """The SQL statements sent to the database while the block runs (before_cursor_execute)."""
    statements: list[str] = []
    engine = db.session.get_bind().engine if hasattr(db.session.get_bind(), "engine") else db.engine

    def listen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def _indicators(org_id: int, n: int, start: int = 0) -> None:
    now = utcnow()
    db.session.add_all(ThreatIntelligence(
        org_id=org_id, indicator_type="domain", indicator_value=f"bad-{start + i}.example", severity="high",
        confidence=70, source="test", tlp="amber", first_seen=now - timedelta(days=1), last_seen=now)
        for i in range(n))
    db.session.commit()


def _audit_rows(org_id: int, n: int) -> None:
    for i in range(n):
        audit.record("device.updated", resource_type="device", resource_id=i, org_id=org_id,
                     new={"status": "active"})
    db.session.commit()


def _stmt(org_id: int) -> sa.Select:
    return (sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == org_id)
            .order_by(ThreatIntelligence.id.desc()))


def test_paginate_capped_counts_no_further_than_the_cap(db_session, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    _indicators(a, 7)
    _indicators(b, 3, start=100)
    ids = db.session.scalars(sa.select(ThreatIntelligence.id).where(ThreatIntelligence.org_id == a)
                             .order_by(ThreatIntelligence.id.desc())).all()
    first = paginate_capped(_stmt(a), 1, per_page=2, cap=5)
    assert [r.id for r in first] == ids[:2] and first.has_next and not first.has_prev
    assert (first.total, first.capped, first.next_num) == (5, True, 2)
    exact = paginate_capped(_stmt(a), 1, per_page=2, cap=10)
    assert (exact.total, exact.capped, exact.pages) == (7, False, 4)
    last = paginate_capped(_stmt(a), 4, per_page=2, cap=5)  # the last page knows the exact total
    assert [r.id for r in last] == ids[6:] and not last.has_next and last.prev_num == 3
    assert (last.total, last.capped) == (7, False)
    beyond = paginate_capped(_stmt(a), 9, per_page=2, cap=5)
    assert beyond.items == [] and not beyond.has_next and beyond.total == 5
    for page_no in (1, 2, 4, 9):  # keys first, then rows by key: the same pages
        plain = paginate_capped(_stmt(a), page_no, per_page=2, cap=5)
        keyed = paginate_capped(_stmt(a), page_no, per_page=2, cap=5, key=ThreatIntelligence.id)
        assert [r.id for r in keyed] == [r.id for r in plain]
        assert (keyed.total, keyed.capped, keyed.has_next) == (plain.total, plain.capped, plain.has_next)
    other = paginate_capped(_stmt(b), 1, per_page=50)
    assert (other.total, other.capped, other.pages) == (3, False, 1) and len(other.items) == 3


@pytest.mark.parametrize("page_url, fill", [("/admin/audit", _audit_rows), ("/threats/intel", _indicators)])
def test_the_first_page_runs_the_same_queries_for_a_short_and_a_long_list(app, client, orgs, monkeypatch,
                                                                          page_url, fill):
    """60 rows (counted exactly) and 160 (count capped at 100): the same statements, no N+1."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 100)
    org_id = orgs.a.org.id
    client.login(orgs.a.users["admin"].email)
    fill(org_id, 60)
    client.get(page_url)
    with counted_queries() as short:
        page = client.get(page_url)
    assert page.status_code == 200
    assert "Page 1 of 2" in page.get_data(as_text=True)
    fill(org_id, 100) if fill is _audit_rows else fill(org_id, 100, start=1000)
    with counted_queries() as long:
        page = client.get(page_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Page 1 (more than 100)" in html and "page=2" in html
    assert len(long) == len(short), (short, long)
    counts = [s for s in long if "count(" in s.lower() and ("audit_log" in s or "threat_intelligence" in s)]
    assert counts and all("LIMIT" in s.upper() for s in counts), counts
