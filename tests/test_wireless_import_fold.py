"""Issue 18.1: the faster import keeps its rules. PostgreSQL dedupes on a 16-byte natural key
and folds an import's new rows into networks and ssid_history in bulk (at the end, or every
FOLD_ROWS rows); SQLite keeps its 12-column key and folds per batch. On both: the same file
twice adds nothing whatever the batch and fold sizes, the networks rows always agree with
the observations, and a run that stopped before folding is folded by the next one."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.models import db
from app.models.wireless import Network, Observation, SsidHistory, WirelessImport
from app.wireless import imports
from app.wireless.importers import writer as writer_module
from tests.test_wireless_import_faults import csv_file, do_import, row


@pytest.fixture()
def instance(app, tmp_path, monkeypatch):
    """Uploads and error reports go to a temporary instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path


def lines() -> list[str]:
    """Nine sightings of four radios, out of time order, one repeated, names changing."""
    return [row(1, ssid="a", when="2026-05-01 10:00:00"), row(2, when="2026-05-01 10:05:00"),
            row(1, ssid="b", level="-40", when="2026-05-01 12:00:00"), row(3, ssid="c0", when="2026-05-01 09:00:00"),
            row(2, when="2026-05-01 10:05:00"),  # the same sighting again, in the same file
            row(1, ssid="", when="2026-05-01 13:00:00"), row(4, when="1970-01-01 00:00:07"),
            row(3, ssid="c", level="-30", when="2026-05-01 08:00:00"), row(4, when="2026-05-02 07:00:00")]


def snapshot(org_id: int) -> dict[str, tuple]:
    """Every aggregate of every network of the organization, with its SSID history."""
    out = {}
    for n in db.session.scalars(sa.select(Network).where(Network.org_id == org_id)):
        history = tuple(sorted(
            (h.ssid, h.observation_count, h.first_seen.isoformat(), h.last_seen.isoformat())
            for h in db.session.scalars(sa.select(SsidHistory).where(SsidHistory.network_id == n.id))))
        out[n.bssid] = (n.observation_count, n.firsttime_ms, n.lasttime_ms, n.lastlat, n.lastlon, n.bestlevel,
                        n.bestlat, n.bestlon, n.ssid, n.frequency, n.capabilities, n.needs_rescore, history)
    return out


def counts_agree(org_id: int) -> bool:
    """Each network's count is the number of its observations."""
    counted = dict(db.session.execute(sa.select(Observation.network_id, sa.func.count())
                                      .where(Observation.org_id == org_id).group_by(Observation.network_id)).all())
    stored = dict(db.session.execute(sa.select(Network.id, Network.observation_count)
                                     .where(Network.org_id == org_id)).all())
    return stored == {nid: counted.get(nid, 0) for nid in stored}


@pytest.mark.parametrize(("batch", "fold"), [(1, 1), (2, 3), (4, 1), (imports.BATCH, imports.FOLD_ROWS)])
def test_same_networks_and_dedupe_whatever_the_batch_and_fold_sizes(app, orgs, instance, monkeypatch, batch, fold):
    # The reference: the whole file in one batch and one fold.
    reference = do_import(orgs.b.org.id, csv_file(instance / "ref.csv", lines()))
    assert (reference.rows_imported, reference.rows_duplicate) == (8, 1)
    expected = snapshot(orgs.b.org.id)
    monkeypatch.setattr(imports, "BATCH", batch)
    monkeypatch.setattr(imports, "FOLD_ROWS", fold)
    org = orgs.a.org.id
    imp = do_import(org, csv_file(instance / "file.csv", lines()))
    assert (imp.rows_imported, imp.rows_duplicate, imp.networks_touched) == (8, 1, 4)
    assert snapshot(org) == expected and counts_agree(org)
    assert expected["AA:BB:CC:00:00:01"][8] == "b" and expected["AA:BB:CC:00:00:01"][0] == 3
    db.session.refresh(imp)
    assert imp.fold_pending is False
    # The same file again, cut differently: nothing is new anywhere.
    monkeypatch.setattr(imports, "BATCH", 3)
    again = do_import(org, instance / "file.csv")
    assert (again.rows_imported, again.rows_duplicate, again.networks_touched) == (0, 9, 0)
    assert snapshot(org) == expected


def test_signed_zero_is_one_value_of_the_natural_key(app, orgs, instance):
    # The 12-column key compared -0.0 and 0.0 equal; the 16-byte hash normalises them alike.
    org = orgs.a.org.id
    first = do_import(org, csv_file(instance / "zero.csv", [row(1).replace(",1609,5,", ",0,0,")]))
    second = do_import(org, csv_file(instance / "minus.csv", [row(1).replace(",1609,5,", ",-0.0,-0,")]))
    assert (first.rows_imported, second.rows_imported, second.rows_duplicate) == (1, 0, 1)


