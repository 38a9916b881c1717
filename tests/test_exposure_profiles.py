"""People's exposure: the seed's risk score factor by factor, breaches from the sources, the
username search over Sherlock-format site definitions (real HTTP to a local fake), the
attacker view, permissions and tenancy."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.exposure import opsych, profiles
from app.models import db
from app.models.exposure import (
    Breach,
    GithubFinding,
    OpsychSearchResult,
    PastebinFinding,
    Profile,
    SocialMedia,
)
from tests.conftest import run_jobs
from tests.exposure_fakes import FakeServices, hibp_routes
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_exposure_search import GITHUB_ITEM


@pytest.mark.parametrize("kwargs, total, points", [
    ({"breach_severities": [], "company": False, "position": False, "platforms": [], "mentions": 0}, 0, [0, 0, 0, 0]),
    ({"breach_severities": ["low", "high"], "company": True, "position": False, "platforms": ["GitHub"], "mentions": 1},
     50, [30, 10, 5, 5]),
    ({"breach_severities": ["medium"], "company": True, "position": True, "platforms": ["LinkedIn", "a", "b"],
      "mentions": 5}, 70, [20, 25, 15, 10]),
    ({"breach_severities": ["critical"], "company": True, "position": True, "platforms": list("abcdef") + ["Twitter"],
      "mentions": 12}, 100, [40, 25, 20, 15]),  # every factor at its maximum: exactly the cap
    ({"breach_severities": ["critical"], "company": True, "position": True, "platforms": ["x"] * 9, "mentions": 2},
     90, [40, 25, 10, 15]),
])
def test_score_factor_by_factor(kwargs, total, points):
    result = profiles.score(**kwargs)
    assert [f.points for f in result.factors] == points and result.total == total
    assert [f.name for f in result.factors] == ["Breaches", "Professional data", "Mentions", "Social accounts"]


@pytest.fixture()
def services(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    fake = FakeServices({
        **hibp_routes(),
        "/u/jdoe": lambda path: (200, {}, "<html>Jane's page</html>"),
        "/msg/jdoe": lambda path: (200, {}, "<title>User not found</title>"),
        "/redir/jdoe": lambda path: (302, {"Location": "/nope"}, ""),
        "/gone/jdoe": lambda path: (404, {}, ""),
        "/gh/search/code": lambda path: (200, {}, {"total_count": 1, "incomplete_results": False,
                                                   "items": [{**GITHUB_ITEM, "text_matches": []}]}),
        "/psbdmp/v3/search/": lambda path: (200, {}, []),  # paste search: nothing about Jane
    })
    for key, path in (("HIBP", "/hibp"), ("XPOSEDORNOT", "/xon"), ("LEAKCHECK", "/leakcheck"), ("GITHUB", "/gh"),
                      ("PSBDMP", "/psbdmp")):
        monkeypatch.setitem(app.config, f"EXPOSURE_{key}_URL", fake.url + path)
    sites = {
        "$schema": "data.schema.json",
        "Exists": {"errorType": "status_code", "url": fake.url + "/u/{}", "urlMain": fake.url, "username_claimed": "a"},
        "MessageSite": {"errorType": "message", "errorMsg": ["User not found"], "url": fake.url + "/msg/{}",
                        "urlMain": fake.url, "username_claimed": "a"},
        "Redirects": {"errorType": "response_url", "errorUrl": fake.url + "/nope", "url": fake.url + "/redir/{}",
                      "urlMain": fake.url, "username_claimed": "a"},
        "Gone": {"errorType": "status_code", "url": fake.url + "/gone/{}", "urlMain": fake.url, "username_claimed": "a"},
        "RegexSkips": {"errorType": "status_code", "regexCheck": "^[0-9]+$", "url": fake.url + "/u/{}",
                       "urlMain": fake.url, "username_claimed": "1"},
        "PostOnly": {"errorType": "status_code", "request_method": "POST", "request_payload": {"q": "{}"},
                     "url": fake.url + "/u/{}", "urlMain": fake.url, "username_claimed": "a"},
    }
    path = tmp_path / "sites.json"
    path.write_text(json.dumps(sites))
    monkeypatch.setitem(app.config, "EXPOSURE_SITE_LIST", str(path))
    yield fake
    fake.close()


def test_shipped_site_list_is_sherlocks():
    data = opsych.load_sites(str(opsych.DEFAULT_SITES))
    usable = [name for name, site in data.items() if opsych.applicable(site, "jdoe")]
    assert len(data) > 400 and len(usable) > 300 and "Discord" not in usable  # Discord needs a POST body
    assert {"GitHub", "Reddit"} <= set(data)


def create(client, **data):
    return client.post("/exposure/profiles", data=data)


def test_profile_breaches_username_search_and_attacker_view(app, client, orgs, services, redis_conn):
    client.login(orgs.a.users["admin"].email)
    client.post("/exposure/providers/hibp", data={"hibp-secret": "hibp-key-0123456789"})
    client.post("/exposure/providers/github", data={"github-secret": "ghp_" + "b" * 36})
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert create(client, name="", email="bad").status_code == 422
    assert create(client, name="Jane Doe", email="Jane@Acme.test", username="jdoe", phone="+61 412 345 678",
                  company="Acme", position="CFO").status_code == 303
    profile = db.session.scalar(sa.select(Profile).where(Profile.org_id == orgs.a.org.id))
    assert profile.email == "jane@acme.test" and profile.risk_score == 18  # company 10 + position 8
    assert client.post(f"/exposure/profiles/{profile.id}/breaches").status_code == 303
    db.session.expire_all()
    names = {(b.source, b.breach_name): b.severity for b in db.session.scalars(
        sa.select(Breach).where(Breach.profile_id == profile.id))}
    assert names[("hibp", "Adobe")] == "high" and ("xposedornot", "Canva") in names
    client.post(f"/exposure/profiles/{profile.id}/breaches")  # again: nothing doubled
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Breach).where(
        Breach.profile_id == profile.id)) == len(names)
    assert client.post(f"/exposure/profiles/{profile.id}/username-search").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    found = db.session.scalars(sa.select(OpsychSearchResult).where(OpsychSearchResult.profile_id == profile.id)).all()
    assert [r.platform for r in found] == ["Exists"] and found[0].url.endswith("/u/jdoe")
    hit_paths = sorted(p for p, _ in services.requests if "jdoe" in p)
    assert hit_paths == ["/gone/jdoe", "/msg/jdoe", "/redir/jdoe", "/u/jdoe"]  # regex and POST sites skipped
    client.post(f"/exposure/profiles/{profile.id}/username-search")
    run_jobs(app)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialMedia).where(
        SocialMedia.profile_id == profile.id)) == 1
    profile = db.session.get(Profile, profile.id)
    # high breach 30, company + position 18, two mentions (a paste, a code file) 10, one account 5
    assert profile.risk_score == 30 + 18 + 10 + 5
    code = db.session.scalar(sa.select(GithubFinding).where(GithubFinding.profile_id == profile.id))
    assert code is not None and code.query_term == "jane@acme.test"
    assert db.session.scalar(sa.select(PastebinFinding.paste_title).where(PastebinFinding.profile_id == profile.id)) == "syslog"
    page = client.get(f"/exposure/profiles/{profile.id}")
    assert page.status_code == 200 and 'data-factor="Breaches"' in page.text and "Credential stuffing" in page.text
    assert "carrier PIN" in page.text and 'data-social="Exists"' in page.text
    listing = client.get("/exposure/profiles")
    assert "Jane Doe" in listing.text and ">63<" in listing.text


def test_permissions_and_tenancy(app, client, orgs, redis_conn):
    client.login(orgs.a.users["analyst"].email)
    create(client, name="Bob", username="bob")
    profile = db.session.scalar(sa.select(Profile).where(Profile.org_id == orgs.a.org.id))
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/exposure/profiles").status_code == 403
    assert create(client, name="X").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/exposure/profiles/{profile.id}"), ("POST", f"/exposure/profiles/{profile.id}/breaches"),
        ("POST", f"/exposure/profiles/{profile.id}/username-search"), ("POST", f"/exposure/profiles/{profile.id}/delete"),
    ])
    assert "Bob" not in client.get("/exposure/profiles").text
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/exposure/profiles/{profile.id}/delete").status_code == 303
    pid = profile.id
    db.session.expire_all()
    assert db.session.scalar(sa.select(Profile.id).where(Profile.id == pid)) is None
