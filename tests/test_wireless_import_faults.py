"""Issue 11.1 and 12.3: one bad row never stops a wireless import, no message shows SQL, status
says what was really saved, and 1970-stamped sightings are kept with their time unknown.

Each test reproduced its fault before the fix (on PostgreSQL: the out-of-range value failed
the batch, the 128 KB field and the unterminated quote failed the file, a NUL byte made it
"binary", the job said "Failed; nothing was saved" after committed batches, and the 1970 rows
were rejected so their networks vanished)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import JobRun, db
from app.models.wireless import Network, Observation, SsidHistory, WirelessImport
from app.wireless import imports
from app.wireless.importers import records
from tests.conftest import run_jobs
from tests.wireless_import_files import COLUMNS, PRE_HEADER

pytestmark = pytest.mark.postgres

SQL_WORDS = re.compile(r"\b(INSERT|SELECT|UPDATE|COPY|VALUES|Traceback|psycopg|sqlalchemy)\b", re.I)


@pytest.fixture()
def instance(app, tmp_path, monkeypatch):
    """Uploads and error reports go to a temporary instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path


def row(n: int, *, ssid: str = "net", freq: str = "2437", level: str = "-60", when: str = "2026-05-01 10:00:00",
        mfgr: str = "") -> str:
    return (f"aa:bb:cc:00:{n // 256:02x}:{n % 256:02x},{ssid},[WPA2-PSK-CCMP][ESS],{when},6,{freq},{level},"
            f"39.7{n % 10},-104.9{n % 7},1609,5,,{mfgr},WIFI")


def csv_file(path, lines: list[str]) -> object:
    path.write_bytes(("\n".join([PRE_HEADER, COLUMNS, *lines]) + "\n").encode("utf-8"))
    return path


def do_import(org_id: int, path) -> WirelessImport:
    fmt = imports.detect(path)
    source = imports.resolve_source(org_id, new_code="phone", device_type=imports.DEVICE_TYPES[fmt])
    imp = imports.create_import(org_id, source, path, path.name, fmt, None, stored=False)
    db.session.commit()
    return imports.run_import(imp.id, path=path)


def rejects(imp: WirelessImport) -> dict[int, str]:
    return {e["line"]: e["reason"] for e in imp.errors}


def networks(org_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(Network.bssid).where(Network.org_id == org_id)))


def test_values_out_of_their_columns_range_are_rejected_rows(app, orgs, instance):
    org = orgs.a.org.id
    lines = [row(1), row(2, freq="99999999999999999999"), row(3, level="-99999999999"), row(4, mfgr="99999999999"),
             row(5, freq="1e400"), row(6)]
    imp = do_import(org, csv_file(instance / "ranges.csv", lines))
    assert imp.status == "succeeded" and imp.rows_read == 6 and imp.rows_imported == 2 and imp.rows_rejected == 4
    reasons = rejects(imp)
    # Lines count from the file's first line: pre-header 1, header 2, rows from 3.
    assert "frequency 99999999999999999999 is out of range" in reasons[4]
    assert "level" in reasons[5] and "out of range" in reasons[5]
    assert "mfgrid" in reasons[6] and "frequency" in reasons[7]
    assert networks(org) == {"AA:BB:CC:00:00:01", "AA:BB:CC:00:00:06"}


@pytest.mark.parametrize("bad", [{"freq": "99999999999999999999"}, {"level": "-99999999999999999999"}],
                         ids=["refused-by-the-networks-insert", "refused-by-the-observations-copy"])
def test_database_refusal_the_checks_missed_rejects_that_row_only(app, orgs, instance, monkeypatch, bad):
    # Defence in depth: were a value to pass the column checks and be refused by PostgreSQL,
    # the batch is split until the refused row is found, and every other row is stored.
    monkeypatch.setattr(records, "column_problem", lambda _s: None)
    monkeypatch.setattr(imports, "BATCH", 8)
    org = orgs.a.org.id
    lines = [row(n) for n in range(1, 8)] + [row(8, **bad)] + [row(n) for n in range(9, 13)]
    imp = do_import(org, csv_file(instance / "refused.csv", lines))
    assert imp.status == "succeeded" and imp.rows_imported == 11 and imp.rows_rejected == 1
    (line, reason), = rejects(imp).items()
    assert line == 10 and "the database refused a value (error id " in reason
    assert not SQL_WORDS.search(reason) and "99999999999999999999" not in reason
    assert len(networks(org)) == 11
    assert db.session.scalar(sa.select(sa.func.sum(Network.observation_count)).where(Network.org_id == org)) == 11