def test_a_run_that_stopped_before_folding_is_folded_by_the_next_run(app, orgs, instance, monkeypatch):
    # A process that dies between a committed batch and the fold: here the fold after the
    # failure is skipped and the write of the second batch raises.
    org = orgs.a.org.id
    monkeypatch.setattr(imports, "BATCH", 2)
    monkeypatch.setattr(imports, "_fold_quietly", lambda _import_id: None)
    real_write, calls = imports.Writer.write, []

    def dies_on_second_batch(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real_write(self, batch)

    monkeypatch.setattr(imports.Writer, "write", dies_on_second_batch)
    with pytest.raises(RuntimeError):
        do_import(org, csv_file(instance / "dies.csv", [row(n) for n in range(1, 6)]))
    stopped = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == org))
    assert stopped.status == "failed" and stopped.rows_imported == 2
    if db.session.get_bind().dialect.name == "postgresql":
        # Its two rows are stored, their networks not yet updated, and the row says so.
        assert stopped.fold_pending is True
        assert not counts_agree(org)
    monkeypatch.setattr(imports.Writer, "write", real_write)
    do_import(org, csv_file(instance / "next.csv", [row(9)]))
    db.session.refresh(stopped)
    assert stopped.fold_pending is False and counts_agree(org)
    assert db.session.scalar(sa.select(sa.func.sum(Network.observation_count)).where(Network.org_id == org)) == 3
    # Folded once: running the fold again changes nothing.
    if db.session.get_bind().dialect.name == "postgresql":
        assert writer_module.fold_import(stopped.id) == 0
        db.session.commit()
        assert counts_agree(org)


def test_read_ahead_keeps_order_raises_reader_errors_and_stops_its_thread():
    assert list(imports.read_ahead(iter([[1], [2, 3], [4]]))) == [[1], [2, 3], [4]]

    def broken():
        yield [1]
        raise ValueError("line 7 is not a sighting")

    got = []
    with pytest.raises(ValueError, match="line 7"):
        for batch in imports.read_ahead(broken()):
            got.append(batch)
    assert got == [[1]]

    pulled = []

    def endless():
        n = 0
        while True:
            n += 1
            pulled.append(n)
            yield [n]

    before = threading.active_count()
    ahead = imports.read_ahead(endless())
    assert next(ahead) == [1]
    ahead.close()  # the consumer stops early (a cancel): the thread ends before close returns
    assert threading.active_count() == before
    stopped_at = len(pulled)
    assert stopped_at <= 4  # one in hand, one queued, one being put: never the whole source


def test_manufacturer_by_the_smallest_oui_block_on_every_dialect(app, orgs, instance):
    # PostgreSQL names manufacturers in SQL on the staged networks, SQLite in Python: one rule.
    from app.models.wireless import RadioManufacturer

    db.session.add_all([RadioManufacturer(oui_prefix="94F665", manufacturer="Large block"),
                        RadioManufacturer(oui_prefix="94F6651", manufacturer="Medium block"),
                        RadioManufacturer(oui_prefix="94F6651AB", manufacturer="Small block")])
    db.session.commit()
    org = orgs.a.org.id
    macs = {"94:F6:65:1A:BC:01": "Small block", "94:F6:65:1F:00:02": "Medium block",
            "94:F6:65:AF:00:03": "Large block", "96:F6:65:1A:BC:04": None}  # 96: locally administered
    body = [row(1).replace("aa:bb:cc:00:00:01", mac) for mac in macs]
    do_import(org, csv_file(instance / "oui.csv", body))
    found = dict(db.session.execute(sa.select(Network.bssid, Network.manufacturer)
                                    .where(Network.org_id == org)).all())
    assert found == macs


def test_deleting_networks_deletes_their_sightings(app, orgs, instance):
    # PostgreSQL has no foreign key from observations to networks (migration 0038: its per-row
    # check was the largest single cost of storing a sighting); a statement trigger on
    # networks cascades instead (SQLite keeps the foreign key). Deleting an organization's
    # networks, as its hard deletion cascades, leaves none of their sightings behind.
    a, b = orgs.a.org.id, orgs.b.org.id
    do_import(a, csv_file(instance / "a.csv", lines()))
    do_import(b, csv_file(instance / "b.csv", lines()))
    gone = db.session.scalar(sa.select(Network.id).where(Network.org_id == a, Network.bssid == "AA:BB:CC:00:00:01"))
    db.session.execute(sa.delete(Network).where(Network.id == gone))
    db.session.commit()
    left = dict(db.session.execute(sa.select(Observation.org_id, sa.func.count()).group_by(Observation.org_id)).all())
    assert left == {a: 5, b: 8}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation)
                             .where(Observation.network_id == gone)) == 0
    db.session.execute(sa.delete(Network).where(Network.org_id == a))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation).where(Observation.org_id == a)) == 0
    assert counts_agree(b)
