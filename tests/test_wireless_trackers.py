"""Bluetooth trackers by kind (issue 20.2): makers from the manufacturer id, kind-specific
minimums, and "possibly the same device" links between short-lived addresses."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import db, utcnow
from app.models.wireless import Network, Observation
from app.wireless import rescore, trackers
from app.wireless.geo import destination
from app.wireless.scoring import NetworkInfo, ScoringContext, Sighting, score_network
from tests.test_wireless_rescore import source
from tests.test_wireless_sameday import CTX, HOME, T0, trip

APPLE, SAMSUNG = 0x004C, 0x0075


def test_tracker_makers_come_from_the_data_file_with_sources():
    assert trackers.kind_for(APPLE).maker == "Apple" and trackers.kind_for(SAMSUNG).maker == "Samsung"
    assert trackers.kind_for(0x067C).maker == "Tile" and trackers.kind_for(0x00E0).maker == "Google"
    assert trackers.kind_for(0x00C7) is None and trackers.kind_for(None) is None  # 0x00C7 is Quuppa, not Tile
    assert trackers.kind_for_service(0xFEED).maker == "Tile" and trackers.kind_for_service(0x1234) is None
    assert trackers.random_address("DA:11:22:33:44:55") and not trackers.random_address("1A:11:22:33:44:55")
    assert not trackers.random_address("nonsense")


def test_a_known_tracker_moving_with_you_is_named_and_uses_its_kinds_minimums():
    tag = NetworkInfo(bssid="DA:11:22:33:44:55", radio_type="E", mfgr_id=APPLE)
    result = score_network(trip(minutes=40, step_m=1500), tag, CTX)
    kind = result.factor("tracker_kind")
    assert kind["points"] == 10 and "Apple" in kind["explanation"] and "random static" in kind["explanation"]
    assert result.factor("same_day")["points"] == 45  # Find My: 30 min is enough (medium sensitivity needs 60)
    smarttag = score_network(trip(minutes=40, step_m=1500), NetworkInfo(bssid="DA:11:22:33:44:56", radio_type="E",
                                                                          mfgr_id=SAMSUNG), CTX)
    assert smarttag.factor("same_day")["points"] == 0 and "SmartTag" in smarttag.factor("same_day")["explanation"]
    plain = score_network(trip(minutes=40, step_m=1500), NetworkInfo(bssid="DA:11:22:33:44:57", radio_type="E"), CTX)
    assert plain.factor("tracker_kind") is None and plain.factor("same_day")["points"] == 0


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
