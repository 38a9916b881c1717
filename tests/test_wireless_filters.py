"""The one network filter (app/wireless/filters.py): parsing, every filter's SQL, sorting."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import db
from app.models.wireless import LocationMarker, Network, NetworkTag
from app.wireless.filters import SORTS, FilterError, filtered_networks, parse_filters, parse_ssid
from app.wireless.geo import haversine_m
from tests.wireless_explorer_data import HOME, T0, network, north_of, office, source


def ids(org_id: int, **args) -> set[int]:
    f = parse_filters(args, org_id)
    return set(db.session.scalars(filtered_networks(f, org_id).with_only_columns(Network.id)))


def ordered(org_id: int, **args) -> list[int]:
    f = parse_filters(args, org_id)
    return list(db.session.scalars(filtered_networks(f, org_id).with_only_columns(Network.id)))


# --- parsing ---------------------------------------------------------------------------


def test_empty_args_give_the_default_filter(app, orgs):
    f = parse_filters({}, orgs.a.org.id)
    assert (f.sort, f.direction) == ("last_seen", "desc")
    assert f.args() == {}


@pytest.mark.parametrize("args, field", [
    ({"type": "X"}, "type"), ({"level": "SCARY"}, "level"), ({"tag": "BOGUS"}, "tag"),
    ({"enc": "rot13"}, "enc"), ({"first_from": "2026-13-01"}, "first_from"),
    ({"last_from": "2026-05-02", "last_to": "2026-05-01"}, "last_to"),
    ({"signal_min": "loud"}, "signal_min"), ({"signal_max": "20"}, "signal_max"),
    ({"signal_min": "-40", "signal_max": "-80"}, "signal_max"),
    ({"near": "home", "km": "nan"}, "km"), ({"near": "office"}, "km"), ({"near": "moon", "km": "1"}, "near"),
    ({"near": "office", "km": "1", "office": "999999"}, "office"), ({"km": "-1"}, "km"), ({"km": "2"}, "near"),
    ({"sort": "password_hash"}, "sort"), ({"sort": "ssid", "dir": "sideways"}, "dir"),
    ({"ssid": "a|"}, "ssid"), ({"ssid": "a | -"}, "ssid"), ({"ssid": "x" * 201}, "ssid"),
    ({"bssid": "AA;DROP"}, "bssid"),
])
def test_bad_values_name_their_field(app, orgs, args, field):
    with pytest.raises(FilterError) as err:
        parse_filters(args, orgs.a.org.id)
    assert field in err.value.errors, err.value.errors
    assert err.value.errors[field]


def test_near_home_without_a_home_marker_says_so(app, orgs):
    with pytest.raises(FilterError) as err:
        parse_filters({"near": "home", "km": "2"}, orgs.a.org.id)
    assert "no home marker" in err.value.errors["near"]


def test_args_round_trip(app, orgs):
    args = {"type": ["W", "E"], "level": ["HIGH"], "ssid": "Ford*", "signal_min": "-80", "sort": "ssid", "dir": "desc",
            "first_from": "2026-01-01"}
    f = parse_filters(args, orgs.a.org.id)
    again = parse_filters(f.args(), orgs.a.org.id)
    assert again == f


def test_ssid_expression_terms():
    terms = parse_ssid("Ford* | tesla OR NOT *guest* | -Home?")
    assert [(t.pattern, t.negate) for t in terms] == [
        ("Ford%", False), ("%tesla%", False), ("%guest%", True), ("Home_", True)]
    # LIKE's own wildcards in a name are literal characters.
    assert parse_ssid("50%_off")[0].pattern == "%50\\%\\_off%"


# --- each filter -----------------------------------------------------------------------


@pytest.fixture()
def named(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    nets = {name: network(org_id, src, ssid=name) for name in
            ("FordPass 1234", "Tesla Model 3", "Home-Guest", "HomeNet", "50%_off", "50 x off", "")}
    db.session.commit()
    return org_id, {k: v.id for k, v in nets.items()}


@pytest.mark.parametrize("expression, expected", [
    ("ford", {"FordPass 1234"}),  # plain text: anywhere, any case
    ("Ford*", {"FordPass 1234"}),
    ("*pass", set()),  # a wildcard anchors the whole name
    ("*guest*", {"Home-Guest"}),
    ("Home*", {"Home-Guest", "HomeNet"}),
    ("Home* -*guest*", {"HomeNet"}),
    ("Home* NOT *guest*", {"HomeNet"}),
    ("Tesla Model", {"Tesla Model 3"}),  # spaces alone do not split terms
    ("Home* | -*guest*", {"HomeNet"}),
    ("Home* | NOT *guest*", {"HomeNet"}),
    ("FordPass*|Tesla*", {"FordPass 1234", "Tesla Model 3"}),
    ("FordPass* OR Tesla*", {"FordPass 1234", "Tesla Model 3"}),
    ("-Home*", {"FordPass 1234", "Tesla Model 3", "50%_off", "50 x off", ""}),
    ("Home?et", {"HomeNet"}),
    ("50%_off", {"50%_off"}),  # % and _ are literal
])
def test_ssid_semantics(named, expression, expected):
    org_id, by_name = named
    assert ids(org_id, ssid=expression) == {by_name[n] for n in expected}


def test_bssid_prefix_and_wildcards(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    a = network(org_id, src, bssid="AA:BB:CC:00:00:01")
    b = network(org_id, src, bssid="AA:BB:DD:00:00:01")
    c = network(org_id, src, bssid="11:BB:CC:00:00:02")
    db.session.commit()
    assert ids(org_id, bssid="aa:bb") == {a.id, b.id}
    assert ids(org_id, bssid="*:01") == {a.id, b.id}
    assert ids(org_id, bssid="??:BB:CC:*") == {a.id, c.id}


def test_radio_level_encryption_manufacturer_signal(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    wifi = network(org_id, src, radio="W", level="HIGH", score=70, encryption="open", manufacturer="Sierra Wireless",
                   best=-50)
    ble = network(org_id, src, radio="E", level="NONE", score=0, encryption="unknown", manufacturer="Apple, Inc.",
                  best=-90)
    lte = network(org_id, src, radio="L", level=None, manufacturer=None, best=-70)
    db.session.commit()
    assert ids(org_id, type="E") == {ble.id}
    assert ids(org_id, type=["W", "L"]) == {wifi.id, lte.id}
    assert ids(org_id, type="W,E") == {wifi.id, ble.id}
    assert ids(org_id, level="HIGH") == {wifi.id}
    assert ids(org_id, level="UNSCORED") == {lte.id}
    assert ids(org_id, level=["NONE", "UNSCORED"]) == {ble.id, lte.id}
    assert ids(org_id, enc="open") == {wifi.id}
    assert ids(org_id, manufacturer="sierra") == {wifi.id}
    assert ids(org_id, signal_min="-75") == {wifi.id, lte.id}
    assert ids(org_id, signal_max="-75") == {ble.id}
    assert ids(org_id, signal_min="-80", signal_max="-60") == {lte.id}


def test_tags_count_only_while_active(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    threat = network(org_id, src, tags=("THREAT",))
    legit = network(org_id, src, tags=("LEGIT",))
    untagged = network(org_id, src)
    removed = network(org_id, src)
    db.session.add(NetworkTag(org_id=org_id, network_id=removed.id, tag="THREAT", removed_at=T0))
    db.session.commit()
    assert ids(org_id, tag="THREAT") == {threat.id}
    assert ids(org_id, tag="legit") == {legit.id}
    assert ids(org_id, tag="any") == {threat.id, legit.id}
    assert ids(org_id, tag="none") == {untagged.id, removed.id}


def test_first_and_last_seen_ranges_are_whole_utc_days(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    old = network(org_id, src, first=T0 - timedelta(days=30), last=T0 - timedelta(days=20))
    recent = network(org_id, src, first=T0 - timedelta(days=2), last=T0)
    db.session.commit()
    day = T0.date()
    assert ids(org_id, first_from=(day - timedelta(days=2)).isoformat()) == {recent.id}
    assert ids(org_id, first_to=(day - timedelta(days=30)).isoformat()) == {old.id}
    assert ids(org_id, last_from=day.isoformat(), last_to=day.isoformat()) == {recent.id}
    assert ids(org_id, last_to=(day - timedelta(days=21)).isoformat()) == set()


# --- distance --------------------------------------------------------------------------


def test_within_km_of_home_uses_the_exact_distance(app, orgs):
    org_id = orgs.a.org.id
    db.session.add(LocationMarker(org_id=org_id, name="Home", lat=HOME[0], lon=HOME[1], is_home=True, radius_km=0.5))
    src = source(org_id)
    near = network(org_id, src, points=[north_of(HOME, 15_000), north_of(HOME, 1_000)])
    far = network(org_id, src, points=[north_of(HOME, 3_000)])
    # Inside the 2 km box around home but 2.69 km away: only the haversine test drops it.
    corner = north_of(north_of(HOME, 1_900), 1_900, bearing=90)
    assert 2_600 < haversine_m(*HOME, *corner) < 2_800
    diagonal = network(org_id, src, points=[corner])
    db.session.commit()
    assert ids(org_id, near="home", km="2") == {near.id}
    assert ids(org_id, near="home", km="2.7") == {near.id, diagonal.id}
    assert ids(org_id, near="home", km="3.1") == {near.id, diagonal.id, far.id}
    assert ids(org_id, near="home", km="0.5") == set()


def test_within_km_of_any_or_one_agency_office(app, orgs):
    org_id = orgs.a.org.id
    chicago = office("Chicago", 41.8781, -87.6298)
    denver = office("Denver", 39.7392, -104.9903)
    src = source(org_id)
    by_chicago = network(org_id, src, points=[north_of((chicago.lat, chicago.lon), 400)])
    by_denver = network(org_id, src, points=[north_of((denver.lat, denver.lon), 900, bearing=45)])
    elsewhere = network(org_id, src, points=[HOME])
    db.session.commit()
    assert ids(org_id, near="office", km="1") == {by_chicago.id, by_denver.id}
    assert ids(org_id, near="office", km="0.5") == {by_chicago.id}
    assert ids(org_id, near="office", km="1", office=str(denver.id)) == {by_denver.id}
    assert elsewhere.id not in ids(org_id, near="office", km="100")


# --- sorting ---------------------------------------------------------------------------


def test_every_whitelisted_sort_runs_both_ways(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    for i, name in enumerate(("b", "a", "c")):
        network(org_id, src, ssid=name, score=i * 10 if i else None, best=-60 - i, tags=("SUSPECT",) if i else ())
    db.session.commit()
    for key in SORTS:
        for direction in ("asc", "desc"):
            assert len(ordered(org_id, sort=key, dir=direction)) == 3, key


def test_sort_order_and_nulls_last(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    b = network(org_id, src, ssid="b", score=50)
    a = network(org_id, src, ssid="a", score=None)
    c = network(org_id, src, ssid="c", score=90)
    db.session.commit()
    assert ordered(org_id, sort="ssid") == [a.id, b.id, c.id]
    assert ordered(org_id, sort="ssid", dir="desc") == [c.id, b.id, a.id]
    assert ordered(org_id, sort="score", dir="desc") == [c.id, b.id, a.id]
    assert ordered(org_id, sort="score", dir="asc") == [b.id, c.id, a.id]


def test_filters_never_cross_organizations(app, orgs):
    src_a, src_b = source(orgs.a.org.id), source(orgs.b.org.id)
    a = network(orgs.a.org.id, src_a, ssid="shared")
    network(orgs.b.org.id, src_b, ssid="shared")
    db.session.commit()
    assert ids(orgs.a.org.id, ssid="shared") == {a.id}
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Network))
    assert total >= 2


def test_distance_filter_gives_the_same_answer_past_the_id_list_cap(app, orgs, monkeypatch):
    from app.wireless import filters

    org_id = orgs.a.org.id
    db.session.add(LocationMarker(org_id=org_id, name="Home", lat=HOME[0], lon=HOME[1], is_home=True))
    src = source(org_id)
    near = {network(org_id, src, points=[north_of(HOME, 100 * i)]).id for i in range(1, 5)}
    network(org_id, src, points=[north_of(HOME, 5_000)])
    db.session.commit()
    assert ids(org_id, near="home", km="1") == near
    monkeypatch.setattr(filters, "NEAR_IDS_CAP", 2)  # too many for a list: the subquery runs instead
    assert ids(org_id, near="home", km="1") == near
