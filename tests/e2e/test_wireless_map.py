"""Browser: the wireless map draws streets from a tile server (a fake one on 127.0.0.1), falls
back to the offline outlines when tiles fail or are switched off, fits a laptop screen, and
draws the networks coloured by threat
level, home with its radius and a route, with zero console errors under the strict CSP.

No pixel comparison: the test reads what Leaflet put in the DOM (marker paths, cluster
icons, the count the page script recorded) and lets the `problems` fixture fail on any
console error, CSP violation, failed request or server exception.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import set_setting, sign_in
from tests.fakes import FakeTileServer

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's autouse fixture skips (or fails) every test, saying why
    expect = None

pytestmark = pytest.mark.e2e

HOME = (39.7392, -104.9903)


def _seed_wireless(app) -> int:
    from app.models import Organization, db
    from app.models.wireless import DeviceSource, LocationMarker, Network, Observation, Route

    with app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        src = DeviceSource(org_id=org_id, code="e2e-map-phone", name="E2E phone")
        db.session.add(src)
        # The demo data may have set a home already (one per organization): move it here.
        home = db.session.scalar(sa.select(LocationMarker).where(LocationMarker.org_id == org_id,
                                                                 LocationMarker.is_home.is_(True)))
        if home is None:
            home = LocationMarker(org_id=org_id, name="Home", is_home=True)
            db.session.add(home)
        home.lat, home.lon, home.radius_km = HOME[0], HOME[1], 0.5
        db.session.flush()
        t0 = datetime(2026, 10, 1, 8, tzinfo=UTC)
        levels = [("CRITICAL", 90), ("HIGH", 70), ("MEDIUM", 50), ("LOW", 30), ("NONE", 5), (None, None)]
        for i, (level, score) in enumerate(levels):
            lat, lon = HOME[0] + 0.002 * i, HOME[1] + 0.003 * i
            ms = int(t0.timestamp() * 1000)
            net = Network(org_id=org_id, bssid=f"02:E2:E0:00:00:{i:02X}", ssid=f"e2e-map-{i}", type="W",
                          firsttime_ms=ms, lasttime_ms=ms, lastlat=lat, lastlon=lon, bestlat=lat, bestlon=lon,
                          bestlevel=-60, observation_count=1, threat_level=level, needs_rescore=False,
                          threat_score_v2=Decimal(score) if score is not None else None)
            db.session.add(net)
            db.session.flush()
            db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=src.id, bssid=net.bssid,
                                       ssid=net.ssid, level=-60, lat=lat, lon=lon, time=t0 + timedelta(minutes=i),
                                       observed_at_ms=ms + i, time_ms=ms + i, source_pk=str(i)))
        db.session.add(Route(org_id=org_id, name="E2E commute", recorded_at=t0,
                             path=[[HOME[0], HOME[1]], [HOME[0] + 0.02, HOME[1] + 0.03]]))
        db.session.commit()
        # The demo organization has networks of its own (seed-demo's scenario): the map shows them all.
        from app.wireless.explorer import position

        shown = sum(1 for n in db.session.scalars(sa.select(Network).where(Network.org_id == org_id))
                    if position(n) is not None)
        db.session.remove()
    return shown


def test_map_draws_networks_by_threat_level_under_the_csp(page, live_server, problems, artifacts):
    count = _seed_wireless(live_server.app)
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/map")
    expect(page.get_by_role("heading", level=1)).to_have_text("Map")
    page.wait_for_selector("#wireless-map[data-loaded]", state="attached")
    assert page.get_attribute("#wireless-map", "data-loaded") == "true", page.get_attribute("#wireless-map", "data-error")
    # The page opens on home (zoom 12) and asks only for that view: the six seeded networks
    # around home are in it (the demo's own networks may be elsewhere).
    assert int(page.get_attribute("#wireless-map", "data-network-count")) >= 6
    # Offline basemap: well over a hundred country outlines, drawn as SVG paths.
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane path').length > 150")
    # (needs_rescore=False above keeps the background rescore from replacing these levels.)
    # At the home zoom the networks are spread out enough to show as coloured markers or
    # clusters coloured by their worst member; either way the CRITICAL colour is on the map.
    colours = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.leaflet-overlay-pane path.leaflet-interactive')).map(p => p.getAttribute('fill'))""")
    clusters = page.evaluate("""() => Array.from(document.querySelectorAll('.threat-cluster'))
        .map(c => Array.from(c.classList).find(k => k.startsWith('level-')))""")
    assert "#b91c1c" in colours or "level-CRITICAL" in clusters, (colours, clusters)
    # The layer control lists every layer the page promises.
    for name in ("Countries", "US states", "Home", "Routes", "Agency offices", "Networks", "Sightings", "Heat"):
        expect(page.locator(".leaflet-control-layers")).to_contain_text(name)
    # Zoomed out to the world, the view's answer stands for every network with a position
    # (clusters add up, or points when few): the count the page records is all of them.
    page.evaluate("() => { document.querySelector('#wireless-map').vigilMap.setView([20, 0], 2); }")
    page.wait_for_function(f"() => document.querySelector('#wireless-map').dataset.networkCount === '{count}'")
    # Filtering through the shared form (folded away under "Filters") redraws from the
    # GeoJSON endpoint and keeps the URL.
    page.get_by_role("button", name="Filters").click()
    page.locator("#f-ssid").fill("e2e-map-0")
    page.locator("#network-filters").get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.querySelector('#wireless-map').dataset.networkCount === '1'")
    assert "ssid=e2e-map-0" in page.url
    assert not problems.unexpected()
    # A block body, so nothing comes back: setView() returns the Leaflet map, and Playwright
    # serializing that object graph (layers, DOM, 5000 sightings) took ~25 s.
    page.evaluate("() => { document.querySelector('#wireless-map').vigilMap.setView([20, 0], 2); }")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "wireless-map.png"), full_page=True)  # for people, not compared


