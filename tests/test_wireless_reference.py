"""Reference data and places: agency-office loading and CSV import, the IEEE manufacturer
registry, home and markers (one home per organization), `vigil wireless set-home`, device
sources, routes built from sightings, the demo scenario, permissions and tenant isolation."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models import AuditLog, Organization, db
from app.models.wireless import (
    AgencyOffice,
    DeviceSource,
    LocationMarker,
    Network,
    Observation,
    RadioManufacturer,
    Route,
)
from app.wireless import places, reference
from app.wireless.geo import destination, haversine_m
from tests.tenancy import assert_other_org_cannot_reach
from tests.wireless_fakes import make_network

with reference.FBI_OFFICES.open(encoding="utf-8") as _fh:
    FBI_ROWS = sum(1 for _ in csv.DictReader(_fh))
HEADER = "office_type,name,parent_office,address,city,state,postal_code,phone,latitude,longitude\n"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.action)))


# ---------------------------------------------------------------- loaders


def test_fbi_file_has_the_documented_rows():
    assert FBI_ROWS == 56


def test_load_agency_offices_command_is_idempotent(app, db_session):
    db.session.execute(sa.delete(AgencyOffice))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["wireless", "load-agency-offices"])
    assert first.exit_code == 0, first.output
    assert f"{FBI_ROWS} office(s) in fbi-field-offices.csv: {FBI_ROWS} added, 0 updated" in first.output
    assert count(AgencyOffice) == FBI_ROWS == 56
    denver = db.session.scalar(sa.select(AgencyOffice).where(AgencyOffice.name == "Denver"))
    assert denver.state == "CO" and denver.phone == "303-629-7171" and denver.phone_original == "(303) 629-7171"
    assert denver.source.startswith("street_address")
    again = runner.invoke(args=["wireless", "load-agency-offices"])
    assert "0 added, 0 updated" in again.output and count(AgencyOffice) == 56
    assert actions().count("wireless.agency_offices_loaded") == 2


def test_load_agency_offices_refuses_a_bad_file_whole(app, db_session, tmp_path):
    db.session.execute(sa.delete(AgencyOffice))
    bad = tmp_path / "offices.csv"
    bad.write_text(HEADER + "resident_agency,Boulder,Denver,1 Main St,Boulder,CO,80302,(303) 555-0100,40.01,-105.27\n"
                   "resident_agency,Nowhere,,2 Main St,Nowhere,CO,80000,,95,-105\n")
    result = app.test_cli_runner().invoke(args=["wireless", "load-agency-offices", str(bad)])
    assert result.exit_code != 0 and "line 3: latitude/longitude out of range" in result.output
    assert count(AgencyOffice) == 0


def test_load_manufacturers_is_bulk_and_idempotent(app, db_session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["wireless", "load-manufacturers"])
    assert first.exit_code == 0, first.output
    total = count(RadioManufacturer)
    assert total > 30000
    apple = db.session.scalar(sa.select(RadioManufacturer).where(RadioManufacturer.oui_prefix == "001B63"))
    assert "Apple" in apple.manufacturer
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RadioManufacturer)
                             .where(sa.func.length(RadioManufacturer.oui_prefix) == 9)) > 1000
    again = runner.invoke(args=["wireless", "load-manufacturers"])
    assert " 0 added, 0 updated" in again.output and count(RadioManufacturer) == total
    assert reference.manufacturer_for("00-1b-63-12-34-56").oui_prefix == "001B63"


# ---------------------------------------------------------------- office import page


def test_office_import_preview_errors_and_save(client, orgs):
    client.login(orgs.super_admin.email)
    before = count(AgencyOffice)
    good = HEADER + "resident_agency,Boulder RA,Denver,1 Main St,Boulder,CO,80302,(303) 555-0100,40.01,-105.27\n"
    bad = good + "resident_agency,,,x,Y,Colorado,1,,abc,1\n"
    r = client.post("/wireless/agency-offices/import", data={"text": bad, "confirm": "y"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Line 3: name is empty; latitude/longitude must be numbers; state must be a two-letter code" in html
    assert count(AgencyOffice) == before
    r = client.post("/wireless/agency-offices/import", data={"text": good})
    assert r.status_code == 200 and "1 office(s) are valid" in r.get_data(as_text=True)
    assert count(AgencyOffice) == before
    r = client.post("/wireless/agency-offices/import", data={"text": good, "confirm": "y"})
    assert r.status_code == 303 and count(AgencyOffice) == before + 1
    assert client.post("/wireless/agency-offices/import", data={"text": good, "confirm": "y"}).status_code == 303
    assert count(AgencyOffice) == before + 1
    assert "wireless.agency_offices_imported" in actions()
    assert "Boulder RA" in client.get("/wireless/agency-offices").get_data(as_text=True)


def test_office_import_is_for_super_admins_only(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get("/wireless/agency-offices").status_code == 200
    assert client.post("/wireless/agency-offices/import", data={"text": HEADER}).status_code == 403


# ---------------------------------------------------------------- home and markers


def test_set_home_cli_validates_and_replaces(app, orgs):
    runner = app.test_cli_runner()
    slug = orgs.a.org.slug
    for args, message in ((["--lat", "91", "--lon", "0"], "Latitude must be from -90 to 90"),
                          (["--lat", "0", "--lon", "0"], "not 0, 0"),
                          (["--lat", "40", "--lon", "-105", "--radius-km", "0"], "radius must be more than 0"),
                          (["--lat", "40", "--lon", "-105", "--radius-km", "500"], "at most 50 km"),
                          (["--lat", "north", "--lon", "-105"], "is not a valid float")):
        result = runner.invoke(args=["wireless", "set-home", "--org", slug, *args])
        assert result.exit_code != 0 and message in result.output, result.output
    unknown = runner.invoke(args=["wireless", "set-home", "--org", "nope", "--lat", "40", "--lon", "-105"])
    assert unknown.exit_code != 0 and "no organization" in unknown.output
    assert count(LocationMarker) == 0
    network = make_network(orgs.a.org.id)
    network.needs_rescore = False
    db.session.commit()
    ok = runner.invoke(args=["wireless", "set-home", "--org", slug, "--lat", "39.77", "--lon", "-104.95", "--radius-km", "0.8"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(args=["wireless", "set-home", "--org", slug, "--lat", "39.70", "--lon", "-104.90"])
    assert again.exit_code == 0
    homes = db.session.scalars(sa.select(LocationMarker).where(LocationMarker.org_id == orgs.a.org.id)).all()
    assert len(homes) == 1 and homes[0].is_home and (homes[0].lat, homes[0].radius_km) == (39.70, 0.5)
    db.session.refresh(network)
    assert network.needs_rescore is True
    assert actions().count("wireless.home_set") == 2


def test_places_page_one_home_and_markers(client, orgs):
    client.login(orgs.a.users["operator"].email)
    assert client.post("/wireless/places/home", data={"name": "Home", "lat": "39.7", "lon": "-104.9",
                                                      "radius_km": "0.5"}).status_code == 303
    assert client.post("/wireless/places/home", data={"name": "New home", "lat": "39.8", "lon": "-104.8",
                                                      "radius_km": "1"}).status_code == 303
    homes = db.session.scalars(sa.select(LocationMarker).where(LocationMarker.is_home.is_(True))).all()
    assert [h.name for h in homes] == ["New home"]
    assert client.post("/wireless/places/home", data={"name": "x", "lat": "120", "lon": "0", "radius_km": "1"}).status_code == 422
    assert client.post("/wireless/places", data={"name": "Gym", "lat": "39.75", "lon": "-104.99",
                                                 "color": "#ff0000"}).status_code == 303
    assert client.post("/wireless/places", data={"name": "Bad", "lat": "39.75", "lon": "-104.99",
                                                 "color": "red"}).status_code == 422
    html = client.get("/wireless/places").get_data(as_text=True)
    assert "New home" in html and "Gym" in html
    gym = db.session.scalar(sa.select(LocationMarker).where(LocationMarker.name == "Gym"))
    assert client.post(f"/wireless/places/{gym.id}/delete").status_code == 303
    assert count(LocationMarker) == 1
    assert {"wireless.home_set", "wireless.marker_added", "wireless.marker_deleted"} <= set(actions())
    # The database itself refuses a second home.
    db.session.add(LocationMarker(org_id=orgs.a.org.id, name="Sneaky", lat=1, lon=1, is_home=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# ---------------------------------------------------------------- sources


def test_device_sources_add_edit_and_unique_code(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    data = {"code": "pixel-7", "name": "Pixel 7", "device_type": "wigle", "description": "my phone"}
    assert client.post("/wireless/sources/new", data=data).status_code == 303
    assert client.post("/wireless/sources/new", data=data).status_code == 422
    assert client.post("/wireless/sources/new", data={**data, "code": "bad code!"}).status_code == 422
    source = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.code == "pixel-7"))
    assert client.get(f"/wireless/sources/{source.id}/edit").status_code == 200
    assert client.post(f"/wireless/sources/{source.id}/edit", data={**data, "name": "Work phone"}).status_code == 303
    db.session.refresh(source)
    assert source.name == "Work phone"
    assert "Work phone" in client.get("/wireless/sources").get_data(as_text=True)
    assert {"wireless.source_added", "wireless.source_edited"} <= set(actions())


# ---------------------------------------------------------------- routes


def drive(org_id: int, source: DeviceSource, start: datetime, n: int = 12, step_m: float = 400.0):
    """A straight drive north: one scan a minute, two radios seen per scan (same fix)."""
    network = make_network(org_id)
    other = make_network(org_id)
    lat, lon = 39.70, -104.95
    points = []
    for i in range(n):
        t = start + timedelta(minutes=i)
        plat, plon = destination(lat, lon, 0.0, step_m * i)
        points.append((plat, plon))
        for net in (network, other):
            db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=source.id, bssid=net.bssid,
                                       level=-70, lat=plat, lon=plon, time=t, observed_at_ms=int(t.timestamp() * 1000),
                                       time_ms=int(t.timestamp() * 1000), source_pk=f"{i}"))
    db.session.flush()
    return points


def test_route_built_from_a_source_window(client, orgs):
    org_id = orgs.a.org.id
    source = DeviceSource(org_id=org_id, code="phone", name="Phone")
    db.session.add(source)
    db.session.flush()
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    points = drive(org_id, source, start)
    drive(org_id, source, start + timedelta(days=1), n=3)  # outside the window
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    r = client.post("/wireless/routes", data={"source_id": source.id, "start": "2026-03-02T07:00",
                                              "end": "2026-03-02T12:00", "name": "Monday"})
    assert r.status_code == 303
    route = db.session.scalar(sa.select(Route))
    expected = sum(haversine_m(*a, *b) for a, b in zip(points, points[1:], strict=False)) / 1000
    assert route.point_count == 12 and route.duration_seconds == 11 * 60
    assert route.distance_km == pytest.approx(expected, abs=0.01)
    ordered = places.routes_points(route)
    assert len(ordered) == 12 and ordered[0] == pytest.approx(points[0], abs=1e-6)
    assert [p[0] for p in ordered] == sorted(p[0] for p in ordered)  # north, in time order
    html = client.get("/wireless/routes").get_data(as_text=True)
    assert "Monday" in html and f"{expected:.2f} km" in html
    empty = client.post("/wireless/routes", data={"source_id": source.id, "start": "2026-04-01T07:00",
                                                  "end": "2026-04-01T08:00"})
    assert empty.status_code == 422 and "fewer than two sightings" in empty.get_data(as_text=True)
    backwards = client.post("/wireless/routes", data={"source_id": source.id, "start": "2026-03-02T12:00",
                                                      "end": "2026-03-02T07:00"})
    assert backwards.status_code == 422 and count(Route) == 1
    assert client.post(f"/wireless/routes/{route.id}/delete").status_code == 303 and count(Route) == 0
    assert {"wireless.route_built", "wireless.route_deleted"} <= set(actions())


def test_build_route_command(app, orgs):
    source = DeviceSource(org_id=orgs.a.org.id, code="van", name="Kismet van")
    db.session.add(source)
    db.session.flush()
    drive(orgs.a.org.id, source, datetime(2026, 3, 2, 8, tzinfo=UTC), n=5)
    db.session.commit()
    runner = app.test_cli_runner()
    args = ["wireless", "build-route", "--org", orgs.a.org.slug, "--source", "van"]
    ok = runner.invoke(args=[*args, "--from", "2026-03-02 07:00", "--to", "2026-03-02 09:00"])
    assert ok.exit_code == 0, ok.output
    assert "5 sightings, 1.60 km, 4 min, 5 path points" in ok.output
    empty = runner.invoke(args=[*args, "--from", "2026-03-03 07:00", "--to", "2026-03-03 09:00"])
    assert empty.exit_code != 0 and "fewer than two sightings" in empty.output
    other = runner.invoke(args=["wireless", "build-route", "--org", orgs.b.org.slug, "--source", "van",
                                "--from", "2026-03-02 07:00", "--to", "2026-03-02 09:00"])
    assert other.exit_code != 0 and "has no device source" in other.output
    assert count(Route) == 1


# ---------------------------------------------------------------- permissions and tenancy


def test_read_only_sees_places_but_changes_nothing(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    for url in ("/wireless/places", "/wireless/routes", "/wireless/sources", "/wireless/agency-offices"):
        assert client.get(url).status_code == 200, url
    assert client.post("/wireless/places/home", data={"lat": "1", "lon": "1", "radius_km": "1", "name": "h"}).status_code == 403
    assert client.post("/wireless/places", data={}).status_code == 403
    assert client.post("/wireless/routes", data={}).status_code == 403
    assert client.get("/wireless/sources/new").status_code == 403


def test_other_org_cannot_reach_places_sources_or_routes(client, orgs):
    org_b = orgs.b.org.id
    marker = places.add_marker(org_b, "B's gym", 39.7, -104.9)
    source = DeviceSource(org_id=org_b, code="b-phone", name="B phone")
    db.session.add(source)
    db.session.flush()
    drive(org_b, source, datetime(2026, 3, 2, 8, tzinfo=UTC), n=3)
    route = places.build_route(org_b, source, datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("POST", f"/wireless/places/{marker.id}/delete"), ("GET", f"/wireless/sources/{source.id}/edit"),
        ("POST", f"/wireless/sources/{source.id}/edit"), ("POST", f"/wireless/routes/{route.id}/delete"),
    ], data={"code": "x", "name": "x", "device_type": "wigle"})
    assert "B&#39;s gym" not in client.get("/wireless/places").get_data(as_text=True)
    assert "b-phone" not in client.get("/wireless/sources").get_data(as_text=True)


# ---------------------------------------------------------------- demo


def test_seed_demo_loads_wireless_scenario_idempotently(app, db_session):
    from app.demo import seed_demo

    assert seed_demo() is True
    db.session.commit()
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == "northwind"))
    assert count(AgencyOffice) >= 56 and count(RadioManufacturer) > 30000
    home = db.session.scalar(sa.select(LocationMarker).where(LocationMarker.org_id == org.id, LocationMarker.is_home.is_(True)))
    assert home is not None and home.radius_km == 0.5
    networks = db.session.scalars(sa.select(Network).where(Network.org_id == org.id)).all()
    assert len(networks) > 200 and all(n.threat_level for n in networks)
    by_ssid = {n.ssid: n for n in networks}
    assert by_ssid["myChevrolet 7F3C"].threat_level in ("HIGH", "CRITICAL")  # the follower
    parked = next(n for n in networks if n.manufacturer == "Sierra Wireless")
    assert parked.threat_level in ("HIGH", "CRITICAL")
    for ssid in ("Pixel-7 5821", "Galaxy Watch5 (3F2A)", "NETGEAR47", "Smith Family"):
        assert by_ssid[ssid].threat_level in ("NONE", "LOW"), ssid
    assert all(n.threat_level in ("NONE", "LOW") for n in networks if n.is_cellular)
    assert db.session.scalar(sa.select(sa.func.count(Observation.id)).where(Observation.org_id == org.id)) > 10000
    assert db.session.scalar(sa.select(Route).where(Route.org_id == org.id)).point_count > 10
    observations = count(Observation)
    # Again: nothing new (the orgs exist), and the wireless part alone adds nothing either.
    assert seed_demo() is False
    from app.wireless.demo import seed_wireless

    seed_wireless({"northwind": org})
    assert count(Observation) == observations and count(Network) == len(networks)
    assert count(LocationMarker) == 1