def test_overlong_field_unterminated_quote_and_nul_bytes_do_not_stop_the_file(app, orgs, instance):
    org = orgs.a.org.id
    big = "x" * (140 * 1024)  # over the csv module's 128 KB field limit
    lines = [row(1), row(2, ssid=big), row(3), row(4, ssid='"never closed'), row(5), row(6), row(7),
             row(8, ssid="nul\x00inside"), row(9)]
    path = instance / "broken.csv"
    path.write_bytes(("\n".join([PRE_HEADER, COLUMNS, *lines]) + "\n").encode("utf-8") + b"\x00")
    assert imports.detect(path) == "wigle_csv"  # a stray NUL byte does not make the file binary
    imp = do_import(org, path)
    assert imp.status == "succeeded"
    reasons = rejects(imp)
    assert set(reasons) == {4, 6}
    assert "longer than" in reasons[4] and "quote is not closed" in reasons[6]
    assert networks(org) == {f"AA:BB:CC:00:00:0{n}" for n in (1, 3, 5, 6, 7, 8, 9)}
    assert db.session.scalar(sa.select(Network.ssid).where(Network.bssid == "AA:BB:CC:00:00:08",
                                                           Network.org_id == org)) == "nulinside"


def test_a_mostly_nul_file_is_still_refused_as_binary(instance):
    path = instance / "image.csv"
    path.write_bytes(b"\x00" * 500 + b"MAC,SSID")
    with pytest.raises(imports.FormatError, match="binary"):
        imports.detect(path)


def upload(client, path, **data):
    import io

    return client.post("/wireless/imports", data={"file": (io.BytesIO(path.read_bytes()), path.name), **data},
                       content_type="multipart/form-data")


def test_an_unexpected_error_shows_an_error_id_and_what_was_saved(app, client, orgs, instance, monkeypatch, caplog):
    monkeypatch.setattr(imports, "BATCH", 2)
    real_write = imports.Writer.write
    calls = []

    def failing_write(self, batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("INSERT INTO observations VALUES ('secret parameter')")
        return real_write(self, batch)

    monkeypatch.setattr(imports.Writer, "write", failing_write)
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, csv_file(instance / "stops.csv", [row(n) for n in range(1, 9)]),
                  new_source="pixel").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    run = db.session.get(JobRun, imp.job_run_id)
    assert imp.status == "failed" and imp.rows_imported == 4
    error_id = re.search(r"error id ([0-9a-f]{8})", imp.message).group(1)
    assert "4 row(s) of 4 read were saved" in imp.message and not SQL_WORDS.search(imp.message)
    assert run.status == "failed" and "nothing was saved" not in run.message
    assert "4 row(s) of 4 read were saved" in run.message and error_id in run.error
    assert not SQL_WORDS.search(run.error) and "secret parameter" not in run.error
    for page in (client.get("/wireless/imports"), client.get(f"/jobs/{run.id}")):
        assert page.status_code == 200 and "secret parameter" not in page.text and error_id in page.text
    # The operator finds the details by the id in the server log.
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_1970_stamped_sightings_are_kept_with_time_unknown(app, client, orgs, instance, redis_conn):
    org = orgs.a.org.id
    lines = [row(1, when="1970-01-01 00:00:12"), row(1, when="1970-01-01 00:00:40", level="-50"),
             row(2, when="1970-01-01 00:01:00"),  # only clockless rows for networks 1 and 2
             row(3, when="1970-01-01 00:00:05"), row(3, when="2026-05-01 10:00:00"),
             row(3, when="2026-05-02 11:00:00")]
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, csv_file(instance / "noclock.csv", lines), new_source="pixel").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == org))
    assert imp.status == "succeeded" and imp.rows_rejected == 0 and imp.rows_imported == 6
    assert imp.rows_time_unknown == 4 and "4 sighting(s) stamped before 2000" in imp.message
    assert "4 sighting(s) stamped before 2000" in client.get("/wireless/imports").text
    assert "time unknown" in client.get("/wireless/networks").text  # not "1970-01-01"
    assert networks(org) == {"AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02", "AA:BB:CC:00:00:03"}
    flagged = db.session.execute(sa.select(Observation.bssid, Observation.time_unknown)
                                 .where(Observation.org_id == org)).all()
    assert sum(unknown for _b, unknown in flagged) == 4
    nets = {n.bssid: n for n in db.session.scalars(sa.select(Network).where(Network.org_id == org))}
    first, mixed = nets["AA:BB:CC:00:00:01"], nets["AA:BB:CC:00:00:03"]
    assert first.observation_count == 2 and first.bestlevel == -50 and (first.lastlat, first.lastlon) != (0, 0)
    # A known time wins over an unknown one for first and last seen.
    assert mixed.firsttime_ms == 1777629600000 and mixed.lasttime_ms == 1777719600000
    history = db.session.scalar(sa.select(SsidHistory).where(SsidHistory.network_id == mixed.id))
    assert history.first_seen.isoformat().startswith("2026-05-01T10:00") and history.observation_count == 3
    # Scored by the import job, from the timed sightings only.
    assert all(n.threat_level is not None and not n.needs_rescore for n in nets.values())
    assert "no_data" in [f["code"] for f in first.threat_factors["factors"]]
    assert "no_data" not in [f["code"] for f in mixed.threat_factors["factors"]]


