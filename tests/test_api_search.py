"""Global search in the JSON API (issue 13.6): the search registry through a key, scoped to
the key's organization and to what its user's role may see."""

from __future__ import annotations

from app.models import db
from tests.test_alerts_page import alert
from tests.test_api_registry import key
from tests.test_metrics_live import device


def test_search_finds_this_orgs_objects_grouped_by_type(client, orgs):
    device(orgs.a.org.id, 1, 1, device_name="edge-gateway-a")
    device(orgs.b.org.id, 2, 1, device_name="edge-gateway-b")
    alert(orgs.a.org.id, "fleet", "cpu_high", label="edge-gateway-a")
    db.session.commit()
    found = client.get("/api/search?q=edge-gateway", headers=key(orgs, ["search:read"]))
    assert found.status_code == 200
    titles = [h["title"] for g in found.json["groups"] for h in g["hits"]]
    assert any("edge-gateway-a" in t for t in titles) and not any("edge-gateway-b" in t for t in titles)
    assert all(h["url"].startswith("/") for g in found.json["groups"] for h in g["hits"])


def test_search_validates_and_needs_its_scope(client, orgs):
    headers = key(orgs, ["search:read"])
    for bad in ("", "?q=", "?q=a", "?q=ab&per_type=0"):
        assert client.get(f"/api/search{bad}", headers=headers).status_code == 422, bad
    assert client.get("/api/search?q=edge", headers=key(orgs, ["alerts:read"])).status_code == 403
