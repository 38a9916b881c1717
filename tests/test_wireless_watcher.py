"""Watchers parked at any frequent place (issue 20.3): places learned from the person's own
track, then a radio near two or more of them and nowhere else (pure, plus the rescoring path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.models import db, utcnow
from app.models.wireless import Network
from app.wireless import places, rescore
from app.wireless.geo import destination
from app.wireless.scoring import NetworkInfo, ScoringConfig, ScoringContext, Sighting, score_network
from app.wireless.scoring_places import learn_places
from tests.test_wireless_rescore import network, source

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOME = (39.77, -104.95)
WORK = destination(*HOME, 225.0, 9000.0)
GYM = destination(*HOME, 300.0, 4000.0)
C = ScoringConfig()


def week_track(days: int = 5) -> list[tuple[float, float, float]]:
    """Home at night, work 9-17, the gym 18-19, driving in between; one point per 5 minutes."""
    out = []
    for d in range(days):
        day = T0 + timedelta(days=d)
        for m in range(0, 24 * 60, 5):
            h = m / 60
            where = WORK if 9 <= h < 17 else GYM if 18 <= h < 19 else HOME if h < 8 or h >= 20 else None
            if where is None:  # on the road: somewhere new every 5 minutes
                where = destination(*HOME, 200.0, 300.0 * (m % 120))
            out.append(((day + timedelta(minutes=m)).timestamp(), *where))
    return out


def test_places_are_learned_from_stays_on_several_days():
    learned = learn_places(week_track(), C)
    assert [p.days for p in learned] == [5, 5, 5] and learned[0].stays == 6  # home: the nights run into mornings
    assert {round(p.lat, 3) for p in learned} == {round(x[0], 3) for x in (HOME, WORK, GYM)}
    assert learn_places(week_track(2), C) == [p for p in learn_places(week_track(2), C) if p.days >= 3]
    assert not [p for p in learn_places(week_track(2), C) if round(p.lat, 3) == round(GYM[0], 3)]


def seen_at(spots, days=4, level=-75):
    return [Sighting(T0 + timedelta(days=d, hours=h, minutes=m), *destination(*spot, 45, 60), level, 8)
            for d in range(days) for spot, h in spots for m in (0, 20, 40)]


def ctx():
    return ScoringContext(home=(*HOME, 0.5), now=T0 + timedelta(days=6), frequent_places=learn_places(week_track(), C))


def test_radio_waiting_at_work_and_the_gym_is_a_watcher():
    result = score_network(seen_at([(WORK, 10), (GYM, 18)]), NetworkInfo(bssid="00:AA:00:00:00:01"), ctx())
    watcher = result.factor("watcher")
    assert watcher["points"] == 45 and len(watcher["details"]["places"]) == 2
    assert "waits where you go" in watcher["explanation"]
    assert result.level in ("MEDIUM", "HIGH", "CRITICAL"), result.explain()
    assert result.factor("minimums")["details"]["capped"] is False


def test_colleague_at_work_only_is_no_watcher():
    result = score_network(seen_at([(WORK, 10), (WORK, 14)]), NetworkInfo(bssid="00:AA:00:00:00:02"), ctx())
    assert result.factor("watcher")["points"] == 0 and result.level in ("NONE", "LOW"), result.explain()


def test_radio_also_heard_on_the_road_is_no_watcher():
    road = [Sighting(T0 + timedelta(days=d, hours=8, minutes=m), *destination(*HOME, 200.0, 300.0 * m), -75, 8)
            for d in range(4) for m in range(0, 60, 5)]
    result = score_network(seen_at([(WORK, 10), (GYM, 18)]) + road, NetworkInfo(bssid="00:AA:00:00:00:03"), ctx())
    assert result.factor("watcher")["points"] == 0 and "elsewhere" in result.factor("watcher")["explanation"]


def test_no_places_learned_says_so():
    result = score_network(seen_at([(WORK, 10)]), NetworkInfo(bssid="00:AA:00:00:00:04"),
                           ScoringContext(now=T0 + timedelta(days=6)))
    assert result.factor("watcher")["points"] == 0 and "No frequent places" in result.factor("watcher")["explanation"]


def test_rescoring_learns_places_from_the_organizations_own_sightings(app, orgs):
    org_id = orgs.a.org.id
    src = source(org_id)
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=8)
    shift = start - T0
    track = [(datetime.fromtimestamp(ts, UTC) + shift, lat, lon) for ts, lat, lon in week_track()]
    network(org_id, src, "AA:BB:CC:00:10:01", track, ssid="my phone", level=-40)
    watcher = network(org_id, src, "AA:BB:CC:00:10:02",
                      [(s.time + shift, s.lat, s.lon) for s in seen_at([(WORK, 10), (GYM, 18)])], ssid="")
    db.session.commit()
    learned = rescore.scoring_context(org_id).frequent_places
    assert len(learned) == 3
    assert places.own_track(orgs.b.org.id, int(utcnow().timestamp() * 1000), 100.0) == []  # B has no track
    rescore.rescore(org_id)
    db.session.expire_all()
    row = db.session.scalar(sa.select(Network).where(Network.id == watcher.id))
    factor = next(f for f in row.threat_factors["factors"] if f["code"] == "watcher")
    assert factor["points"] == 45 and row.threat_level in ("MEDIUM", "HIGH", "CRITICAL")
