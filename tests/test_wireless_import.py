"""Storing imports: observations, networks, ssid_history, idempotency, incremental backups,
OUI lookup, the error report, the job, the pages (incl. htmx progress), permissions, tenancy
and the CLI."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app.models import JobRun, db
from app.models.wireless import (
    DeviceSource,
    Network,
    Observation,
    RadioManufacturer,
    SsidHistory,
    WirelessImport,
)
from app.wireless import imports
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_redis_down import redis_down  # noqa: F401 - the closed-port Redis fixture
from tests.wireless_import_files import (
    BAD_ROWS,
    EVERY_TYPE,
    EXPECTED_TYPES,
    NETXML,
    WIGLE_14,
    WIGLE_16,
    add_locations,
    kismet_log,
    quirky_csv,
    wigle_backup,
)


@pytest.fixture()
def instance(app, tmp_path, monkeypatch):
    """Uploads and error reports go to a temporary instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path


def do_import(org_id: int, path, code: str = "phone") -> WirelessImport:
    fmt = imports.detect(path)
    source = imports.resolve_source(org_id, new_code=code, device_type=imports.DEVICE_TYPES[fmt])
    imp = imports.create_import(org_id, source, path, path.name, fmt, None, stored=False)
    db.session.commit()
    return imports.run_import(imp.id, path=path)


def count(model, org_id) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.org_id == org_id))


@pytest.mark.parametrize("sample, rows", [(WIGLE_14, 364), (WIGLE_16, 124), (NETXML, 3)])
def test_samples_import_and_second_import_adds_nothing(app, orgs, instance, sample, rows):
    org = orgs.a.org.id
    first = do_import(org, sample)
    assert first.status == "succeeded" and first.rows_read == rows
    assert first.rows_imported + first.rows_duplicate + first.rows_rejected == rows
    assert first.rows_imported > 0
    obs, nets, hist = count(Observation, org), count(Network, org), count(SsidHistory, org)
    assert obs == first.rows_imported
    second = do_import(org, sample)
    assert second.rows_imported == 0 and second.rows_duplicate == first.rows_imported + first.rows_duplicate
    assert (count(Observation, org), count(Network, org), count(SsidHistory, org)) == (obs, nets, hist)
    net = db.session.scalar(sa.select(Network).where(Network.org_id == org).limit(1))
    assert net.observation_count >= 1  # not doubled by the second import
    total = db.session.scalar(sa.select(sa.func.sum(Network.observation_count)).where(Network.org_id == org))
    assert total == obs


def test_every_radio_type_typed_right(app, orgs, instance):
    org = orgs.a.org.id
    imp = do_import(org, quirky_csv(instance / "types.csv"))
    assert imp.rows_rejected == 0 and imp.rows_imported == len(EVERY_TYPE) + 1
    types = dict(db.session.execute(sa.select(Network.bssid, Network.type).where(Network.org_id == org)).all())
    assert {b: t for b, t in types.items() if b in EXPECTED_TYPES} == EXPECTED_TYPES
    ble = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "6A:1F:95:F0:B7:53"))
    assert ble.is_randomized_mac and ble.mfgrid == 76
    cell = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.type == "L"))
    assert cell.encryption == "unknown" and cell.is_cellular and not cell.is_randomized_mac


def test_networks_and_ssid_history_maintained(app, orgs, instance):
    org = orgs.a.org.id
    rows = [
        "aa:bb:cc:00:00:01,First,[WPA2-PSK-CCMP][ESS],2026-05-01 10:00:00,6,2437,-80,39.70,-104.90,1609,5,,,WIFI",
        "aa:bb:cc:00:00:01,First,[WPA2-PSK-CCMP][ESS],2026-05-01 11:00:00,6,2437,-40,39.71,-104.91,1609,5,,,WIFI",
        "aa:bb:cc:00:00:01,Renamed,[WPA3-SAE][ESS],2026-05-02 09:00:00,6,2437,-70,39.72,-104.92,1609,5,,,WIFI",
    ]
    do_import(org, quirky_csv(instance / "a.csv", rows=rows[:2]))
    net = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "AA:BB:CC:00:00:01"))
    net.needs_rescore = False
    db.session.commit()
    do_import(org, quirky_csv(instance / "b.csv", rows=rows[2:]))
    db.session.refresh(net)
    assert net.observation_count == 3 and net.needs_rescore is True
    assert net.bestlevel == -40 and (net.bestlat, net.bestlon) == (39.71, -104.91)
    assert (net.lastlat, net.lastlon) == (39.72, -104.92) and net.ssid == "Renamed"
    assert net.firsttime_ms == 1777629600000 and net.lasttime_ms == 1777712400000
    assert net.encryption == "wpa2" and net.source_device.code == "phone"
    history = {h.ssid: h for h in db.session.scalars(sa.select(SsidHistory).where(SsidHistory.network_id == net.id))}
    assert set(history) == {"First", "Renamed"}
    assert history["First"].observation_count == 2
    assert history["First"].first_seen.hour == 10 and history["First"].last_seen.hour == 11


