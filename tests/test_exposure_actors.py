"""Threat actors from the MISP galaxy shipped in pymispgalaxies: the issue's weights factor by
factor, the 30-point threshold, the real data, the profile form, permissions and tenancy."""

from __future__ import annotations

from app.exposure import actors
from app.models import AuditLog, Organization, db

ACTOR = {"value": "Example Panda", "description": "Exploits Citrix gateways and Microsoft Exchange for financial gain.",
         "meta": {"country": "XX", "cfr-target-category": ["Government", "Private sector"],
                  "targeted-sector": ["Financial"], "cfr-suspected-victims": ["Australia", "Japan"],
                  "cfr-type-of-incident": "Espionage", "synonyms": ["EP"]}}
FULL = {"industry": "Government", "regions": ["Australia"], "technologies": ["Citrix", "VPN"],
        "internet_facing": True, "data_value": "high"}


def test_every_factor_with_its_weight():
    match = actors.score_actor(ACTOR, FULL)
    assert match.total == 100 and len(match.reasons) == 5
    assert [r.rsplit("+", 1)[1] for r in match.reasons] == ["35", "25", "20", "10", "10"]
    assert "Citrix" in match.reasons[2] and "VPN" not in match.reasons[2]
    partial = actors.score_actor(ACTOR, {"industry": "Healthcare", "regions": ["Brazil"], "technologies": ["exchange"],
                                         "internet_facing": False, "data_value": "medium"})
    assert partial.total == 25 and partial.reasons[-1].endswith("+5")  # technologies 20 + medium data 5
    assert actors.score_actor(ACTOR, {"technologies": ["Cit"]}).total == 0  # whole words only


def test_real_galaxy_data_lists_known_actors(orgs):
    assert len(actors.actors()) > 500
    org = orgs.a.org
    actors.save_context(org, {"industry": "Government", "regions": ["United States"], "technologies": [],
                              "internet_facing": True, "data_value": "high"})
    db.session.commit()
    listed = actors.likely_actors(org.id, limit=500)
    names = {m.name for m in listed}
    assert "APT28" in names and all(m.total >= actors.THRESHOLD for m in listed)
    apt28 = next(m for m in listed if m.name == "APT28")
    assert apt28.total >= 80 and any("United States" in r for r in apt28.reasons)
    assert actors.likely_actors(orgs.b.org.id) == []  # B has no profile


def test_profile_page_permissions_and_tenancy(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/exposure/threat-actors").status_code == 200
    assert client.post("/exposure/threat-actors", data={"industry": "Government"}).status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.post("/exposure/threat-actors", data={"industry": "Bogus", "data_value": "high"}).status_code == 422
    saved = client.post("/exposure/threat-actors", data={
        "industry": "Government", "regions": "United States, Germany", "technologies": "Exchange",
        "internet_facing": "y", "data_value": "high"})
    assert saved.status_code == 303
    org = db.session.get(Organization, orgs.a.org.id)
    db.session.refresh(org)
    assert org.policy["exposure"]["regions"] == ["United States", "Germany"]
    assert db.session.query(AuditLog).filter_by(action="exposure.threat_profile_saved").count() == 1
    page = client.get("/exposure/threat-actors")
    assert 'data-actor="APT28"' in page.text and "+25" in page.text
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert 'data-actor="APT28"' not in client.get("/exposure/threat-actors").text
