"""Incremental rescoring (issue 18.2): each input marks exactly the networks it changes, a
rescore touches only those, chunks and streaming give the scores a one-shot rescore gives,
and no page waits for the scorer."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import db
from app.models.wireless import DeviceSource, Network, NetworkThreatScore
from app.wireless import detail, org_settings, places, rescore
from tests.conftest import run_jobs
from tests.test_wireless_import import do_import, instance  # noqa: F401 - the instance-folder fixture
from tests.test_wireless_rescore import (
    HOME,
    follower_sightings,
    neighbour_sightings,
    network,
    scenario,
    source,
)
from tests.wireless_import_files import quirky_csv

ROW = "aa:bb:cc:00:00:{n:02d},Net{n},[WPA2-PSK-CCMP][ESS],2026-05-0{d} 10:00:00,6,2437,-70,39.7{n},-104.9{d},1609,5,,,WIFI"


def dirty(org_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(Network.bssid).where(Network.org_id == org_id,
                                                                 Network.needs_rescore.is_(True))))


def history_rows(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(NetworkThreatScore)
                             .where(NetworkThreatScore.org_id == org_id))


def settle(org_id: int) -> None:
    """Score everything waiting, so the next step starts from a clean slate."""
    rescore.rescore(org_id)
    db.session.commit()
    assert dirty(org_id) == set()


def test_an_import_marks_only_the_networks_it_gave_new_sightings(app, orgs, instance):  # noqa: F811
    org = orgs.a.org.id
    do_import(org, quirky_csv(instance / "a.csv", rows=[ROW.format(n=n, d=1) for n in (1, 2, 3)]))
    settle(org)
    before = history_rows(org)
    # One new sighting of network 1, the same rows of 2 and 3 again, and a new network 4.
    rows = [ROW.format(n=1, d=2), ROW.format(n=2, d=1), ROW.format(n=3, d=1), ROW.format(n=4, d=1)]
    imp = do_import(org, quirky_csv(instance / "b.csv", rows=rows))
    assert imp.rows_imported == 2
    assert dirty(org) == {"AA:BB:CC:00:00:01", "AA:BB:CC:00:00:04"}
    # The rescore (what the import job runs at its end) touches exactly those two.
    assert rescore.rescore(org).scored == 2
    assert history_rows(org) - before == 2
    # The same file again: nothing new, nothing marked, nothing scored.
    again = do_import(org, quirky_csv(instance / "b2.csv", rows=rows))
    assert again.rows_imported == 0 and dirty(org) == set()
    assert rescore.rescore(org).scored == 0 and history_rows(org) - before == 2


def test_moving_home_marks_all_of_the_orgs_networks_and_the_same_home_none(app, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    scenario(a)  # three networks and a home
    network(b, source(b), "AA:BB:CC:00:00:09", neighbour_sightings())
    db.session.commit()
    settle(a)
    settle(b)
    places.set_home(a, HOME[0], HOME[1], 0.5)  # the home it already has
    db.session.commit()
    assert dirty(a) == set() and rescore.rescore(a).scored == 0
    places.set_home(a, HOME[0] + 0.01, HOME[1], 0.5)  # moved about 1 km
    db.session.commit()
    assert len(dirty(a)) == 3 and dirty(b) == set()
    assert rescore.rescore(a).scored == 3
    places.set_home(a, HOME[0] + 0.01, HOME[1], 2.0)  # a wider radius is a change too
    db.session.commit()
    assert len(dirty(a)) == 3
    settle(a)
    # A marker that is not home is no scoring input.
    places.add_marker(a, "Gym", HOME[0] + 0.02, HOME[1])
    db.session.commit()
    assert dirty(a) == set()


def test_a_tag_rescores_its_network_alone(app, orgs):
    org = orgs.a.org.id
    follower, neighbour, tower = scenario(org)
    settle(org)
    before = history_rows(org)
    calls = []
    real = rescore.score_network
    rescore.score_network = lambda *args, **kw: calls.append(args[1].bssid) or real(*args, **kw)
    try:
        detail.add_tag(db.session.get(Network, neighbour.id), "THREAT", None, None, orgs.a.users["admin"])
        db.session.commit()
    finally:
        rescore.score_network = real
    assert calls == [neighbour.bssid]
    assert history_rows(org) - before == 1 and dirty(org) == set()
    assert db.session.get(Network, neighbour.id).threat_level in ("HIGH", "CRITICAL")


def test_changed_scoring_settings_mark_every_network_of_the_org_and_unchanged_none(app, client, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    scenario(a)
    network(b, source(b), "AA:BB:CC:00:00:09", neighbour_sightings())
    db.session.commit()
    settle(a)
    settle(b)
    client.login(orgs.a.users["admin"].email)
    assert client.post("/wireless/scoring", data={"level_high": "55"}).status_code == 303
    db.session.expire_all()
    assert len(dirty(a)) == 3 and dirty(b) == set()
    run_jobs(app)
    db.session.expire_all()
    assert dirty(a) == set()
    before = history_rows(a)
    # Saving the same values again changes nothing: no mark, no run, no history row.
    page = client.post("/wireless/scoring", data={"level_high": "55"}, follow_redirects=True)
    assert "No setting changed" in page.text
    db.session.expire_all()
    assert dirty(a) == set()
    run_jobs(app)
    assert history_rows(a) == before
    assert org_settings.wireless_policy(a)["scoring"] == {"level_high": 55.0}


def test_chunked_streamed_rescore_gives_the_scores_of_one_chunk(app, orgs, monkeypatch):
    """Chunks of one network, cut early by the sightings cap, and a stream of two rows at a
    time store exactly what one chunk of everything stores, history rows included."""
    org = orgs.a.org.id
    scenario(org)
    phone = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.org_id == org))
    extra = network(org, phone, "AA:BB:CC:00:00:05", follower_sightings(4), radio="E", ssid="")
    db.session.commit()
    rescore.rescore(org, everything=True)
    db.session.commit()
    one = snapshot(org)
    monkeypatch.setattr(rescore, "CHUNK", 1)
    monkeypatch.setattr(rescore, "CHUNK_SIGHTINGS", 1)
    monkeypatch.setattr(rescore, "STREAM", 2)
    result = rescore.rescore(org, everything=True)
    db.session.commit()
    assert result.scored == 4 and set(result.timings) >= {"context", "load", "score", "write"}
    assert snapshot(org) == one
    assert extra.id in one
    last_two = db.session.execute(sa.select(NetworkThreatScore.network_id, NetworkThreatScore.rule_score,
                                            NetworkThreatScore.combined_score, NetworkThreatScore.threat_level,
                                            NetworkThreatScore.factors)
                                  .where(NetworkThreatScore.org_id == org)
                                  .order_by(NetworkThreatScore.id)).all()
    assert sorted(last_two[:4]) == sorted(last_two[4:])


def snapshot(org_id: int) -> dict:
    return {i: (s, r, lvl, f) for i, s, r, lvl, f in db.session.execute(
        sa.select(Network.id, Network.threat_score_v2, Network.rule_score, Network.threat_level,
                  Network.threat_factors).where(Network.org_id == org_id))}


def test_pages_never_wait_for_the_scorer(app, client, orgs, monkeypatch):
    """Networks waiting for a rescore: the explorer, the map and its data, a network's page,
    its score block and the home page read stored scores and never run the scorer."""
    org = orgs.a.org.id
    follower, _, _ = scenario(org)
    assert len(dirty(org)) == 3
    calls: list[str] = []
    monkeypatch.setattr(rescore, "score_network", lambda *a, **k: calls.append("score_network"))
    monkeypatch.setattr(rescore, "rescore", lambda *a, **k: calls.append("rescore"))
    monkeypatch.setattr(rescore, "score_batch", lambda *a, **k: calls.append("score_batch"))
    client.login(orgs.a.users["analyst"].email)
    box = f"{HOME[1] - 0.5},{HOME[0] - 0.5},{HOME[1] + 0.5},{HOME[0] + 0.5}"
    for url in ("/wireless/networks", "/wireless/networks?sort=score", "/wireless/map",
                "/wireless/map/networks.geojson", f"/wireless/map/observations.geojson?bbox={box}",
                "/wireless/map/layers.geojson", f"/wireless/networks/{follower.id}",
                f"/wireless/networks/{follower.id}/score", "/"):
        assert client.get(url).status_code == 200, url
    assert calls == []
    db.session.expire_all()
    assert len(dirty(org)) == 3  # still waiting for the job, which the pages did not run
