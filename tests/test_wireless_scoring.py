"""The ShadowCheck scorer, factor by factor, with worked examples (pure, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.wireless import geo, scoring
from app.wireless.geo import BBox, PlaceIndex, destination, distinct_places, haversine_m
from app.wireless.scoring import (
    NetworkInfo,
    ScoringConfig,
    ScoringContext,
    Sighting,
    apply_tags,
    blend,
    level_for,
    score_network,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
HOME = (39.77, -104.95)
CTX = ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=30))


def at(bearing: float, metres: float, origin=HOME) -> tuple[float, float]:
    return destination(*origin, bearing, metres)


def s(minutes: float, point: tuple[float, float], level: float = -70, acc: float = 5,
      day: int = 0) -> Sighting:
    return Sighting(T0 + timedelta(days=day, minutes=minutes), point[0], point[1], level, acc)


def net(**kw) -> NetworkInfo:
    return NetworkInfo(**{"bssid": "AA:BB:CC:00:00:01", **kw})


def total(result) -> float:
    return round(sum(f["points"] for f in result.factors), 1)


# ---------------------------------------------------------------- geo


def test_haversine_and_helpers_match_known_distances():
    # One degree of latitude on the mean-radius sphere is 111.195 km.
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(*HOME, *HOME) == 0
    lat, lon = destination(*HOME, 90.0, 1000.0)
    assert haversine_m(*HOME, lat, lon) == pytest.approx(1000.0, abs=0.01)
    assert geo.bearing_deg(*HOME, lat, lon) == pytest.approx(90.0, abs=0.01)
    assert geo.bearing_deg(0, 0, -1, 0) == pytest.approx(180.0)
    box = BBox.around(*HOME, 1000)
    assert box.contains(lat, lon) and not box.contains(*destination(*HOME, 0, 1100))
    assert BBox.of([]) is None
    assert BBox.of([(1, 2), (3, -4)]) == BBox(1, -4, 3, 2)
    assert not geo.valid_point(0.0, 0.0) and not geo.valid_point(91, 0)
    assert geo.valid_point(*HOME)


def test_distinct_places_are_greedy_by_radius():
    pts = [HOME, at(0, 50), at(180, 120), at(90, 1000), at(90, 1100), at(270, 5000)]
    places = distinct_places(pts, 200)
    assert [p.count for p in places] == [3, 2, 1]
    assert (places[0].lat, places[0].lon) == HOME  # the founder stays the centre
    with pytest.raises(ValueError):
        PlaceIndex(0)


def test_place_index_finds_neighbours_across_cell_edges_far_poleward():
    index = PlaceIndex(300)
    index.add(10.0, 20.0)  # founds the grid scale near the equator
    a = index.add(70.0, 20.0)
    assert index.add(*destination(70.0, 20.0, 90.0, 250.0)) == a
    assert len(index.places) == 2


# ---------------------------------------------------------------- levels, overlay, blend


def test_levels_use_the_configured_thresholds():
    assert [level_for(x) for x in (100, 81, 80.9, 61, 60.9, 41, 40.9, 21, 20.9, 0)] == [
        "CRITICAL", "CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "LOW", "LOW", "NONE",
        "NONE"]
    strict = ScoringConfig(level_low=10, level_medium=20, level_high=30, level_critical=40)
    assert level_for(35, strict) == "HIGH"


def test_overlay_dismissal_forces_zero_and_wins_over_threat():
    assert apply_tags(55.0, ["false_positive"])[0] == 0.0
    score, factor = apply_tags(55.0, ["LEGIT", "THREAT"])
    assert score == 0.0 and factor["points"] == -55.0 and "dismissed" in factor["explanation"]


def test_overlay_threat_lifts_to_high_but_never_lowers():
    score, factor = apply_tags(12.5, ["THREAT"])
    assert score == 61.0 and factor["points"] == 48.5
    assert apply_tags(90.0, ["THREAT"])[0] == 90.0


def test_overlay_suspect_and_investigate_are_only_explained():
    score, factor = apply_tags(33.3, ["suspect", "INVESTIGATE"])
    assert score == 33.3 and factor["points"] == 0
    assert "INVESTIGATE, SUSPECT" in factor["explanation"]
    assert apply_tags(33.3, []) == (33.3, None)


def test_overlay_is_applied_last_in_score_network():
    walk = [s(10 * i, at(0, 1200 * i)) for i in range(8)]
    plain = score_network(walk, net(), CTX)
    tagged = score_network(walk, net(tags=["FALSE_POSITIVE"]), CTX)
    assert plain.score > 0
    assert (tagged.score, tagged.level) == (0.0, "NONE")
    assert tagged.factors[-1]["code"] == "tag_overlay"
    threat = score_network(walk, net(tags=["THREAT"]), CTX)
    assert threat.level == "HIGH" and threat.score == max(61.0, plain.score)


def test_blend_weights_the_ml_probability():
    assert blend(60, 0.9) == 69.0  # 0.7 * 60 + 0.3 * 90
    assert blend(60, None) == 60.0
    assert blend(100, 1.0, ml_weight=1.0) == 100.0
    with pytest.raises(ValueError):
        blend(50, 1.5)
    with pytest.raises(ValueError):
        blend(50, 0.5, ml_weight=2)


# ---------------------------------------------------------------- factors


def test_follow_legs_worked_example():
    # Five fixes 1.2 km apart, 10 min apart, on one day: 4 legs, 4.8 km.
    # 4 x 1.5 + 4.8 / 10 + 1 day x 2.5 = 6 + 0.48 + 2.5 = 8.98 -> 9.0
    result = score_network([s(10 * i, at(0, 1200 * i)) for i in range(5)], net(), CTX)
    f = result.factor("follow_legs")
    assert f["points"] == 9.0
    assert f["details"]["legs"] == 4 and f["details"]["km"] == pytest.approx(4.8, abs=0.01)
    assert f["details"]["max_kmh"] == pytest.approx(7.2, abs=0.1)


def test_follow_legs_short_hops_are_not_legs():
    result = score_network([s(10 * i, at(0, 300 * i)) for i in range(5)], net(), CTX)
    assert result.factor("follow_legs")["details"]["legs"] == 0


def test_implausible_speed_is_explained_not_counted_and_never_crashes():
    far = at(90, 50_000)
    # 50 km in one minute, then the same instant 10 km apart (dt = 0).
    sightings = [s(0, HOME), s(1, far), s(1, at(0, 10_000, far))]
    f = score_network(sightings, net(), CTX).factor("follow_legs")
    assert f["details"]["legs"] == 0 and f["details"]["implausible"] == 2
    assert "instant" in f["explanation"] and "250 km/h" in f["explanation"]
    # The same jump over an hour is a plausible 50 km/h drive.
    f = score_network([s(0, HOME), s(60, far)], net(), CTX).factor("follow_legs")
    assert f["details"]["legs"] == 1 and f["details"]["implausible"] == 0


def test_implausible_speed_allows_for_the_radio_range():
    # 700 m in 5 s: 504 km/h for a point, but a Wi-Fi radio heard from 150 m either side of
    # the sensor only has to have moved 700 - 300 - 10 = 390 m (281 km/h): implausible;
    # with a 300 m range nothing had to move at all.
    pair = [s(0, HOME), s(5 / 60, at(0, 700))]
    assert score_network(pair, net(), CTX).factor("follow_legs")["details"]["implausible"] == 1
    wide = ScoringConfig(radio_range_m={"W": 300.0})
    assert score_network(pair, net(), CTX, wide).factor("follow_legs")["details"]["legs"] == 1


def test_parked_worked_example_mobile_near_home():
    # A vehicle modem 60 m from home on 5 days at 06, 09, 12, 18 and 21 h (5 slots of 3 h):
    # min(30, 5 x 4) + min(10, 4 x 2.5) = 30, weight 1.0 within the home radius.
    hours = [6, 9, 12, 18, 21]
    spot = at(45, 60)
    sightings = [s(60 * h + k * 15, spot, day=d) for d, h in enumerate(hours) for k in range(3)]
    van = net(manufacturer="Sierra Wireless, ULC", ssid="")
    result = score_network(sightings, van, CTX)
    f = result.factor("parked")
    assert f["points"] == 30.0 and f["details"]["days"] == 5 and f["details"]["time_slots"] == 5
    assert f["details"]["established"] is True
    # One place only, but the parked pattern lifts the minimums cap.
    m = result.factor("minimums")
    assert m["details"]["capped"] is False and "parked watcher" in m["explanation"]
    assert result.score == total(result) == 30 + 15 + 7.5  # parked, equipment, 5 days x 1.5


def test_parked_fixed_equipment_counts_little_and_is_capped():
    spot = at(45, 60)
    sightings = [s(60 * h + k * 15, spot, day=d)
                 for d, h in enumerate([6, 9, 12, 18, 21]) for k in range(3)]
    result = score_network(sightings, net(manufacturer="Netgear", ssid="NETGEAR47"), CTX)
    f = result.factor("parked")
    assert f["points"] == 9.0  # 30 x 0.3: looks like a neighbour's access point
    assert "neighbour" in f["explanation"] and f["details"]["established"] is False


def test_parked_weight_decays_with_distance_from_home():
    # 3.5 km from home with a 0.5 km radius: 3 km over, weight 1 - 0.7 x 3 / 5 = 0.58.
    spot = at(45, 3500)
    sightings = [s(60 * h, spot, day=d) for d, h in enumerate([6, 9, 12, 18, 21])]
    van = net(manufacturer="Cradlepoint")
    f = score_network(sightings, van, CTX).factor("parked")
    assert f["details"]["weight"] == pytest.approx(0.58) and f["points"] == pytest.approx(17.4)
    no_home = ScoringContext(now=CTX.now)
    assert score_network(sightings, van, no_home).factor("parked")["points"] == 9.0
    two_days = sightings[:2]
    assert score_network(two_days, van, CTX).factor("parked")["points"] == 0


def test_home_correlation_needs_home_and_away():
    both = [s(0, at(0, 100)), s(30, at(0, 3000))]
    assert score_network(both, net(), CTX).factor("home_correlation")["points"] == 15.0
    only_home = [s(0, at(0, 100)), s(30, at(90, 200))]
    assert score_network(only_home, net(), CTX).factor("home_correlation")["points"] == 0
    # Just past the home radius is not "away": it must clear it by a place radius.
    edge = [s(0, at(0, 100)), s(30, at(0, 700))]
    assert score_network(edge, net(), CTX).factor("home_correlation")["points"] == 0
    no_home = ScoringContext(now=CTX.now)
    assert score_network(both, net(), no_home).factor("home_correlation")["points"] == 0


def test_fleet_bonus_by_manufacturer_or_ssid_glob():
    ctx = ScoringContext(fleet_manufacturers=["Inseego Corp"],
                         fleet_ssid_patterns=["Jetpack-*"], now=CTX.now)
    one = [s(0, HOME)]
    assert score_network(one, net(manufacturer="inseego corp"), ctx).factor("fleet")[
        "points"] == 10
    f = score_network(one, net(ssid="JETPACK-4411"), ctx).factor("fleet")
    assert f["points"] == 10 and f["details"]["match"] == "ssid"
    assert score_network(one, net(ssid="Home"), ctx).factor("fleet")["points"] == 0


def test_a_network_is_never_its_own_fleet():
    # The maker and pattern came only from this network (it scored HIGH last time): no bonus,
    # else every rescore would add 10 points to its own previous verdict.
    ctx = ScoringContext(fleet_manufacturers=["Inseego Corp"], fleet_ssid_patterns=["Jetpack-*"],
                         fleet_members={"inseego corp": frozenset({"AA:BB:CC:00:00:01"}),
                                        "Jetpack-*": frozenset({"AA:BB:CC:00:00:01"})}, now=CTX.now)
    one = [s(0, HOME)]
    assert score_network(one, net(manufacturer="Inseego Corp"), ctx).factor("fleet")["points"] == 0
    assert score_network(one, net(ssid="Jetpack-1"), ctx).factor("fleet")["points"] == 0
    other = net(bssid="AA:BB:CC:00:00:02", manufacturer="Inseego Corp")
    assert score_network(one, other, ctx).factor("fleet")["points"] == 10


@pytest.mark.parametrize(("maker", "ssid", "points"), [
    ("Sierra Wireless, Inc.", "", 15.0),
    (None, "FordPass Wi-Fi 12", 15.0),
    (None, "Audi_MMI_3322", 15.0),
    ("Teltonika", "Tesla Model Y", 20.0),  # 15 + 15, capped at 20
    ("Netgear", "NETGEAR47", 0.0),
    ("Digital Ally", "Home", 0.0),  # no accidental substring hit on "Digi"
])
def test_equipment_profile(maker, ssid, points):
    f = score_network([s(0, HOME)], net(manufacturer=maker, ssid=ssid), CTX).factor(
        "equipment")
    assert f["points"] == points


def test_persistence_discounts_days_only_passed_while_travelling():
    sightings = []
    for d in range(4):  # four days around for an hour: persistent
        sightings += [s(600 + 15 * k, at(0, 2000), day=d) for k in range(5)]
    # Day 5: passed twice on the road (morning and evening), each a fast pass of a minute.
    sightings += [s(0, at(90, 5000), day=5), s(1, at(90, 5800), day=5),
                  s(600, at(90, 5800), day=5), s(601, at(90, 5000), day=5)]
    sightings += [s(0, at(90, 5000), day=6)]  # day 6: a single glimpse
    f = score_network(sightings, net(), CTX).factor("persistence")
    assert f["details"] == {"days": 4, "passing_days": 2}
    assert f["points"] == 6.0  # 4 x 1.5
    assert "passed while travelling" in f["explanation"]


def test_radio_codes_accept_wigle_type_names():
    assert [scoring.radio_code(v) for v in ("WIFI", "BLE", "bt", "WCDMA", "LTE", "NR", "E",
                                            "", None)] == ["W", "E", "B", "D", "L", "N", "E",
                                                           "W", "W"]
    wcdma = [s(10 * i, at(0, 1200 * i)) for i in range(8)]
    assert score_network(wcdma, net(radio_type="WCDMA"), CTX).factor("cellular")


def test_cellular_never_scores():
    walk = [s(10 * i, at(0, 1200 * i), day=i % 5) for i in range(40)]
    for rtype in "GCDLN":
        result = score_network(walk, net(radio_type=rtype, manufacturer="Sierra Wireless"), CTX)
        assert (result.score, result.level) == (0.0, "NONE")
        assert [f["code"] for f in result.factors] == ["cellular"]
    assert score_network(walk, net(radio_type="W"), CTX).score > 0


def test_strong_rssi_own_gadget_is_discounted():
    walk = [s(10 * i, at(0, 1200 * i), level=-40, day=i % 4) for i in range(40)]
    weak = [s(10 * i, at(0, 1200 * i), level=-75, day=i % 4) for i in range(40)]
    watch = net(radio_type="E")
    strong_result = score_network(walk, watch, CTX)
    weak_result = score_network(weak, watch, CTX)
    f = strong_result.factor("own_device")
    assert f and f["details"]["strong_share"] == 1.0
    assert strong_result.score == pytest.approx(weak_result.score * 0.2, abs=0.1)
    assert weak_result.factor("own_device") is None
    # Only the configured radio types are discounted.
    assert score_network(walk, net(radio_type="W"), CTX,
                         ScoringConfig(strong_rssi_types="E")).factor("own_device") is None
    # Too few sightings to call it "consistently" strong.
    assert score_network(walk[:4], watch, CTX).factor("own_device") is None


def test_minimums_cap_scores_without_enough_tracking():
    # A car-hotspot SSID shared with high scorers, seen twice in 20 minutes at one place:
    # equipment 15 + fleet 10 + persistence 1.5 = 26.5, capped at 20 with the reason.
    ctx = ScoringContext(home=(*HOME, 0.5), fleet_ssid_patterns=["myChevrolet*"], now=CTX.now)
    result = score_network([s(0, at(0, 3000)), s(20, at(0, 3050))],
                           net(ssid="myChevrolet 7F3C"), ctx)
    m = result.factor("minimums")
    assert result.score == 20.0 and m["points"] == -6.5 and m["details"]["capped"]
    assert "tracked for 20 min" in m["explanation"] and "1 distinct place" in m["explanation"]
    assert result.level == "NONE" and total(result) == result.score


def test_agency_office_proximity_is_an_explained_factor():
    office = at(180, 8000)
    ctx = ScoringContext(home=(*HOME, 0.5), agency_offices=[("Field Office", *office)],
                         now=CTX.now)
    near = score_network([s(0, at(0, 600, office))], net(), ctx).factor("agency")
    assert near["points"] == 10 and near["details"]["office"] == "Field Office"
    assert near["details"]["distance_m"] == pytest.approx(600, abs=1)
    far = score_network([s(0, at(0, 1500, office))], net(), ctx).factor("agency")
    assert far["points"] == 0


def test_inaccurate_future_and_missing_fixes_are_set_aside():
    sightings = [s(0, HOME), s(10, at(0, 5000), acc=500), s(20, HOME),
                 Sighting(T0, 0.0, 0.0, -70, 5), s(0, HOME, day=400)]
    result = score_network(sightings, net(), CTX)
    dq = result.factor("data_quality")["details"]
    assert (dq["inaccurate"], dq["no_position"], dq["future"], dq["used"]) == (1, 1, 1, 2)
    assert result.factor("follow_legs")["details"]["legs"] == 0  # the bad fix made no legs


def test_large_inputs_are_sampled_evenly_with_a_stated_rule():
    walk = [s(i, at(0, 10 * i)) for i in range(1000)]
    result = score_network(walk, net(), CTX, ScoringConfig(max_sightings=100))
    dq = result.factor("data_quality")["details"]
    assert dq["used"] == 101 and dq["sampled_out"] == 899  # every 10th, plus the last


def test_work_is_linear_in_sightings(monkeypatch):
    """No quadratic loops: distance checks per sighting do not grow with the sightings."""
    calls = {"n": 0}
    real = geo.haversine_m
    indexes: list[PlaceIndex] = []

    def counting(*args):
        calls["n"] += 1
        return real(*args)

    class CountedPlaceIndex(PlaceIndex):
        def __init__(self, radius_m):
            super().__init__(radius_m)
            indexes.append(self)

    monkeypatch.setattr(geo, "haversine_m", counting)
    monkeypatch.setattr(scoring, "haversine_m", counting)
    monkeypatch.setattr(scoring, "PlaceIndex", CountedPlaceIndex)
    ctx = ScoringContext(home=(*HOME, 0.5), agency_offices=[("A", *at(0, 900))], now=CTX.now)
    per_sighting = []
    for n in (1000, 4000):
        walk = [s(i, at((i * 37) % 360, 20 * (i % 300)), day=i // 500) for i in range(n)]
        calls["n"] = 0
        indexes.clear()
        score_network(walk, net(), ctx)
        assert len(indexes) == 2  # distinct places and parked spots
        per_sighting.append((calls["n"] + sum(i.checks for i in indexes)) / n)
    assert per_sighting[1] < per_sighting[0] * 1.5
    assert per_sighting[1] < 40


def test_breakdown_adds_up_and_explains():
    walk = [s(10 * i + 1440 * (i % 6), at(0, 1200 * (i % 9)), day=0) for i in range(60)]
    result = score_network(walk, net(ssid="MiFi 8800L"), CTX)
    assert 0 <= result.score <= 100 and result.score == round(result.score, 1)
    assert total(result) == result.score
    text = result.explain()
    assert text.startswith(f"Score {result.score:.1f} ({result.level})")
    assert "follow_legs" in text and "equipment" in text
    stored = json.loads(json.dumps(result.to_mapping()))
    assert stored["level"] == result.level and stored["version"] == scoring.SCORING_VERSION


def test_naive_times_are_taken_as_utc_and_empty_input_scores_zero():
    naive = [Sighting(datetime(2026, 3, 2, 8), *HOME, -70, 5)]
    assert score_network(naive, net(), CTX).factor("no_data") is None
    empty = score_network([], net(), CTX)
    assert (empty.score, empty.level) == (0.0, "NONE")
    assert empty.factor("no_data")


# ---------------------------------------------------------------- config


def test_config_round_trips_through_settings():
    config = ScoringConfig.from_mapping({"level_high": "65", "agency_radius_km": 2,
                                         "equipment_makers": "Acme Modems, Cradlepoint",
                                         "radio_range_m": {"w": 200}})
    assert config.level_high == 65.0 and config.agency_radius_km == 2.0
    assert config.equipment_makers == ["Acme Modems", "Cradlepoint"]
    assert config.radio_range_m == {"W": 200.0}
    mapping = json.loads(json.dumps(config.to_mapping()))
    assert ScoringConfig.from_mapping(mapping) == config
    assert ScoringConfig.from_mapping(None) == ScoringConfig()


@pytest.mark.parametrize(("data", "message"), [
    ({"nope": 1}, "unknown setting 'nope'"),
    ({"level_low": "abc"}, "level_low: must be a number, not 'abc'"),
    ({"min_places": 2.5}, "min_places: must be a whole number >= 0"),
    ({"max_accuracy_m": -1}, "max_accuracy_m: must be >= 0"),
    ({"max_accuracy_m": 0}, "max_accuracy_m: must be greater than 0"),
    ({"level_medium": 70}, "levels must rise"),
    ({"strong_rssi_multiplier": 1.5}, "strong_rssi_multiplier: must be between 0 and 1"),
    ({"strong_rssi_types": "EX"}, "unknown radio types 'X'"),
    ({"radio_range_m": {"Q": 5}}, "unknown radio type 'Q'"),
    ({"radio_range_m": [1]}, "must be a mapping"),
    ({"equipment_makers": [1, 2]}, "must be a list of text"),
    ({"parked_time_bucket_hours": 5}, "must divide 24"),
    ({"level_high": True}, "level_high: must be a number"),
    ({"agency_points": float("nan")}, "must be a finite number"),
])
def test_config_validation_names_bad_keys_and_values(data, message):
    with pytest.raises(ValueError, match="invalid scoring settings") as err:
        ScoringConfig.from_mapping(data)
    assert message in str(err.value)


def test_config_reports_every_problem_at_once():
    with pytest.raises(ValueError) as err:
        ScoringConfig.from_mapping({"a": 1, "b": 2, "level_low": "x"})
    assert str(err.value).count(";") == 2
