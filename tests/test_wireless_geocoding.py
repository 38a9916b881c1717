"""Reverse geocoding: the offline provider on the bundled GeoNames data, the online providers
against local fake servers with each service's real answer and error shapes, the cache
(rounding, expiry, per organization), the batch job, the CLI and the routes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from app.models import AuditLog, GeocodingCache, JobRun, Setting, db, utcnow
from app.wireless.geocoding import (
    AuthFailed,
    GeocoderError,
    NoResult,
    Place,
    QuotaExceeded,
    Unavailable,
    get_provider,
)
from app.wireless.geocoding import cache as gc
from app.wireless.geocoding.batch import geocode_networks, reverse_cached
from app.wireless.geocoding.offline import OfflineProvider
from app.wireless.wigle import credentials as creds
from tests.conftest import run_jobs
from tests.wireless_fakes import DROP, FakeServer, Reply, make_network

FLINT = (43.0139, -83.6847)
KEY = "geo-key-Pq4-never-shown"

NOMINATIM_CAFE = {
    "place_id": 318265367, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
    "osm_type": "node", "osm_id": 5384712044, "lat": "43.0139277", "lon": "-83.6846968",
    "category": "amenity", "type": "cafe", "place_rank": 30, "importance": 0.00000999999999995449,
    "addresstype": "amenity", "name": "Flint Crepe Company",
    "display_name": "Flint Crepe Company, 555, South Saginaw Street, Flint, Genesee County, Michigan, 48502, United States",
    "address": {"amenity": "Flint Crepe Company", "house_number": "555", "road": "South Saginaw Street",
                "city": "Flint", "county": "Genesee County", "state": "Michigan", "ISO3166-2-lvl4": "US-MI",
                "postcode": "48502", "country": "United States", "country_code": "us"},
    "boundingbox": ["43.0138777", "43.0139777", "-83.6847468", "-83.6846468"],
}
OPENCAGE_OK = {
    "documentation": "https://opencagedata.com/api",
    "licenses": [{"name": "see attribution guide", "url": "https://opencagedata.com/credits"}],
    "rate": {"limit": 2500, "remaining": 2499, "reset": 1763856000},
    "results": [{
        "components": {"ISO_3166-1_alpha-2": "US", "_category": "commerce", "_type": "cafe",
                       "cafe": "Flint Crepe Company", "city": "Flint", "country": "United States of America",
                       "house_number": "555", "road": "South Saginaw Street", "state": "Michigan"},
        "confidence": 10,
        "formatted": "Flint Crepe Company, 555 South Saginaw Street, Flint, MI 48502, United States of America",
        "geometry": {"lat": 43.0139277, "lng": -83.6846968},
    }],
    "status": {"code": 200, "message": "OK"},
    "thanks": "For using an OpenCage API", "total_results": 1,
}
OPENCAGE_QUOTA = {"documentation": "https://opencagedata.com/api", "rate": {"limit": 2500, "remaining": 0,
                  "reset": 1439683200}, "results": [], "status": {"code": 402, "message": "quota exceeded"},
                  "total_results": 0}
LOCATIONIQ_OK = {
    "place_id": "331823366176", "licence": "https://locationiq.com/attribution", "osm_type": "way",
    "osm_id": "28412348", "lat": "43.01393", "lon": "-83.68468", "class": "shop", "type": "bakery",
    "display_name": "Churchill's Bakery, South Saginaw Street, Flint, Genesee County, Michigan, 48502, USA",
    "address": {"shop": "Churchill's Bakery", "road": "South Saginaw Street", "city": "Flint",
                "county": "Genesee County", "state": "Michigan", "postcode": "48502",
                "country": "United States of America", "country_code": "us"},
    "namedetails": {"name": "Churchill's Bakery"},
    "boundingbox": ["43.0138", "43.0140", "-83.6848", "-83.6845"],
}
OVERPASS_OK = {
    "version": 0.6, "generator": "Overpass API 0.7.62.1 084b4234",
    "osm3s": {"timestamp_osm_base": "2026-11-22T09:00:00Z",
              "copyright": "The data included in this document is from www.openstreetmap.org."},
    "elements": [
        {"type": "way", "id": 41231, "center": {"lat": 43.0143, "lon": -83.6850},
         "tags": {"shop": "supermarket", "name": "Far Market"}},
        {"type": "node", "id": 5384712044, "lat": 43.01393, "lon": -83.68470,
         "tags": {"amenity": "cafe", "name": "Flint Crepe Company", "addr:housenumber": "555",
                  "addr:street": "South Saginaw Street", "addr:city": "Flint"}},
        {"type": "node", "id": 77, "lat": 43.01391, "lon": -83.68469, "tags": {"amenity": "bench"}},
    ],
}


@pytest.fixture(scope="module")
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture()
def geo(app, fake, monkeypatch):
    fake.reset()
    for name in ("NOMINATIM", "OPENCAGE", "LOCATIONIQ", "OVERPASS"):
        monkeypatch.setitem(app.config, f"{name}_BASE_URL", fake.url)
    monkeypatch.setitem(app.config, "PROVIDER_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "PROVIDER_RETRIES", 2)
    return fake


def enable(org_id: int, provider: str, name: str | None = None, secret: str = "") -> None:
    creds.set_credential(org_id, provider, api_name=name, secret=secret, actor_label="test")
    db.session.commit()


def cache_rows(org_id: int, source: str | None = None) -> list[GeocodingCache]:
    stmt = sa.select(GeocodingCache).where(GeocodingCache.org_id == org_id)
    if source:
        stmt = stmt.where(GeocodingCache.source == source)
    return db.session.scalars(stmt.order_by(GeocodingCache.id)).all()


# ------------------------------------------------------------------ offline provider

def test_offline_provider_names_the_nearest_town_without_any_request():
    place = OfflineProvider().reverse(*FLINT)
    assert "Flint" in place.address and "Michigan" in place.address and "United States" in place.address
    assert place.raw["distance_km"] < 5 and "GeoNames" in place.raw["dataset"]
    tokyo = OfflineProvider().reverse(35.6895, 139.6917)
    assert tokyo.raw["country_code"] == "JP"
    with pytest.raises(NoResult):
        OfflineProvider().reverse(-48.8767, -123.3933)  # Point Nemo


def test_cache_keys_round_half_up_at_four_decimals():
    assert gc.key(43.01395) == 430140 and gc.key(43.01394) == 430139
    assert gc.key(-83.68465) == -836846 and gc.key(-83.684651) == -836847
    assert gc.key(0.00005) == 1


def test_offline_batch_geocodes_each_rounded_position_once_and_honours_expiry(app, orgs):
    org_id = orgs.a.org.id
    make_network(org_id, lat=43.01391, lon=-83.68471, threat=80)
    make_network(org_id, lat=43.013912, lon=-83.684712)  # same 4-decimal cell
    make_network(org_id, lat=35.6895, lon=139.6917)
    make_network(org_id, lat=0, lon=0)  # no position: skipped
    db.session.commit()
    report = geocode_networks(org_id, "offline", limit=10)
    assert (report.positions, report.geocoded, report.stopped) == (2, 2, None)
    rows = cache_rows(org_id, "offline")
    assert len(rows) == 2 and all(r.expires_at > utcnow() + timedelta(days=89) for r in rows)
    assert "Flint" in rows[0].address and rows[0].lat_key == 430139
    assert geocode_networks(org_id, "offline", limit=10).positions == 0  # all cached
    rows[0].expires_at = utcnow() - timedelta(minutes=1)
    db.session.merge(Setting(key="wireless.geocode_cache_days", value=7))
    db.session.commit()
    again = geocode_networks(org_id, "offline", limit=10)
    assert again.positions == 1 and len(cache_rows(org_id, "offline")) == 2  # replaced, not duplicated
    db.session.refresh(rows[0])
    assert rows[0].expires_at < utcnow() + timedelta(days=8)


def test_cache_and_batches_are_per_organization(app, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    make_network(a, lat=FLINT[0], lon=FLINT[1])
    make_network(b, lat=FLINT[0], lon=FLINT[1])
    db.session.commit()
    assert geocode_networks(a, "offline").geocoded == 1
    assert gc.lookup(b, "offline", *FLINT) is None  # A's answer is not B's
    assert geocode_networks(b, "offline").geocoded == 1
    assert len(cache_rows(a)) == 1 and len(cache_rows(b)) == 1


# ------------------------------------------------------------------ online providers

def test_nominatim_answer_and_usage_policy_headers(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "nominatim", "ops@example.test")
    geo.script("/reverse", Reply(200, NOMINATIM_CAFE))
    place = get_provider("nominatim", org_id).reverse(*FLINT)
    assert place.venue_name == "Flint Crepe Company" and place.venue_type == "amenity:cafe"
    assert place.address.startswith("Flint Crepe Company, 555, South Saginaw Street")
    seen = geo.requests[0]
    assert seen.query["format"] == ["jsonv2"] and seen.query["email"] == ["ops@example.test"]
    assert "ops@example.test" in seen.headers["User-Agent"]
    geo.script("/reverse", Reply(200, {"error": "Unable to geocode"}))
    with pytest.raises(NoResult):
        get_provider("nominatim", org_id).reverse(0.1, 0.1)
    geo.script("/reverse", Reply(429, "<html>Too Many Requests</html>", {"Content-Type": "text/html"}))
    with pytest.raises(QuotaExceeded):
        get_provider("nominatim", org_id).reverse(*FLINT)
    geo.script("/reverse", Reply(403, "<html>Access blocked</html>", {"Content-Type": "text/html"}))
    with pytest.raises(AuthFailed):
        get_provider("nominatim", org_id).reverse(*FLINT)


def test_opencage_answer_quota_and_bad_key(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "opencage", secret=KEY)
    geo.script("/geocode/v1/json", Reply(200, OPENCAGE_OK), Reply(402, OPENCAGE_QUOTA),
               Reply(401, {"status": {"code": 401, "message": "invalid API key"}, "results": [], "total_results": 0}))
    place = get_provider("opencage", org_id).reverse(*FLINT)
    assert (place.venue_name, place.venue_type) == ("Flint Crepe Company", "commerce")
    assert place.address.endswith("United States of America") and place.raw["rate"]["remaining"] == 2499
    assert geo.requests[0].query["key"] == [KEY] and geo.requests[0].query["q"] == ["43.013900+-83.684700"]
    with pytest.raises(QuotaExceeded, match="quota exceeded"):
        get_provider("opencage", org_id).reverse(*FLINT)
    with pytest.raises(AuthFailed, match="invalid API key"):
        get_provider("opencage", org_id).reverse(*FLINT)


def test_locationiq_waits_on_a_per_second_limit_but_stops_on_the_daily_one(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "locationiq", secret=KEY)
    geo.script("/v1/reverse", Reply(429, {"error": "Rate Limited Second"}), Reply(200, LOCATIONIQ_OK),
               Reply(404, {"error": "Unable to geocode"}), Reply(429, {"error": "Rate Limited Day"}))
    place = get_provider("locationiq", org_id).reverse(*FLINT)
    assert (place.venue_name, place.venue_type) == ("Churchill's Bakery", "shop:bakery")
    assert geo.count("/v1/reverse") == 2
    with pytest.raises(NoResult):
        get_provider("locationiq", org_id).reverse(*FLINT)
    with pytest.raises(QuotaExceeded, match="Rate Limited Day"):
        get_provider("locationiq", org_id).reverse(*FLINT)
    assert geo.count("/v1/reverse") == 4


def test_overpass_picks_the_nearest_named_venue(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "overpass")
    geo.script("/api/interpreter", Reply(200, OVERPASS_OK))
    place = get_provider("overpass", org_id).reverse(*FLINT)
    assert (place.venue_name, place.venue_type) == ("Flint Crepe Company", "amenity:cafe")
    assert place.address == "555 South Saginaw Street, Flint" and place.raw["distance_m"] < 10
    sent = parse_qs(geo.requests[0].body)["data"][0]
    assert geo.requests[0].method == "POST" and "around:60,43.013900,-83.684700" in sent
    geo.script("/api/interpreter", Reply(200, {**OVERPASS_OK, "elements": []}))
    with pytest.raises(NoResult):
        get_provider("overpass", org_id).reverse(*FLINT)


def test_server_errors_back_off_boundedly(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "overpass")
    geo.script("/api/interpreter", Reply(504, "busy"), DROP, Reply(200, OVERPASS_OK))
    assert get_provider("overpass", org_id).reverse(*FLINT).venue_name == "Flint Crepe Company"
    assert geo.count() == 3
    geo.reset()
    geo.script("/api/interpreter", Reply(503, "down"))
    with pytest.raises(Unavailable, match="after 3 attempt"):
        get_provider("overpass", org_id).reverse(*FLINT)
    assert geo.count() == 3


def test_online_providers_must_be_set_up_by_the_organization(app, orgs, geo):
    with pytest.raises(GeocoderError, match="not set up"):
        get_provider("opencage", orgs.a.org.id)
    with pytest.raises(GeocoderError, match="Unknown"):
        get_provider("mapbox", orgs.a.org.id)
    enable(orgs.a.org.id, "opencage", secret=KEY)
    with pytest.raises(GeocoderError, match="not set up"):
        get_provider("opencage", orgs.b.org.id)
    assert geo.count() == 0


def test_reverse_cached_asks_once_per_cell(app, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "nominatim", "ops@example.test")
    geo.script("/reverse", Reply(200, NOMINATIM_CAFE))
    provider = get_provider("nominatim", org_id)
    first = reverse_cached(org_id, *FLINT, provider)
    second = reverse_cached(org_id, FLINT[0] + 0.00001, FLINT[1], provider)
    assert first.venue_name == second.venue_name == "Flint Crepe Company" and geo.count() == 1


# ------------------------------------------------------------------ the job, routes and CLI

def test_geocode_job_reports_a_quota_stop(app, client, orgs, geo):
    org_id = orgs.a.org.id
    enable(org_id, "opencage", secret=KEY)
    for lat in (43.01, 43.02, 43.03):
        make_network(org_id, lat=lat, lon=-83.68)
    db.session.commit()
    geo.script("/geocode/v1/json", Reply(200, OPENCAGE_OK), Reply(402, OPENCAGE_QUOTA))
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/wireless/geocode", data={"geocode-provider": "opencage", "geocode-limit": "10"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "wireless.geocode_started"))
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.geocode"))
    assert run.status == "succeeded", run.error
    assert run.result["geocoded"] == 1 and "quota exceeded" in run.result["stopped"]
    assert "stopped: OpenCage: quota exceeded" in run.message
    assert geo.count() == 2  # stopped at the refusal: the third position was never sent
    assert len(cache_rows(org_id, "opencage")) == 1
    assert KEY not in (run.message or "") and KEY not in str(run.result)


def test_geocode_routes_validate_and_refuse_unset_providers(app, client, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.post("/wireless/geocode", data={"geocode-provider": "opencage",
                                                  "geocode-limit": "5"}).status_code == 400
    assert client.post("/wireless/geocode", data={"geocode-provider": "nope",
                                                  "geocode-limit": "5"}).status_code == 422
    assert client.post("/wireless/geocode", data={"geocode-provider": "offline",
                                                  "geocode-limit": "0"}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post("/wireless/geocode", data={"geocode-provider": "offline",
                                                  "geocode-limit": "5"}).status_code == 403


def test_admin_enables_and_tests_a_geocoder_and_org_b_cannot_see_it(app, client, orgs, geo):
    client.login(orgs.a.users["admin"].email)
    assert '<option value="opencage"' not in client.get("/wireless/providers").get_data(as_text=True)
    response = client.post("/wireless/providers/opencage/credential", data={"opencage-secret": KEY})
    assert response.status_code == 303
    geo.script("/geocode/v1/json", Reply(200, OPENCAGE_OK))
    client.post("/wireless/providers/opencage/test")
    row = creds.get_credential(orgs.a.org.id, "opencage")
    assert row.options["last_test"]["ok"] and "Flint Crepe Company" in row.options["last_test"]["message"]
    assert geo.requests[0].query["q"] == ["51.500700+-0.124600"]  # a fixed public point, no org data
    page = client.get("/wireless/providers").get_data(as_text=True)
    assert KEY not in page and "Last test: passed" in page and '<option value="opencage"' in page
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    page = client.get("/wireless/providers").get_data(as_text=True)
    assert "Last test: passed" not in page
    client.post("/wireless/providers/opencage/clear")
    assert creds.get_credential(orgs.a.org.id, "opencage") is not None


def test_geocode_command(app, orgs):
    make_network(orgs.a.org.id, lat=FLINT[0], lon=FLINT[1])
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["wireless", "geocode", "--org", orgs.a.org.slug, "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "offline: 1 position(s) geocoded" in result.output
    assert len(cache_rows(orgs.a.org.id, "offline")) == 1
    unset = runner.invoke(args=["wireless", "geocode", "--org", orgs.a.org.slug, "--provider", "opencage"])
    assert unset.exit_code == 2 and "not set up" in unset.output


def test_sighting_positions_can_be_geocoded_too(app, orgs):
    from app.models import DeviceSource, Observation

    org_id = orgs.a.org.id
    net = make_network(org_id, lat=0, lon=0)
    source = DeviceSource(org_id=org_id, code="phone-1", name="Phone")
    db.session.add(source)
    db.session.flush()
    for i, (lat, lon) in enumerate(((43.01391, -83.68471), (43.013912, -83.684712), (35.6895, 139.6917))):
        db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=source.id, bssid=net.bssid, level=-60,
                                   lat=lat, lon=lon, time=utcnow(), observed_at_ms=i, time_ms=i))
    db.session.commit()
    assert geocode_networks(org_id, "offline", scope="networks").positions == 0  # the network has no position
    report = geocode_networks(org_id, "offline", scope="sightings")
    assert report.positions == 2 and report.geocoded == 2
    with pytest.raises(GeocoderError, match="scope"):
        geocode_networks(org_id, "offline", scope="everything")


def test_the_network_page_shows_the_cached_place_of_its_position(app, client, orgs):
    # The batches filled the cache but no page showed what they found.
    net = make_network(orgs.a.org.id)
    other = make_network(orgs.b.org.id)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    before = client.get(f"/wireless/networks/{net.id}").get_data(as_text=True)
    assert "Not reverse-geocoded yet" in before
    assert geocode_networks(orgs.a.org.id, "offline", limit=10).geocoded >= 1
    db.session.commit()
    row = gc.lookup(orgs.a.org.id, "offline", net.bestlat, net.bestlon)
    assert row is not None and row.address
    html = client.get(f"/wireless/networks/{net.id}").get_data(as_text=True)
    assert f"{row.address} <span" in html.replace("&#39;", "'") and "(reverse-geocoded, offline)" in html
    # Another organization's cache answer for the same spot is not used.
    gc.remember(orgs.b.org.id, "nominatim", other.bestlat, other.bestlon,
                Place(address="Somewhere Else", venue_name="", venue_type="", raw={}))
    db.session.commit()
    assert "Somewhere Else" not in client.get(f"/wireless/networks/{net.id}").get_data(as_text=True)