@pytest.mark.parametrize("batch", [1, 2, imports.BATCH])
def test_aggregates_same_whatever_the_batch_size(app, orgs, instance, monkeypatch, batch):
    """Rows out of time order, a hidden-SSID latest row, a tie on best level and a duplicate row
    inside the file: one batch (PostgreSQL folds it in SQL) or many give the same networks row."""
    monkeypatch.setattr(imports, "BATCH", batch)
    org = orgs.a.org.id
    newer = "aa:bb:cc:00:00:02,Newer,[WPA2-PSK-CCMP][ESS],2026-05-01 11:00:00,6,2437,-50,39.71,-104.91,1609,5,,,WIFI"
    old = "aa:bb:cc:00:00:02,Old,[WEP][ESS],2026-05-01 10:00:00,6,2437,-60,39.70,-104.90,1609,5,,,WIFI"
    hidden = "aa:bb:cc:00:00:02,,[WPA2-PSK-CCMP][ESS],2026-05-01 12:00:00,6,0,-50,39.72,-104.92,1609,5,,,WIFI"
    imp = do_import(org, quirky_csv(instance / "c.csv", rows=[newer, old, hidden, old]))
    assert (imp.rows_imported, imp.rows_duplicate, imp.rows_rejected) == (4, 1, 0)  # 4 = 3 + the Joe,s row
    net = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "AA:BB:CC:00:00:02"))
    assert net.observation_count == 3 and net.needs_rescore is True
    assert net.ssid == "Newer" and net.capabilities == "[WPA2-PSK-CCMP][ESS]" and net.frequency == 2437
    assert (net.lastlat, net.lastlon) == (39.72, -104.92)
    assert net.bestlevel == -50 and (net.bestlat, net.bestlon) == (39.71, -104.91)  # the first -50 in the file
    assert net.firsttime_ms == 1777629600000 and net.lasttime_ms == 1777636800000
    history = {h.ssid: h.observation_count
               for h in db.session.scalars(sa.select(SsidHistory).where(SsidHistory.network_id == net.id))}
    assert history == {"Newer": 1, "Old": 1}
    obs = db.session.scalars(sa.select(Observation).where(Observation.network_id == net.id)
                             .order_by(Observation.time_ms)).all()
    assert [o.time.hour for o in obs] == [10, 11, 12] and obs[0].time.tzinfo is not None
    again = do_import(org, instance / "c.csv")
    assert (again.rows_imported, again.rows_duplicate) == (0, 5)
    db.session.refresh(net)
    assert net.observation_count == 3


def test_manufacturer_from_oui_when_table_has_rows(app, orgs, instance):
    db.session.add_all([RadioManufacturer(oui_prefix="94F665", manufacturer="Acme Radios"),
                        RadioManufacturer(oui_prefix="0A8DDB", manufacturer="Never Used")])
    db.session.commit()
    org = orgs.a.org.id
    do_import(org, WIGLE_14)
    makers = dict(db.session.execute(sa.select(Network.bssid, Network.manufacturer).where(Network.org_id == org)).all())
    assert makers["94:F6:65:AF:DF:0C"] == "Acme Radios"
    assert makers["0A:8D:DB:6E:71:26"] is None  # locally administered (randomised): no OUI lookup


def test_error_report_content_and_download(app, client, orgs, instance):
    org = orgs.a.org.id
    imp = do_import(org, quirky_csv(instance / "bad.csv", rows=EVERY_TYPE[:1] + BAD_ROWS))
    assert imp.rows_rejected == 4 and len(imp.errors) == 4
    client.login(orgs.a.users["read_only"].email)
    response = client.get(f"/wireless/imports/{imp.id}/errors.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    report = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert report[0] == ["line", "reason"]
    assert [r[0] for r in report[1:]] == ["4", "6", "7", "8"]
    assert "no GPS fix" in report[2][1]
    response.close()
    assert_other_org_cannot_reach(client, [("GET", f"/wireless/imports/{do_import(orgs.b.org.id, WIGLE_14).id}/errors.csv")])


def test_wigle_backup_incremental(app, orgs, instance):
    org = orgs.a.org.id
    path = wigle_backup(instance / "backup.sqlite")
    first = do_import(org, path)
    assert (first.rows_read, first.rows_imported) == (6, 6)
    source = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.org_id == org, DeviceSource.code == "phone"))
    assert source.import_marks == {"wigle_sqlite": 6}
    add_locations(path, 6, 3)  # the phone kept logging; a newer backup has 3 more rows
    second = do_import(org, path)
    assert (second.rows_read, second.rows_imported, second.rows_duplicate) == (3, 3, 0)
    third = do_import(org, path)
    assert third.rows_read == 0 and "Nothing new" in third.message
    # Another source reads the whole backup.
    assert do_import(org, path, code="tablet").rows_imported == 9
    types = set(db.session.scalars(sa.select(Network.type).where(Network.org_id == org)))
    assert types == {"W", "E", "L"}