def test_finished_run_redraws_the_imports_table(app, client, orgs, instance, redis_conn):
    # Issue 12.7: the progress fragment that ends tells the imports table to redraw, and a run
    # that ended without closing its import speaks for the row instead of a stale "queued".
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, csv_file(instance / "one.csv", [row(1)]), new_source="pixel").status_code == 303
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    listing = client.get("/wireless/imports", headers={"HX-Request": "true"})
    assert "jobs-run-finished from:body" in listing.text
    running = client.get(f"/jobs/{imp.job_run_id}", headers={"HX-Request": "true"})
    assert "HX-Trigger" not in running.headers
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/jobs/{imp.job_run_id}/cancel").status_code == 303  # cancelled while queued
    done = client.get(f"/jobs/{imp.job_run_id}", headers={"HX-Request": "true"})
    assert "jobs-run-finished" in done.headers["HX-Trigger"]
    table = client.get("/wireless/imports", headers={"HX-Request": "true"}).text
    # The cancel closed the import too: no row stays "queued", and the table stops polling.
    assert f'data-import="{imp.id}" data-status="failed"' in table
    assert "Stopped because it was cancelled before it started, at 0 rows read; nothing was saved." in table
    assert "every 3s" not in table
    # A row left open by an older run that ended anyway shows that run's status, not "queued".
    db.session.refresh(imp)
    imp.status, imp.message = "queued", None
    db.session.commit()
    table = client.get("/wireless/imports", headers={"HX-Request": "true"}).text
    assert f'data-import="{imp.id}" data-status="cancelled"' in table and "Cancelled before it started" in table
    assert "every 3s" not in table


def test_cancelled_mid_import_says_what_was_saved(app, client, orgs, instance, monkeypatch, redis_conn):
    from app.jobs.runner import cancel_key

    monkeypatch.setattr(imports, "BATCH", 2)
    real_write = imports.Writer.write
    calls = []

    def write_then_cancel(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:  # an admin presses Cancel while the second batch is written
            redis_conn.set(cancel_key(imp.job_run_id), 1)
        return real_write(self, batch)

    monkeypatch.setattr(imports.Writer, "write", write_then_cancel)
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, csv_file(instance / "long.csv", [row(n) for n in range(1, 9)]),
                  new_source="pixel").status_code == 303
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    run_jobs(app)
    db.session.expire_all()
    imp, run = db.session.get(WirelessImport, imp.id), db.session.get(JobRun, imp.job_run_id)
    assert run.status == "cancelled" and "4 row(s) of 4 read were saved" in run.message
    assert imp.status == "failed" and imp.message.startswith("Cancelled at 4 rows read; 4 row(s)")
    assert imp.rows_imported == 4 == db.session.scalar(
        sa.select(sa.func.count()).select_from(Observation).where(Observation.import_id == imp.id))


def test_an_unterminated_quote_closed_by_a_later_quote_costs_one_line():
    import io

    from app.wireless.importers import Reject, wigle_csv

    body = "\n".join([PRE_HEADER, COLUMNS, row(1), row(2, ssid='"open'), row(3), row(4, ssid='"Cafe, Bar"'), row(5)])
    items = list(wigle_csv.read(io.BytesIO(body.encode())))
    assert [(i.line, type(i).__name__) for i in items] == [
        (3, "Sighting"), (4, "Reject"), (5, "Sighting"), (6, "Sighting"), (7, "Sighting")]
    assert isinstance(items[1], Reject) and "quote is not closed" in items[1].reason
    assert items[3].ssid == "Cafe, Bar"


