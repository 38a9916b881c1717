"""Same-day following (issue 20.1): AirGuard's criteria in the one scorer (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.wireless.geo import destination
from app.wireless.scoring import NetworkInfo, ScoringConfig, ScoringContext, Sighting, score_network
from app.wireless.scoring_sameday import repeated

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
HOME = (39.77, -104.95)
CTX = ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=6))
TAG = NetworkInfo(bssid="5A:11:22:33:44:55", radio_type="E", manufacturer="Apple")


def trip(day: int = 0, minutes: int = 70, step_m: float = 1000.0, level: float = -72, acc: float = 10,
         every: int = 5) -> list[Sighting]:
    """A radio heard every `every` minutes while the person goes 1 km further each 10 minutes."""
    out = []
    for m in range(0, minutes + 1, every):
        lat, lon = destination(*HOME, 90.0, step_m * (m // 10))
        out.append(Sighting(T0 + timedelta(days=day, minutes=m), lat, lon, level, acc))
    return out


def same_day(result):
    return result.factor("same_day")


def test_one_day_with_you_at_three_places_is_medium_on_that_day_alone():
    result = score_network(trip(), TAG, CTX)
    assert same_day(result)["points"] == 45 and same_day(result)["details"]["qualifying_days"] == ["2026-03-02"]
    assert result.level in ("MEDIUM", "HIGH", "CRITICAL"), result.explain()
    assert result.factor("minimums")["details"]["capped"] is False
    assert "AirGuard" in same_day(result)["explanation"]


def test_two_days_within_five_is_high():
    result = score_network(trip(0) + trip(3), TAG, CTX)
    assert same_day(result)["details"]["repeated"] is True and same_day(result)["points"] == 65
    assert result.level in ("HIGH", "CRITICAL"), result.explain()


def test_two_days_further_apart_than_five_stay_medium_points():
    ctx = ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=12))
    result = score_network(trip(0) + trip(8), TAG, ctx)
    assert same_day(result)["points"] == 45 and same_day(result)["details"]["repeated"] is False


def test_days_older_than_the_window_do_not_count():
    ctx = ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=20))
    assert same_day(score_network(trip(), TAG, ctx))["points"] == 0


@pytest.mark.parametrize(("sensitivity", "minutes", "counts"),
                         [("HIGH", 40, True), ("MEDIUM", 40, False), ("MEDIUM", 65, True), ("LOW", 65, False)])
def test_sensitivity_sets_the_tracked_time(sensitivity, minutes, counts):
    config = ScoringConfig.from_mapping({"sameday_sensitivity": sensitivity.lower()})
    result = score_network(trip(minutes=minutes, step_m=1500), TAG, CTX, config)
    assert bool(same_day(result)["points"]) is counts, result.explain()


def test_places_closer_than_the_sum_of_accuracies_are_one():
    # Positions 0..420 m in 60 m steps: with 5 m fixes (BLE floor 100 m) four places; with 95 m
    # fixes each pair must be more than 190 m apart, which leaves two.
    assert same_day(score_network(trip(step_m=60, acc=5), TAG, CTX))["points"] == 45
    assert same_day(score_network(trip(step_m=60, acc=95), TAG, CTX))["points"] == 0


def test_roadside_radio_passed_twice_a_day_is_not_following():
    spot = destination(*HOME, 45.0, 3000.0)
    passes = []
    for day in range(5):
        for hour in (8, 17):  # a glimpse on the way to work and back, at the same spot
            t = T0.replace(hour=hour) + timedelta(days=day)
            passes += [Sighting(t, *spot, -85, 8), Sighting(t + timedelta(seconds=40),
                                                            *destination(*spot, 90, 180), -88, 8)]
    result = score_network(passes, NetworkInfo(bssid="00:11:22:33:44:66"), CTX)
    assert same_day(result)["points"] == 0 and result.level in ("NONE", "LOW"), result.explain()


def test_colleague_phone_at_work_all_day_is_not_following():
    work = destination(*HOME, 225.0, 9000.0)
    seen = [Sighting(T0 + timedelta(days=d, minutes=m), *destination(*work, m * 7 % 360, 15), -68, 12)
            for d in range(5) for m in range(0, 540, 10)]
    result = score_network(seen, NetworkInfo(bssid="02:11:22:33:44:77", radio_type="E"), CTX)
    assert same_day(result)["points"] == 0 and result.level in ("NONE", "LOW"), result.explain()


def test_own_gadget_is_discounted_even_when_it_meets_the_test():
    result = score_network(trip(0, level=-40) + trip(2, level=-42), TAG, CTX)
    assert same_day(result)["points"] == 65
    assert result.factor("own_device")["points"] < 0 and result.level in ("NONE", "LOW"), result.explain()


def test_repeat_window_helper():
    days = [date(2026, 3, 1), date(2026, 3, 5), date(2026, 3, 20)]
    assert repeated(days, 2, 5) and not repeated(days, 2, 4) and not repeated(days, 3, 5)
    assert repeated(days[:1], 1, 5) and not repeated([], 2, 5)


@pytest.mark.parametrize("bad", [{"sameday_sensitivity": "paranoid"}, {"sameday_min_locations": 0},
                                 {"sameday_repeat_window_days": 0}])
def test_bad_settings_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        ScoringConfig.from_mapping(bad)


def test_sensitivity_is_a_validated_setting_on_the_scoring_page(app, client, orgs):
    from app.models import db
    from app.wireless import org_settings, rescore

    client.login(orgs.a.users["admin"].email)
    page = client.get("/wireless/scoring").get_data(as_text=True)
    assert 'name="sameday_sensitivity"' in page and "30 (HIGH), 60 (MEDIUM) or 90 (LOW)" in page
    bad = client.post("/wireless/scoring", data={"sameday_sensitivity": "paranoid"})
    assert bad.status_code == 422 and "must be HIGH, MEDIUM or LOW" in bad.get_data(as_text=True)
    assert org_settings.wireless_policy(orgs.a.org.id).get("scoring") is None  # nothing half-saved
    assert client.post("/wireless/scoring", data={"sameday_sensitivity": "high"}).status_code == 303
    db.session.expire_all()
    assert rescore.scoring_config(orgs.a.org.id).sameday_sensitivity == "HIGH"