def test_kismet_log_import(app, orgs, instance):
    org = orgs.a.org.id
    imp = do_import(org, kismet_log(instance / "log.kismet"), code="kismet-1")
    assert (imp.format, imp.rows_read, imp.rows_imported, imp.rows_rejected) == ("kismet_sqlite", 7, 5, 2)
    ap = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "AA:BB:CC:11:22:33"))
    assert ap.ssid == "CorpNet" and ap.observation_count == 3 and ap.frequency == 5180 and ap.bestlevel == -40
    tag = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "D0:00:00:00:00:01"))
    assert tag.type == "E" and tag.observation_count == 2
    assert do_import(org, instance / "log.kismet", code="kismet-1").rows_imported == 0


def test_netxml_adhoc_network_is_not_stored(app, orgs, instance):
    org = orgs.a.org.id
    imp = do_import(org, NETXML)
    assert imp.rows_rejected == 1 and "00:00:00:00:00:00" in imp.errors[0]["reason"]
    bssids = set(db.session.scalars(sa.select(Network.bssid).where(Network.org_id == org)))
    assert bssids == {"00:00:00:00:00:01", "00:00:00:00:00:02"}


def upload(client, path, **data):
    with open(path, "rb") as fh:
        return client.post("/wireless/imports", data={"file": (io.BytesIO(fh.read()), path.name), **data},
                           content_type="multipart/form-data")


def test_page_upload_job_progress_and_counts(app, client, orgs, instance, redis_conn):
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/wireless/imports")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    response = upload(client, WIGLE_16, new_source="pixel-7")
    assert response.status_code == 303
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    assert imp.status == "queued" and imp.format == "wigle_csv" and imp.stored_path.startswith(str(instance))
    run = db.session.get(JobRun, imp.job_run_id)
    assert run.kind == "wireless.import" and run.params == {"import_id": imp.id}
    listing = client.get("/wireless/imports", headers={"HX-Request": "true"})
    assert listing.status_code == 200 and "<html" not in listing.text  # the imports_table fragment alone
    assert f'hx-get="/jobs/{run.id}"' in listing.text and 'hx-trigger="every 1s"' in listing.text
    # The table refreshes its counts while the import runs, and at once when its run ends.
    assert 'hx-trigger="every 3s, jobs-run-finished from:body"' in listing.text
    run_jobs(app)
    db.session.expire_all()
    imp = db.session.get(WirelessImport, imp.id)
    assert imp.status == "succeeded" and imp.rows_imported == 124
    assert db.session.get(JobRun, run.id).status == "succeeded"
    status = client.get(f"/jobs/{run.id}", headers={"HX-Request": "true"})
    assert "every 1s" not in status.text and "100%" in status.text
    done = client.get("/wireless/imports")
    assert "every 1s" not in done.text and "every 3s" not in done.text and ">124<" in done.text
    # Scored at the end of the import job, never left "unscored" for the periodic rescore.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Network).where(
        Network.org_id == orgs.a.org.id, Network.needs_rescore.is_(True))) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Network).where(
        Network.org_id == orgs.a.org.id, Network.threat_level.is_(None))) == 0


def test_upload_refuses_non_format_and_bad_source(app, client, orgs, instance):
    client.login(orgs.a.users["analyst"].email)
    not_wigle = instance / "people.csv"
    not_wigle.write_text("name,email\nbob,bob@example.test\n")
    refused = upload(client, not_wigle, new_source="pixel")
    assert refused.status_code == 422 and "people.csv refused" in refused.text and "not a WiGLE CSV" in refused.text
    bad_code = upload(client, WIGLE_14, new_source="my phone!")
    assert bad_code.status_code == 422 and "A source code is 1-64 letters" in bad_code.text
    assert not db.session.scalar(sa.select(WirelessImport.id).where(WirelessImport.org_id == orgs.a.org.id))
    assert not list((instance / "instance" / "wireless" / "imports").rglob("*.upload"))


def test_upload_without_a_source_uses_the_clis_default(app, client, orgs, instance):
    # A first upload on a fresh organization was refused ("Choose a device source..."), while
    # `vigil wireless import` without --source used 'wigle' / 'kismet'. Now both do.
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, WIGLE_14).status_code == 303
    assert upload(client, NETXML).status_code == 303
    rows = db.session.execute(sa.select(WirelessImport.format, DeviceSource.code)
                              .join(DeviceSource, DeviceSource.id == WirelessImport.source_id)
                              .where(WirelessImport.org_id == orgs.a.org.id)).all()
    assert sorted(rows) == [("kismet_netxml", "kismet"), ("wigle_csv", "wigle")]


