"""Bluetooth trackers by kind (issue 20.2): makers from the manufacturer id, kind-specific
minimums, and "possibly the same device" links between short-lived addresses."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import db, utcnow
from app.models.wireless import Network, Observation
from app.wireless import rescore, trackers
from app.wireless.geo import destination
from app.wireless.scoring import NetworkInfo, ScoringConfig, ScoringContext, Sighting, score_network
from tests.test_wireless_rescore import source
from tests.test_wireless_sameday import CTX, HOME, T0, trip

APPLE, SAMSUNG, GOOGLE, TILE = 0x004C, 0x0075, 0x00E0, 0x067C


def test_tracker_makers_come_from_the_data_file_with_sources():
    assert trackers.kind_for(APPLE).maker == "Apple" and trackers.kind_for(SAMSUNG).maker == "Samsung"
    assert trackers.kind_for(0x067C).maker == "Tile" and trackers.kind_for(0x00E0).maker == "Google"
    assert trackers.kind_for(0x00C7) is None and trackers.kind_for(None) is None  # 0x00C7 is Quuppa, not Tile
    assert trackers.kind_for_service(0xFEED).maker == "Tile" and trackers.kind_for_service(0x1234) is None
    assert trackers.random_address("DA:11:22:33:44:55") and not trackers.random_address("1A:11:22:33:44:55")
    assert not trackers.random_address("nonsense")


def visit(places: int, minutes: int, day: int = 0, start_min: int = 0) -> list[Sighting]:
    """A tag heard every 5 minutes for `minutes`, at `places` places 3 km apart, in equal shares."""
    out = []
    for m in range(0, minutes + 1, 5):
        where = min(places - 1, m * places // (minutes + 1))
        out.append(Sighting(T0 + timedelta(days=day, minutes=start_min + m), *destination(*HOME, 90, 3000.0 * where),
                            -75, 8))
    return out


def tag_of(company: int | None) -> NetworkInfo:
    return NetworkInfo(bssid="DA:11:22:33:44:55", radio_type="E", mfgr_id=company)


def same_day_points(sightings, company, sensitivity="MEDIUM"):
    config = ScoringConfig.from_mapping({"sameday_sensitivity": sensitivity.lower()})
    return score_network(sightings, tag_of(company), CTX, config).factor("same_day")["points"]


def test_a_known_tracker_moving_with_you_is_named_and_explained_with_airguards_minimums():
    result = score_network(trip(minutes=70, step_m=1500), tag_of(APPLE), CTX)
    kind = result.factor("tracker_kind")
    assert kind["points"] == 10 and "Apple" in kind["explanation"] and "random static" in kind["explanation"]
    same_day = result.factor("same_day")
    assert same_day["points"] == 45 and "AirGuard's Apple" in same_day["explanation"]
    assert ">= 3 places" in same_day["explanation"] and "tracked >= 30 min" in same_day["explanation"]
    plain = score_network(trip(minutes=40, step_m=1500), tag_of(None), CTX)
    assert plain.factor("tracker_kind") is None and plain.factor("same_day")["points"] == 0


def test_per_kind_minimums_are_airguards():
    """AirGuard: minTrackingTime 30 min for every tracker kind; locations high/medium/low 2/3/4, Tile 3/4/5."""
    for company in (APPLE, SAMSUNG, GOOGLE, TILE):
        kind = trackers.kind_for(company)
        assert kind.min_minutes == 30
        assert kind.places == ((3, 4, 5) if company == TILE else (2, 3, 4)), kind.maker
    assert trackers.kind_for(TILE).min_places("LOW") == 5 and trackers.kind_for(APPLE).min_places("HIGH") == 2


@pytest.mark.parametrize(("company", "places", "minutes", "sensitivity", "counts"), [
    # Find My / SmartTag / Google: 3 places at medium sensitivity, 2 at high, 4 at low.
    (APPLE, 3, 65, "MEDIUM", True), (APPLE, 2, 65, "MEDIUM", False), (APPLE, 2, 35, "HIGH", True),
    (APPLE, 3, 95, "LOW", False), (APPLE, 4, 95, "LOW", True),
    (SAMSUNG, 3, 65, "MEDIUM", True), (SAMSUNG, 2, 65, "MEDIUM", False), (SAMSUNG, 2, 35, "HIGH", True),
    (GOOGLE, 3, 65, "MEDIUM", True), (GOOGLE, 2, 35, "HIGH", True),
    # Tile (a fixed address, ignorable in AirGuard): one place more at every sensitivity.
    (TILE, 3, 65, "MEDIUM", False), (TILE, 4, 65, "MEDIUM", True), (TILE, 2, 35, "HIGH", False),
    (TILE, 3, 35, "HIGH", True), (TILE, 5, 95, "LOW", True),
    # No known maker: the settings (3 places, the sensitivity's minutes), whatever the sensitivity.
    (None, 2, 35, "HIGH", False), (None, 3, 35, "HIGH", True), (None, 3, 65, "MEDIUM", True),
])
def test_same_day_uses_each_kinds_places(company, places, minutes, sensitivity, counts):
    assert (same_day_points(visit(places, minutes), company, sensitivity) > 0) is counts


def test_a_tracker_needs_its_tracking_time_and_to_be_known_for_the_sensitivitys_minutes():
    # 40 minutes at 3 places: tracked long enough for a tag (30 min), but AirGuard at medium
    # sensitivity also waits until the tag has been known for 60 minutes.
    assert same_day_points(visit(3, 40), APPLE) == 0
    assert same_day_points(visit(3, 40), APPLE, "HIGH") > 0
    # Known since the day before: 40 minutes today are enough at medium sensitivity ...
    seen_before = visit(1, 5, day=-1)
    assert same_day_points(seen_before + visit(3, 40), APPLE) > 0
    # ... but not for a radio of no tracker maker, which needs 60 minutes that day.
    assert same_day_points(seen_before + visit(3, 40), None) == 0
    # Under 30 minutes of tracking is never enough for a tag, however long it has been known.
    assert same_day_points(seen_before + visit(3, 25), APPLE) == 0


def test_a_tag_that_stays_put_gets_no_tracker_points():
    still = [Sighting(T0 + timedelta(minutes=m), *destination(*HOME, 0, 20), -80, 8) for m in range(0, 600, 15)]
    result = score_network(still, NetworkInfo(bssid="DA:11:22:33:44:58", radio_type="E", mfgr_id=APPLE),
                           ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=1)))
    assert result.factor("tracker_kind")["points"] == 0 and result.level in ("NONE", "LOW")


def add_tag(org_id, src, bssid, day, mfgrid, start, hours=(8, 9, 10, 11)):
    """A BLE network seen moving with the person on one day (1 km further each quarter hour)."""
    when = start + timedelta(days=day)
    points = [(when + timedelta(hours=h, minutes=q * 15), *destination(*HOME, 90, 1000.0 * (q + 4 * (h - hours[0]))))
              for h in hours for q in range(4)]
    net = Network(org_id=org_id, bssid=bssid, ssid="", type="E", firsttime_ms=int(points[0][0].timestamp() * 1000),
                  lasttime_ms=int(points[-1][0].timestamp() * 1000), lastlat=points[-1][1], lastlon=points[-1][2],
                  needs_rescore=True)
    db.session.add(net)
    db.session.flush()
    for t, lat, lon in points:
        ms = int(t.timestamp() * 1000)
        db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=src.id, bssid=bssid, ssid="",
                                   level=-75, lat=lat, lon=lon, accuracy=8, time=t, observed_at_ms=ms, time_ms=ms,
                                   mfgrid=mfgrid))
    return net


def test_rotating_addresses_are_linked_on_the_page_without_merging(app, client, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    a = add_tag(org_id, src, "DA:00:00:00:00:01", 0, APPLE, start)
    b = add_tag(org_id, src, "DA:00:00:00:00:02", 1, APPLE, start)
    c = add_tag(org_id, src, "DA:00:00:00:00:03", 2, APPLE, start)
    overlapping = add_tag(org_id, src, "DA:00:00:00:00:04", 0, APPLE, start, hours=(10, 11, 12, 13))
    samsung = add_tag(org_id, src, "DA:00:00:00:00:05", 3, SAMSUNG, start)
    other_org = add_tag(orgs.b.org.id, source(orgs.b.org.id), "DA:00:00:00:00:06", 1, APPLE, start)
    db.session.commit()
    rescore.rescore(org_id)
    rescore.rescore(orgs.b.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/wireless/networks/{a.id}").get_data(as_text=True)
    panel = page[page.index('id="same-device"'):page.index('id="tags-block"')]
    assert b.bssid in panel and c.bssid in panel and "Apple" in panel and "never seen at the same time" in panel
    assert overlapping.bssid not in panel and samsung.bssid not in panel and other_org.bssid not in panel
    assert db.session.scalar(sa.select(sa.func.count(Network.id)).where(Network.org_id == org_id)) == 5  # not merged
    # A tracker with no other address of its kind has no panel.
    assert 'id="same-device"' not in client.get(f"/wireless/networks/{samsung.id}").get_data(as_text=True)
