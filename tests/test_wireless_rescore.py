"""Rescoring: dirty networks only, full rescore, history rows, overlay, settings, CLI, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.models import db
from app.models.wireless import (
    DeviceSource,
    LocationMarker,
    Network,
    NetworkTag,
    NetworkThreatScore,
    Observation,
)
from app.wireless import org_settings, rescore
from tests.conftest import run_jobs

HOME = (40.7128, -74.0060)
# A loop of places 2-6 km apart: home, work, shop, gym.
PLACES = [HOME, (40.7484, -73.9857), (40.7306, -73.9352), (40.6782, -73.9442)]


def source(org_id: int) -> DeviceSource:
    src = DeviceSource(org_id=org_id, code="phone", name="Phone")
    db.session.add(src)
    db.session.flush()
    return src


def network(org_id: int, src: DeviceSource, bssid: str, sightings: list[tuple[datetime, float, float]],
            radio: str = "W", ssid: str = "net", level: int = -75) -> Network:
    net = Network(org_id=org_id, bssid=bssid, ssid=ssid, type=radio, firsttime_ms=0, lasttime_ms=0,
                  lastlat=0, lastlon=0, needs_rescore=True)
    db.session.add(net)
    db.session.flush()
    for when, lat, lon in sightings:
        ms = int(when.timestamp() * 1000)
        db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=src.id, bssid=bssid, ssid=ssid,
                                   level=level, lat=lat, lon=lon, accuracy=10, time=when, observed_at_ms=ms,
                                   time_ms=ms))
    return net


def follower_sightings(days: int = 10) -> list[tuple[datetime, float, float]]:
    start = datetime(2026, 10, 1, 7, tzinfo=UTC)
    out = []
    for day in range(days):
        for i, (lat, lon) in enumerate(PLACES):
            out.append((start + timedelta(days=day, hours=2 * i), lat, lon))
    return out


def neighbour_sightings(days: int = 10) -> list[tuple[datetime, float, float]]:
    start = datetime(2026, 10, 1, 7, tzinfo=UTC)
    return [(start + timedelta(days=d), HOME[0] + 0.0003, HOME[1]) for d in range(days)]


def scenario(org_id: int) -> tuple[Network, Network, Network]:
    src = source(org_id)
    db.session.add(LocationMarker(org_id=org_id, name="Home", lat=HOME[0], lon=HOME[1], is_home=True, radius_km=0.5))
    follower = network(org_id, src, "AA:BB:CC:00:00:01", follower_sightings(), ssid="FordPass 1234")
    neighbour = network(org_id, src, "AA:BB:CC:00:00:02", neighbour_sightings(), ssid="Neighbour")
    tower = network(org_id, src, "310260_1234_5678", follower_sightings(), radio="L", ssid="")
    db.session.commit()
    return follower, neighbour, tower


def test_rescore_scores_dirty_networks_and_keeps_history(app, orgs):
    follower, neighbour, tower = scenario(orgs.a.org.id)
    result = rescore.rescore(orgs.a.org.id)
    assert result.scored == 3
    db.session.expire_all()
    f, n, t = (db.session.get(Network, x.id) for x in (follower, neighbour, tower))
    assert f.threat_level in ("HIGH", "CRITICAL"), f.threat_factors
    assert n.threat_level in ("NONE", "LOW") and t.threat_level == "NONE"
    assert not any(x.needs_rescore for x in (f, n, t))
    # The stored breakdown adds up to the rule score and names its factors.
    factors = f.threat_factors["factors"]
    assert factors and abs(sum(x["points"] for x in factors) - f.rule_score) < 0.6
    assert float(f.threat_score_v2) == f.threat_factors["score"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NetworkThreatScore)) == 3

    # Nothing dirty: nothing scored. A full rescore writes a second history row each.
    assert rescore.rescore(orgs.a.org.id).scored == 0
    assert rescore.rescore(orgs.a.org.id, everything=True).scored == 3
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(NetworkThreatScore)
                             .where(NetworkThreatScore.network_id == follower.id))
    assert rows == 2


def test_rescoring_unchanged_data_gives_the_same_score(app, orgs):
    # A lone HIGH network with a modem maker's name must not earn a fleet bonus from itself.
    follower, _, _ = scenario(orgs.a.org.id)
    follower.manufacturer = "Sierra Wireless"
    db.session.commit()
    rescore.rescore(orgs.a.org.id)
    db.session.expire_all()
    first = db.session.get(Network, follower.id)
    assert first.threat_level in ("HIGH", "CRITICAL")
    before = (first.rule_score, first.threat_factors["factors"])
    rescore.rescore(orgs.a.org.id, everything=True)
    db.session.expire_all()
    again = db.session.get(Network, follower.id)
    fleet = next(f for f in again.threat_factors["factors"] if f["code"] == "fleet")
    assert fleet["points"] == 0, fleet
    assert (again.rule_score, again.threat_factors["factors"]) == before


def test_tags_are_the_last_word(app, orgs):
    follower, neighbour, _ = scenario(orgs.a.org.id)
    db.session.add(NetworkTag(org_id=orgs.a.org.id, network_id=follower.id, tag="LEGIT"))
    db.session.add(NetworkTag(org_id=orgs.a.org.id, network_id=neighbour.id, tag="THREAT", is_threat=True))
    db.session.commit()
    rescore.rescore(orgs.a.org.id)
    db.session.expire_all()
    assert db.session.get(Network, follower.id).threat_level == "NONE"
    assert float(db.session.get(Network, follower.id).threat_score_v2) == 0.0
    assert db.session.get(Network, neighbour.id).threat_level in ("HIGH", "CRITICAL")


def test_rescore_never_touches_another_org(app, orgs):
    scenario(orgs.a.org.id)
    other = network(orgs.b.org.id, source(orgs.b.org.id), "AA:BB:CC:00:00:09", neighbour_sightings())
    db.session.commit()
    rescore.rescore(orgs.a.org.id, everything=True)
    db.session.expire_all()
    assert db.session.get(Network, other.id).threat_level is None


def test_cli_rescore(app, orgs):
    scenario(orgs.a.org.id)
    out = app.test_cli_runner().invoke(args=["wireless", "rescore", "--org", orgs.a.org.slug, "--all"])
    assert out.exit_code == 0, out.output
    assert "scored 3 network(s)" in out.output and "NONE" in out.output
    bad = app.test_cli_runner().invoke(args=["wireless", "rescore", "--org", "nope"])
    assert bad.exit_code != 0 and "no organization" in bad.output


def test_scoring_settings_validate_store_and_rescore(app, client, orgs):
    scenario(orgs.a.org.id)
    client.login(orgs.a.users["admin"].email)
    page = client.get("/wireless/scoring")
    assert page.status_code == 200 and "level_high" in page.text
    bad = client.post("/wireless/scoring", data={"level_high": "10"})
    assert bad.status_code == 422 and "levels must rise" in bad.text
    assert org_settings.wireless_policy(orgs.a.org.id).get("scoring") is None
    ok = client.post("/wireless/scoring", data={"level_high": "55", "equipment_makers": "Acme Modems\nSierra Wireless"})
    assert ok.status_code == 303
    db.session.expire_all()
    stored = org_settings.wireless_policy(orgs.a.org.id)["scoring"]
    assert stored["level_high"] == 55.0 and stored["equipment_makers"] == ["Acme Modems", "Sierra Wireless"]
    assert rescore.scoring_config(orgs.a.org.id).level_high == 55.0
    run_jobs(app)
    db.session.expire_all()
    assert all(n.threat_level for n in db.session.scalars(sa.select(Network).where(Network.org_id == orgs.a.org.id)))


def test_only_admins_change_scoring_and_writers_rescore(app, client, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.post("/wireless/scoring", data={"level_high": "55"}).status_code == 403
    assert client.post("/wireless/rescore").status_code == 303
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post("/wireless/rescore").status_code == 403
    assert client.get("/wireless/scoring").status_code == 200


def test_scoring_page_groups_every_setting_by_factor_with_its_meaning(client, orgs):
    from dataclasses import fields

    from app.wireless.scoring import ScoringConfig
    from app.wireless.scoring_help import GROUP_OF, HELP

    # Every knob has a group and a sentence (a new field without one fails here).
    names = {f.name for f in fields(ScoringConfig)}
    assert names == set(HELP) == set(GROUP_OF)
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/wireless/scoring").get_data(as_text=True)
    for group in ("Levels", "Follow legs", "Parked surveillance", "Own-device discount", "Agency-office proximity"):
        assert f'class="pt-3">{group}</th>' in html
    assert html.count("data-help>") == len(names)
    assert html.index("Parked surveillance</th>") < html.index('for="s-parked_radius_m"')