def test_upload_over_the_limit_gets_413(app, client, orgs, instance, monkeypatch):
    # A quarter MB keeps the test body small enough for the test client to hold in memory.
    monkeypatch.setitem(app.config, "WIRELESS_IMPORT_MAX_MB", 0.25)
    client.login(orgs.a.users["analyst"].email)
    big = instance / "big.csv"
    big.write_bytes(b"x" * (300 * 1024))
    response = upload(client, big, new_source="pixel")
    assert response.status_code == 413 and "import limit of 0.25 MB" in response.text
    assert upload(client, WIGLE_16, new_source="pixel").status_code == 303  # under the limit


def test_existing_source_choice_and_permissions(app, client, orgs, instance):
    src = DeviceSource(org_id=orgs.a.org.id, code="van", name="Van")
    other = DeviceSource(org_id=orgs.b.org.id, code="theirs", name="Theirs")
    db.session.add_all([src, other])
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/wireless/imports").status_code == 200
    assert upload(client, WIGLE_14, source_id=str(src.id)).status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)
    assert "theirs" not in client.get("/wireless/imports").text
    assert upload(client, WIGLE_14, source_id=str(other.id)).status_code == 422  # not a choice of this org
    assert upload(client, WIGLE_14, source_id=str(src.id)).status_code == 303
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    assert imp.source_id == src.id


def test_cli_import_prints_counts_and_refuses(app, orgs, instance):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["wireless", "import", str(WIGLE_14), "--org", orgs.a.org.slug, "--source", "lenovo"])
    assert out.exit_code == 0, out.output
    assert "rows read:      364" in out.output and "imported:       364" in out.output
    again = runner.invoke(args=["wireless", "import", str(WIGLE_14), "--org", orgs.a.org.slug, "--source", "lenovo"])
    assert "imported:       0" in again.output and "duplicate:      364" in again.output
    bad = instance / "notes.txt"
    bad.write_text("just some notes\n")
    refused = runner.invoke(args=["wireless", "import", str(bad), "--org", orgs.a.org.slug])
    assert refused.exit_code != 0 and "refused" in refused.output and "not a WiGLE CSV" in refused.output
    assert runner.invoke(args=["wireless", "import", str(WIGLE_14), "--org", "nope"]).exit_code != 0
    default = runner.invoke(args=["wireless", "import", str(NETXML), "--org", orgs.a.org.slug])
    assert default.exit_code == 0 and "rejected:       1" in default.output
    assert db.session.scalar(sa.select(DeviceSource.device_type).where(
        DeviceSource.org_id == orgs.a.org.id, DeviceSource.code == "kismet")) == "kismet"


def test_job_records_a_failed_import(app, client, orgs, instance, redis_conn):
    import sqlite3

    broken = instance / "broken.sqlite"
    conn = sqlite3.connect(broken)
    conn.executescript("create table network (bssid text); create table location (_id integer primary key);")
    conn.commit()
    conn.close()
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, broken, new_source="old-phone").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    imp = db.session.scalar(sa.select(WirelessImport).where(WirelessImport.org_id == orgs.a.org.id))
    assert imp.status == "failed" and "unexpected schema" in imp.message and imp.finished_at
    assert db.session.get(JobRun, imp.job_run_id).status == "failed"
    assert "unexpected schema" in client.get("/wireless/imports").text


def test_imports_stay_inside_their_organization(app, orgs, instance):
    a, b = orgs.a.org.id, orgs.b.org.id
    do_import(a, WIGLE_16)
    before = db.session.scalar(sa.select(sa.func.sum(Network.observation_count)).where(Network.org_id == a))
    imp = do_import(b, WIGLE_16)  # the same file, the same source code, another organization
    assert imp.rows_imported == 124 and imp.rows_duplicate == 0
    assert db.session.scalar(sa.select(sa.func.sum(Network.observation_count)).where(Network.org_id == a)) == before
    assert count(Network, a) == count(Network, b) and count(Observation, b) == 124
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation).join(
        Network, Network.id == Observation.network_id).where(Observation.org_id != Network.org_id)) == 0


def test_an_upload_refused_because_the_queue_is_down_leaves_no_file(app, client, orgs, instance,
                                                                   redis_down):  # noqa: F811
    client.login(orgs.a.users["analyst"].email)
    response = upload(client, WIGLE_16, new_source="pixel-7")
    assert response.status_code == 503 and "The job queue is unavailable" in response.text
    assert not any(p.is_file() for p in (instance / "instance").rglob("*"))  # nothing half-saved
    assert db.session.scalar(sa.select(sa.func.count(WirelessImport.id))) == 0
