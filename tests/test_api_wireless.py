"""The wireless resources of the JSON API (issue 13.6): networks with the explorer's
filters, a network's sightings and score, imports, tagging; scope refusal, another
organization's id, pagination without duplicates or gaps, and the audited write."""

from __future__ import annotations

from app.models import WirelessImport, db
from tests.test_api_registry import audited, key, walk
from tests.wireless_explorer_data import HOME, network, north_of, source


def seeded(orgs):
    src = source(orgs.a.org.id)
    nets = [network(orgs.a.org.id, src, ssid=f"Home-{i}" if i % 2 else f"Cafe-{i}") for i in range(5)]
    walker = network(orgs.a.org.id, src, ssid="Tracker", points=[north_of(HOME, 100 * i) for i in range(5)])
    theirs = network(orgs.b.org.id, source(orgs.b.org.id), ssid="Home-B")
    db.session.add(WirelessImport(org_id=orgs.a.org.id, filename="a.csv", source_id=src.id))
    db.session.add(WirelessImport(org_id=orgs.b.org.id, filename="b.csv"))
    db.session.commit()
    return nets, walker, theirs


def test_networks_page_through_once_and_keep_the_explorers_filters(client, orgs):
    nets, walker, theirs = seeded(orgs)
    headers = key(orgs, ["wireless:read"])
    assert walk(client, "/api/wireless/networks", headers) == sorted([n.id for n in [*nets, walker]], reverse=True)
    homes = client.get("/api/wireless/networks?ssid=Home*", headers=headers).json["items"]
    assert {n["ssid"] for n in homes} == {"Home-1", "Home-3"}
    bad = client.get("/api/wireless/networks?ssid=-&signal_min=5", headers=headers)
    assert bad.status_code == 422
    assert client.get("/api/wireless/networks?first_from=yesterday", headers=headers).status_code == 422


def test_sightings_score_and_imports(client, orgs):
    nets, walker, theirs = seeded(orgs)
    headers = key(orgs, ["wireless:read"])
    sightings = walk(client, f"/api/wireless/networks/{walker.id}/sightings", headers)
    assert len(sightings) == len(set(sightings)) == 5
    score = client.get(f"/api/wireless/networks/{walker.id}/score", headers=headers)
    assert score.status_code == 200 and score.json["network_id"] == walker.id
    assert set(score.json["thresholds"]) == {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
    imports = client.get("/api/wireless/imports", headers=headers).json["items"]
    assert [i["filename"] for i in imports] == ["a.csv"]


def test_wireless_needs_its_scope_and_hides_other_orgs(client, orgs):
    nets, walker, theirs = seeded(orgs)
    assert client.get("/api/wireless/networks", headers=key(orgs, ["alerts:read"])).status_code == 403
    headers = key(orgs, ["wireless:read", "wireless:write"])
    for path in ("", "/sightings", "/score"):
        assert client.get(f"/api/wireless/networks/{theirs.id}{path}", headers=headers).status_code == 404
    assert client.post(f"/api/wireless/networks/{theirs.id}/tags", json={"tag": "THREAT"},
                       headers=headers).status_code == 404
    assert client.post(f"/api/wireless/networks/{walker.id}/tags", json={"tag": "THREAT"},
                       headers=key(orgs, ["wireless:read"])).status_code == 403


def test_tagging_a_network_is_audited_and_validated(client, orgs):
    nets, walker, theirs = seeded(orgs)
    headers = key(orgs, ["wireless:write"], role="analyst")
    assert client.post(f"/api/wireless/networks/{walker.id}/tags", json={"tag": "nope"},
                       headers=headers).status_code == 422
    assert client.post(f"/api/wireless/networks/{walker.id}/tags", json={"tag": "THREAT", "confidence": 2},
                       headers=headers).status_code == 422
    tagged = client.post(f"/api/wireless/networks/{walker.id}/tags", json={"tag": "THREAT", "confidence": 0.9},
                         headers=headers)
    assert tagged.status_code == 201 and "THREAT" in tagged.json["tags"]
    assert audited("wireless.network_tagged", walker.id, orgs.a.org.id)