TILE_SETTING = "wireless.map_tile_url"


@pytest.fixture()
def tiles(live_server):
    """A fake tile server the map settings point at for one test (switched off again after)."""
    server = FakeTileServer()
    try:
        yield server
    finally:
        set_setting(live_server.app, TILE_SETTING, "")
        set_setting(live_server.app, "wireless.map_pmtiles_url", "")
        server.close()


def test_map_requests_and_draws_street_tiles_above_the_fold(new_page, live_server, tiles, artifacts):
    set_setting(live_server.app, TILE_SETTING, tiles.url + "/{z}/{x}/{y}.png")
    page = new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/map")
    page.wait_for_selector("#wireless-map[data-loaded]", state="attached")
    page.wait_for_function("() => Number(document.querySelector('#wireless-map').dataset.tilesLoaded) > 0")
    assert page.get_attribute("#wireless-map", "data-basemap") == "tiles"
    # The tiles came from the fake server (the CSP let exactly that host through), with the
    # console's origin as referrer, and are drawn as images in Leaflet's tile pane.
    assert tiles.tile_paths() and all(p.endswith(".png") for p in tiles.tile_paths())
    assert {ref for _, ref in tiles.requests} == {live_server.url + "/"}
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded'))
        .filter(img => img.naturalWidth === 256).length""")
    assert drawn > 0
    # Attribution is shown; no country outlines (150+ paths) are drawn over working tiles (the
    # home radius is the one non-interactive path).
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Map tiles: 127.0.0.1")
    assert page.evaluate("() => document.querySelectorAll('.leaflet-overlay-pane path:not(.leaflet-interactive)').length") < 5
    # Above the fold on a 1366x768 laptop: the whole map is inside the first screen.
    box = page.locator("#wireless-map").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    assert box["height"] >= 320
    page.screenshot(path=str(artifacts / "wireless-map-tiles-1366.png"))


def test_network_page_small_map_draws_tiles(page, live_server, tiles):
    set_setting(live_server.app, TILE_SETTING, tiles.url + "/{z}/{x}/{y}.png")
    from app.models import Organization, db
    from app.models.wireless import Network

    with live_server.app.app_context():  # any of the demo organization's networks with a position
        network_id = db.session.scalar(sa.select(Network.id).join(Organization, Organization.id == Network.org_id)
                                       .where(Organization.slug == "northwind", Network.lastlat.is_not(None))
                                       .order_by(Network.id).limit(1))
        db.session.remove()
    sign_in(page, "analyst@northwind.example")
    page.goto(f"{live_server.url}/wireless/networks/{network_id}")
    page.wait_for_function("() => Number(document.querySelector('#network-map').dataset.tilesLoaded) > 0")
    expect(page.locator("#network-map .leaflet-control-attribution")).to_contain_text("Map tiles")


def test_map_falls_back_to_outlines_when_tiles_fail(page, live_server, problems, tiles):
    set_setting(live_server.app, TILE_SETTING, tiles.url + "/down/{z}/{x}/{y}.png")
    # The browser logs each refused tile; that is the situation under test.
    problems.allow(r"console error: Failed to load resource: the server responded with a status of 503")
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/map")
    page.wait_for_function("() => document.querySelector('#wireless-map').dataset.basemap === 'outlines'")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane path').length > 150")
    expect(page.locator("#basemap-status")).to_contain_text("showing the offline country outlines")
    assert any(p.startswith("/down/") for p, _ in tiles.requests)
    assert page.locator(".leaflet-tile-pane img").count() == 0


@pytest.mark.parametrize("archive, max_zoom", [("basemap.pmtiles", 1), ("world-z0.pmtiles", 0)])
def test_self_hosted_pmtiles_basemap_is_fetched_and_drawn(page, live_server, tiles, artifacts, archive, max_zoom):
    set_setting(live_server.app, "wireless.map_pmtiles_url", f"{tiles.url}/{archive}")
    sign_in(page, "analyst@northwind.example")
    page.goto(live_server.url + "/wireless/map")
    page.wait_for_function("() => document.querySelector('#wireless-map').dataset.basemap === 'pmtiles'")
    # The page reads the archive's header with a range request (the CSP's connect-src allows
    # exactly that host; these files stop at zoom 1 or 0), and protomaps-leaflet paints the land
    # polygon over-zoomed into its canvas tiles: the light flavour's land colour #e2dfda, not
    # its #cccccc background.
    page.wait_for_function("() => document.querySelector('#wireless-map').dataset.pmtilesMaxZoom === '" + str(max_zoom) + "'")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas')).some(c => {
        const px = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
        return px[0] === 0xe2 && px[1] === 0xdf && px[2] === 0xda; })""")
    assert tiles.ranges and all(r and r.startswith("bytes=") for r in tiles.ranges), tiles.ranges
    assert not any(p.endswith(".png") for p, _ in tiles.requests)  # no raster tiles beside it
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    page.screenshot(path=str(artifacts / f"wireless-map-pmtiles-z{max_zoom}.png"))
