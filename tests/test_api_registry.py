"""The API resource registry (issue 13.6): registered resources are routed and documented,
scopes are checked (also against the key's user's role), cursor pagination walks every row
once, an invalid cursor or filter is a 422, another organization's id is a 404 and every
write is audited. The alerts resources are the worked example; the helpers here serve the
other domains' API tests."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.api.tokens import create_api_key
from app.apiregistry.pagination import decode, encode
from app.apiregistry.registry import RESOURCES
from app.models import Alert, AuditLog, SecurityIncident, db
from app.scopes import all_scopes, scopes_for
from tests.test_alerts_page import alert
from tests.test_fleet import bearer


def key(orgs, scopes: list[str], role: str = "admin", org: str = "a") -> dict[str, str]:
    fx = getattr(orgs, org)
    secret, _ = create_api_key(fx.users[role], fx.org.id, "test", scopes, None)
    db.session.commit()
    return bearer(secret)


def walk(client, url: str, headers: dict[str, str], limit: int = 2) -> list[int]:
    """Every id a list resource yields, page by page."""
    ids, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        page = client.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert page.status_code == 200, page.json
        assert len(page.json["items"]) <= limit
        ids += [item["id"] for item in page.json["items"]]
        cursor, pages = page.json["next_cursor"], pages + 1
        if cursor is None:
            return ids
        assert pages < 100


def audited(action: str, resource_id, org_id: int | None = None) -> bool:
    """An audit row of `action` on `resource_id`, with a user as its actor and (when given) the org."""
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action,
                                                        AuditLog.resource_id == str(resource_id))).all()
    return any(r.user_id is not None and (org_id is None or r.org_id == org_id) for r in rows)


def test_every_registered_resource_is_routed_documented_and_scoped(app, client):
    spec = client.get("/api/openapi.json").json
    rules = {(r.rule, m) for r in app.url_map.iter_rules() for m in r.methods}
    for entry in RESOURCES.values():
        operation = spec["paths"][entry.path][entry.method.lower()]
        assert operation["security"] == [{"bearer": [entry.scope]}]
        assert {"401", "403", "422"} <= set(operation["responses"])
        assert entry.scope in all_scopes()
        rule = "/api" + entry.path.replace("{", "<int:").replace("}", ">")
        assert (rule, entry.method) in rules, entry.label
    assert {"GET /alerts", "POST /alerts/{alert_id}/resolve"} <= set(RESOURCES)
    ids = [op.get("operationId") for item in spec["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids)) >= len(RESOURCES)
    assert "Alert" in spec["components"]["schemas"]


def test_cursors_are_opaque_and_a_bad_one_is_a_422(client, orgs):
    assert decode(encode(42)) == 42 and "42" not in encode(42)
    headers = key(orgs, ["alerts:read"])
    for bad in ("nope", encode(0), "djE6LTE", "x" * 64):
        response = client.get(f"/api/alerts?cursor={bad}", headers=headers)
        assert response.status_code == 422, bad
        assert "cursor" in response.json["error"]["fields"]
    for bad in ("limit=0", "limit=201", "severity=loud", "status=gone"):
        assert client.get(f"/api/alerts?{bad}", headers=headers).status_code == 422, bad


def test_alerts_pages_walk_every_alert_once_newest_first(client, orgs):
    made = [alert(orgs.a.org.id, "fleet", "cpu_high", key=f"device:{i}", label=f"gw-{i}").id for i in range(7)]
    alert(orgs.b.org.id, "fleet", "cpu_high")
    db.session.commit()
    ids = walk(client, "/api/alerts?status=all", key(orgs, ["alerts:read"]))
    assert ids == sorted(made, reverse=True)
    filtered = client.get("/api/alerts?target=gw-3", headers=key(orgs, ["alerts:read"])).json["items"]
    assert [a["id"] for a in filtered] == [made[3]]


def test_alerts_need_their_scope_and_the_users_role(client, orgs):
    row = alert(orgs.a.org.id, "fleet", "cpu_high")
    db.session.commit()
    assert client.get("/api/alerts", headers=key(orgs, ["events:read"])).status_code == 403
    read_only = key(orgs, ["alerts:read", "alerts:write"], role="read_only")
    assert client.get("/api/alerts", headers=read_only).status_code == 200
    refused = client.post(f"/api/alerts/{row.id}/acknowledge", headers=read_only)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "insufficient_scope"
    assert db.session.get(Alert, row.id).status == "open"


def test_another_orgs_alert_is_a_404_for_reads_and_writes(client, orgs):
    theirs = alert(orgs.b.org.id, "fleet", "cpu_high")
    db.session.commit()
    headers = key(orgs, ["alerts:read", "alerts:write"])
    assert client.get(f"/api/alerts/{theirs.id}", headers=headers).status_code == 404
    assert client.post(f"/api/alerts/{theirs.id}/acknowledge", headers=headers).status_code == 404
    assert client.post(f"/api/alerts/{theirs.id}/resolve", json={"note": "x"}, headers=headers).status_code == 404
    db.session.expire_all()
    assert db.session.get(Alert, theirs.id).status == "open"


def test_acknowledge_and_resolve_are_audited_and_validated(client, orgs):
    row = alert(orgs.a.org.id, "wireless", "network_high")
    db.session.commit()
    headers = key(orgs, ["alerts:read", "alerts:write"], role="analyst")
    acked = client.post(f"/api/alerts/{row.id}/acknowledge", headers=headers)
    assert acked.status_code == 200 and acked.json["status"] == "acknowledged"
    assert audited("alert.acknowledged", row.id)
    assert client.post(f"/api/alerts/{row.id}/acknowledge", headers=headers).status_code == 409
    for bad in ({}, {"note": ""}, {"note": "   "}, {"note": 3}, {"note": "ok", "extra": 1}):
        assert client.post(f"/api/alerts/{row.id}/resolve", json=bad, headers=headers).status_code == 422, bad
    resolved = client.post(f"/api/alerts/{row.id}/resolve", json={"note": "false positive"}, headers=headers)
    assert resolved.status_code == 200 and resolved.json["resolution_note"] == "false positive"
    assert audited("alert.resolved", row.id)
    assert client.post(f"/api/alerts/{row.id}/resolve", json={"note": "again"}, headers=headers).status_code == 409
    assert client.post(f"/api/alerts/{row.id}/mute", json={"hours": 4}, headers=headers).status_code == 409
    other = alert(orgs.a.org.id, "fleet", "cpu_high")
    db.session.commit()
    for bad in ({}, {"hours": 0}, {"hours": 169}, {"hours": "4"}):
        assert client.post(f"/api/alerts/{other.id}/mute", json=bad, headers=headers).status_code == 422, bad
    muted = client.post(f"/api/alerts/{other.id}/mute", json={"hours": 4}, headers=headers)
    assert muted.status_code == 200 and muted.json["status"] == "muted"
    assert audited("alert.muted", other.id, orgs.a.org.id)


def test_an_access_token_carries_the_registered_scopes_its_role_allows(client, orgs):
    assert "alerts:write" not in scopes_for(orgs.a.users["read_only"])
    assert {"alerts:read", "alerts:write"} <= scopes_for(orgs.a.users["analyst"])


def test_ids_and_cursors_past_the_id_columns_range_are_handled(client, orgs):
    row = alert(orgs.a.org.id, "fleet", "cpu_high")
    db.session.commit()
    headers = key(orgs, ["alerts:read", "wireless:read"])
    assert client.get("/api/alerts/99999999999", headers=headers).status_code == 404
    assert client.get("/api/wireless/networks/99999999999/score", headers=headers).status_code == 404
    # a cursor past every id: the whole first page (alerts.id is a BIGINT, networks.id an INTEGER)
    assert [a["id"] for a in client.get(f"/api/alerts?status=all&cursor={encode(2**40)}",
                                        headers=headers).json["items"]] == [row.id]
    assert client.get(f"/api/wireless/networks?cursor={encode(2**40)}", headers=headers).status_code == 200


def test_the_api_keys_page_offers_the_registered_scopes_and_refuses_unknown_ones(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    page = client.get("/auth/api-keys").get_data(as_text=True)
    assert all(f'value="{scope}"' in page for scope in ("alerts:read", "wireless:read", "metrics:write"))
    made = client.post("/auth/api-keys", data={"name": "SOAR", "scopes": ["alerts:read", "incidents:write"],
                                               "expires_days": "30"})
    secret = re.search(r'id="new-api-key">(vgl_[^<]+)<', made.get_data(as_text=True)).group(1)
    assert client.get("/api/alerts", headers=bearer(secret)).status_code == 200
    refused = client.post("/auth/api-keys", data={"name": "x", "scopes": ["spaceship:fly"], "expires_days": "30"})
    assert refused.status_code == 422


def test_alerts_and_search_keep_to_what_the_role_may_see(client, orgs):
    hidden = alert(orgs.a.org.id, "threats", "indicator_sighted", label="ioc-visible-to-analysts")
    shown = alert(orgs.a.org.id, "fleet", "cpu_high", label="gw-1")
    db.session.add(SecurityIncident(org_id=orgs.a.org.id, title="ioc-visible-to-analysts incident"))
    db.session.commit()
    operator = key(orgs, ["alerts:read", "search:read"], role="operator")
    assert [a["id"] for a in client.get("/api/alerts?status=all", headers=operator).json["items"]] == [shown.id]
    assert client.get(f"/api/alerts/{hidden.id}", headers=operator).status_code == 404
    groups = client.get("/api/search?q=ioc-visible", headers=operator).json["groups"]
    assert "incidents" not in {g["type"] for g in groups}
    analyst = key(orgs, ["search:read"], role="analyst")
    assert any(g["hits"] for g in client.get("/api/search?q=ioc-visible", headers=analyst).json["groups"])
