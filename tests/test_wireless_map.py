"""The map page and its GeoJSON endpoints: filters shared with the explorer, bbox and caps,
the fixed layers, the tile URL setting and its CSP, and tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.settings_registry import SETTINGS, save_setting
from app.models import db
from app.models.wireless import LocationMarker, Route
from app.wireless import map_data
from tests.wireless_explorer_data import HOME, T0, network, north_of, office, source


def assert_feature_collection(data: dict) -> None:
    """The GeoJSON shape a client relies on (RFC 7946): features with geometry and properties."""
    assert data["type"] == "FeatureCollection"
    for f in data["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = f["geometry"]
        assert g["type"] in ("Point", "LineString")
        points = [g["coordinates"]] if g["type"] == "Point" else g["coordinates"]
        for lon, lat in points:
            assert -180 <= lon <= 180 and -90 <= lat <= 90


def test_map_page_renders_the_shared_filters_and_data_urls(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    response = client.get("/wireless/map?ssid=Ford*")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="network-filters"' in html and 'value="Ford*"' in html
    assert 'data-networks-url="/wireless/map/networks.geojson"' in html
    assert "vendor/leaflet-1.9.4/leaflet.js" in html and "js/wireless_map.js" in html
    assert "<script>" not in html and " style=" not in html
    # Streets by default: OpenStreetMap's standard tiles with the attribution its licence asks for,
    # and the CSP allows exactly that one tile host (nothing else from elsewhere).
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert "OpenStreetMap&lt;/a&gt; contributors" in html and "openstreetmap.org/copyright" in html
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in response.headers["Content-Security-Policy"]
    assert "connect-src 'self';" in response.headers["Content-Security-Policy"]
    # The shipped outlines stay available as the fallback when the tiles fail.
    assert "countries-110m.json" in html and "js/basemap.js" in html


def test_map_page_with_bad_filters_is_422(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/wireless/map?km=far&near=home")
    assert response.status_code == 422 and "is not a number" in response.get_data(as_text=True)


def test_network_points_follow_the_filter_and_the_cap(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    high = network(a, src, ssid="FordPass", level="HIGH", score=75, points=[north_of(HOME, 500)])
    low = network(a, src, ssid="Neighbour", level="LOW", score=25)
    network(a, src, ssid="nowhere", points=[])  # no position: not drawn
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    data = client.get("/wireless/map/networks.geojson").get_json()
    assert_feature_collection(data)
    assert [f["id"] for f in data["features"]] == [high.id, low.id]  # most threatening first
    first = data["features"][0]["properties"]
    assert first["level"] == "HIGH" and first["url"] == f"/wireless/networks/{high.id}"
    assert data["truncated"] is False and data["mode"] == "points"
    # Zoomed in to DETAIL_ZOOM, a view with more networks than the limit shows the most threatening.
    capped = client.get(f"/wireless/map/networks.geojson?limit=1&zoom={map_data.DETAIL_ZOOM}").get_json()
    assert [f["id"] for f in capped["features"]] == [high.id] and capped["truncated"] is True
    # Further out, the same view is one cluster standing for both (none is left out).
    clustered = client.get("/wireless/map/networks.geojson?limit=1&zoom=3").get_json()
    assert clustered["mode"] == "clusters" and clustered["total"] == 2
    assert [f["properties"]["count"] for f in clustered["features"]] == [2]
    assert clustered["features"][0]["properties"]["level"] == "HIGH"
    only_low = client.get("/wireless/map/networks.geojson?level=LOW").get_json()
    assert [f["id"] for f in only_low["features"]] == [low.id]
    assert client.get("/wireless/map/networks.geojson?limit=0").status_code == 400


def test_observations_inside_the_box_only(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    inside, outside = north_of(HOME, 200), north_of(HOME, 50_000)
    net = network(a, src, ssid="both", level="MEDIUM", score=50, points=[inside, outside])
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    box = f"{HOME[1] - 0.01},{HOME[0] - 0.01},{HOME[1] + 0.01},{HOME[0] + 0.01}"
    data = client.get(f"/wireless/map/observations.geojson?bbox={box}").get_json()
    assert_feature_collection(data)
    assert len(data["features"]) == 1
    props = data["features"][0]["properties"]
    assert props["network_id"] == net.id and props["level"] == "MEDIUM"
    assert data["bbox"] == [float(v) for v in box.split(",")]
    everything = client.get("/wireless/map/observations.geojson").get_json()
    assert len(everything["features"]) == 2
    filtered = client.get(f"/wireless/map/observations.geojson?bbox={box}&ssid=other").get_json()
    assert filtered["features"] == []
    # A box with more sightings than the cap is read newest first down the time index instead:
    # the same newest sightings, and the answer says there were more.
    newest = client.get("/wireless/map/observations.geojson?limit=1").get_json()
    assert newest["features"] == everything["features"][:1] and newest["truncated"] is True


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "0,50,1,40", "10,0,-10,1", "nan,0,1,1"])
def test_bad_boxes_are_400(client, orgs, bbox):
    client.login(orgs.a.users["analyst"].email)
    response = client.get(f"/wireless/map/observations.geojson?bbox={bbox}")
    assert response.status_code == 400
    assert "bbox" in response.get_json()["error"]["message"]


def test_layers_hold_home_routes_and_offices(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    db.session.add(LocationMarker(org_id=a, name="Home", lat=HOME[0], lon=HOME[1], is_home=True, radius_km=0.75))
    db.session.add(Route(org_id=a, name="Commute", path=[[HOME[0], HOME[1]], [HOME[0] + 0.01, HOME[1] + 0.01]],
                         distance_km=1.4, recorded_at=T0))
    # A route without a stored path is drawn from its collector's sightings in its window.
    network(a, src, points=[HOME, north_of(HOME, 800), north_of(HOME, 1600)])
    db.session.add(Route(org_id=a, name="From sightings", source_id=src.id, recorded_at=T0 - timedelta(minutes=1),
                         ended_at=T0 + timedelta(hours=1)))
    hq = office("Field office", 40.75, -73.99)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    data = client.get("/wireless/map/layers.geojson").get_json()
    assert_feature_collection(data)
    by_layer: dict[str, list] = {}
    for f in data["features"]:
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert by_layer["home"][0]["properties"]["radius_km"] == 0.75
    assert by_layer["home"][0]["geometry"]["coordinates"] == [HOME[1], HOME[0]]
    routes = {f["properties"]["name"]: f["geometry"]["coordinates"] for f in by_layer["route"]}
    assert routes["Commute"][0] == [HOME[1], HOME[0]] and len(routes["From sightings"]) == 3
    assert any(f["properties"]["id"] == hq.id for f in by_layer["office"])


def test_map_data_never_shows_another_organization(client, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    network(a, source(a), ssid="secret-of-a", level="HIGH", score=90)
    db.session.add(LocationMarker(org_id=a, name="A home", lat=1.0, lon=1.0, is_home=True, radius_km=1))
    db.session.add(Route(org_id=a, name="A route", path=[[1, 1], [1.1, 1.1]], recorded_at=T0))
    mine = network(b, source(b), ssid="b-net")
    db.session.commit()
    client.login(orgs.b.users["analyst"].email)
    nets = client.get("/wireless/map/networks.geojson").get_json()
    assert [f["id"] for f in nets["features"]] == [mine.id]
    obs = client.get("/wireless/map/observations.geojson").get_json()
    assert {f["properties"]["network_id"] for f in obs["features"]} == {mine.id}
    layers = client.get("/wireless/map/layers.geojson").get_json()
    names = {f["properties"]["name"] for f in layers["features"]}
    assert "A home" not in names and "A route" not in names


def test_tile_url_setting_is_validated_and_used_with_its_host_in_the_csp(client, orgs):
    spec = SETTINGS["wireless.map_tile_url"]
    for bad in ("javascript:alert(1)", "https://tiles.example.org/{z}/{x}.png", "https://a b/{z}/{x}/{y}",
                "https://x.example/{z}/{x}/{y};script-src *"):
        with pytest.raises(ValueError):
            spec.parse(bad)
    assert spec.parse("") == ""
    save_setting(spec, spec.parse("https://{s}.tiles.example.org/{z}/{x}/{y}.png"), orgs.super_admin)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/wireless/map")
    assert 'data-tile-url="https://{s}.tiles.example.org/{z}/{x}/{y}.png"' in response.get_data(as_text=True)
    assert "img-src 'self' data: https://*.tiles.example.org;" in response.headers["Content-Security-Policy"]


def test_tiles_switched_off_draw_the_outlines_with_the_strict_csp(client, orgs):
    save_setting(SETTINGS["wireless.map_tile_url"], "", orgs.super_admin)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    for url in ("/wireless/map", f"/wireless/networks/{network(orgs.a.org.id, source(orgs.a.org.id)).id}"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert 'data-tile-url=""' in html and "countries-110m.json" in html
        assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]


def test_network_page_small_map_uses_the_same_tiles_and_csp(client, orgs):
    a = orgs.a.org.id
    net = network(a, source(a), ssid="street", level="LOW", score=20, points=[north_of(HOME, 100)])
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    response = client.get(f"/wireless/networks/{net.id}")
    html = response.get_data(as_text=True)
    assert 'id="network-map"' in html and 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in response.headers["Content-Security-Policy"]


def test_pmtiles_basemap_setting_replaces_the_tiles(client, orgs):
    spec = SETTINGS["wireless.map_pmtiles_url"]
    for bad in ("/static/../secret.pmtiles", "/static/map.png", "ftp://maps.example/x.pmtiles",
                "https://maps.example/x.pmtiles;script-src *", "https://maps.example/x", "https://{s}.m.example/a.pmtiles"):
        with pytest.raises(ValueError):
            spec.parse(bad)
    assert spec.parse("") == ""
    save_setting(spec, spec.parse("/static/basemap.pmtiles"), orgs.super_admin)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/wireless/map")
    html = response.get_data(as_text=True)
    assert 'data-pmtiles-url="/static/basemap.pmtiles"' in html and "vendor/protomaps-leaflet-5.1.0.js" in html
    assert 'data-tile-url=""' in html  # the online tiles are not loaded beside it
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in csp and "connect-src 'self';" in csp  # same-origin file: nothing extra
    save_setting(spec, spec.parse("https://maps.example.org/planet.pmtiles"), orgs.super_admin)
    db.session.commit()
    csp = client.get("/wireless/map").headers["Content-Security-Policy"]
    assert "connect-src 'self' https://maps.example.org;" in csp and "img-src 'self' data:;" in csp


def test_only_super_admins_change_the_tile_url(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/admin/settings/wireless.map_tile_url", data={"value": "https://t.example/{z}/{x}/{y}"})
    assert response.status_code == 403
    client.post("/auth/logout")
    client.login(orgs.super_admin.email)
    bad = client.post("/admin/settings/wireless.map_tile_url", data={"value": "ftp://t.example/{z}/{x}/{y}"})
    assert bad.status_code == 422
    good = client.post("/admin/settings/wireless.map_tile_url", data={"value": "https://t.example/{z}/{x}/{y}.png"})
    assert good.status_code == 303


def test_anonymous_users_get_no_map_data(client):
    for url in ("/wireless/map", "/wireless/map/networks.geojson", "/wireless/map/observations.geojson",
                "/wireless/map/layers.geojson"):
        assert client.get(url).status_code in (302, 401)