@pytest.mark.parametrize("batch", [1, 100])
def test_known_times_win_over_unknown_ones_across_batches(app, orgs, instance, monkeypatch, batch):
    monkeypatch.setattr(imports, "BATCH", batch)
    org = orgs.a.org.id
    lines = [row(7, when="1970-01-01 00:00:09"), row(7, when="2026-05-02 11:00:00"),
             row(7, when="2026-05-01 10:00:00"), row(7, when="1970-01-01 00:00:03", level="-30")]
    imp = do_import(org, csv_file(instance / "mixed.csv", lines))
    assert imp.rows_imported == 4 and imp.rows_time_unknown == 2
    net = db.session.scalar(sa.select(Network).where(Network.org_id == org))
    assert (net.firsttime_ms, net.lasttime_ms) == (1777629600000, 1777719600000)
    assert net.bestlevel == -30 and net.observation_count == 4  # places and counts keep them
    history = db.session.scalar(sa.select(SsidHistory).where(SsidHistory.network_id == net.id))
    assert history.first_seen.isoformat().startswith("2026-05-01T10:00")
    assert history.last_seen.isoformat().startswith("2026-05-02T11:00")


def test_clockless_sightings_count_for_places_not_for_time_factors():
    from datetime import UTC, datetime, timedelta

    from app.wireless.scoring import NetworkInfo, ScoringContext, Sighting, score_network

    start = datetime(2026, 5, 1, 8, tzinfo=UTC)
    timed = [Sighting(time=start + timedelta(minutes=10 * i), lat=39.700, lon=-104.900, level=-70) for i in range(6)]
    away = [Sighting(time=datetime(1970, 1, 1, tzinfo=UTC), lat=39.800, lon=-104.700, level=-70, time_known=False)]
    ctx = ScoringContext(home=(39.700, -104.900, 0.5), now=start + timedelta(days=1))
    info = NetworkInfo(bssid="AA:BB:CC:00:00:01")
    alone, both = score_network(timed, info, ctx), score_network(timed + away, info, ctx)
    assert alone.factor("home_correlation")["points"] == 0 and both.factor("home_correlation")["points"] > 0
    assert both.factor("time_unknown")["details"]["sightings"] == 1
    for code in ("follow_legs", "parked", "persistence"):  # time-based: the clockless fix changes nothing
        assert alone.factor(code) is not None and alone.factor(code) == both.factor(code)
    only = score_network(away, info, ctx)
    assert only.score == 0 and only.factor("no_data") and only.factor("time_unknown")


def test_backup_with_nul_ssid_and_out_of_range_values_imports_the_rest(app, orgs, instance):
    import sqlite3

    from tests.wireless_import_files import wigle_backup

    path = wigle_backup(instance / "backup.sqlite", locations=6)
    conn = sqlite3.connect(path)
    conn.execute("insert into network (bssid, ssid, frequency, capabilities, lasttime, lastlat, lastlon, type) "
                 "values ('aa:bb:cc:dd:ee:02', ?, 2412, '[ESS]', 0, 39.7, -104.9, 'W')", ("\x00\x00\x00",))
    conn.execute("insert into network (bssid, ssid, frequency, capabilities, lasttime, lastlat, lastlon, type) "
                 "values ('aa:bb:cc:dd:ee:03', 'Huge', 99999999999999, '[ESS]', 0, 39.7, -104.9, 'W')")
    conn.executemany("insert into location (bssid, level, lat, lon, altitude, accuracy, time) values (?, ?, ?, ?, ?, ?, ?)",
                     [("aa:bb:cc:dd:ee:02", -60, 39.71, -104.9, 1600, 4, 0),  # a hidden network, no clock fix
                      ("aa:bb:cc:dd:ee:03", -60, 39.71, -104.9, 1600, 4, 1777629600000),
                      ("aa:bb:cc:dd:ee:01", 10**12, 39.71, -104.9, 1600, 4, 1777629600000)])
    conn.commit()
    conn.close()
    org = orgs.a.org.id
    imp = do_import(org, path)
    assert imp.status == "succeeded" and imp.rows_read == 9 and imp.rows_imported == 7 and imp.rows_rejected == 2
    assert imp.rows_time_unknown == 1
    reasons = sorted(rejects(imp).values())
    assert "frequency 99999999999999 is out of range" in reasons[0] and "level" in reasons[1]
    hidden = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "AA:BB:CC:DD:EE:02"))
    assert hidden is not None and hidden.ssid == ""
