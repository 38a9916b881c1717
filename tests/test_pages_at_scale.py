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
from app.fleet import dashboard
from app.fleet.queries import scanner_summary
from app.models import Device, ScannerStats, ThreatIntelligence, db, utcnow
from app.pagination import paginate_capped
from tests.test_fleet_dashboard import make_fleet


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


def test_the_dashboard_lists_the_same_scanners_as_ranking_them_all(db_session, orgs):
    """The dashboard picks its 15 scanners in SQL; they are the first 15 of scanner_health's
    order over every scanner (offline, no stats, stale feed and critical findings first)."""
    org_id = orgs.a.org.id
    ids = make_fleet(org_id, 90)  # 60 scanners; every tenth device silent for an hour
    make_fleet(orgs.b.org.id, 12)
    scanners = db.session.scalars(sa.select(Device.id).where(Device.id.in_(ids), Device.device_type == "scanner")
                                  .order_by(Device.id)).all()
    stats = {s.device_id: s for s in db.session.scalars(sa.select(ScannerStats).where(
        ScannerStats.device_id.in_(scanners)))}
    stats[scanners[-1]].vulns_critical = 3
    stats[scanners[-2]].feed_updated_at = utcnow() - timedelta(days=5)
    db.session.delete(stats[scanners[-3]])
    db.session.commit()
    expected = dashboard.scanner_health(scanner_summary(org_id))[:dashboard.LIST_LIMIT]
    chosen = dashboard.scanner_health(dashboard.scanners_needing_attention(org_id))
    assert [h.row.device_id for h in chosen] == [h.row.device_id for h in expected]
    assert [h.problems for h in chosen] == [h.problems for h in expected]
    assert {scanners[-1], scanners[-2], scanners[-3]} <= {h.row.device_id for h in chosen}
    assert dashboard.scanner_totals(org_id) == (60, 59, 118)  # one scanner lost its stats
    view = dashboard.dashboard(org_id)
    assert view["scanners_total"] == 60 and len(view["scanners"]) == dashboard.LIST_LIMIT
    assert view["kpis"]["running_scans"] == 59 and view["kpis"]["scanner_tasks_queued"] == 118
