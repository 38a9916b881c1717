"""The incidents resources of the JSON API (issue 13.6): list, detail, open, link an object
of any domain; scope refusal, another organization's id, pagination, audited writes."""

from __future__ import annotations

from app.models import Alert, SecurityIncident, db
from tests.test_alerts_page import alert
from tests.test_api_registry import audited, key, walk


def incident(org_id: int, title: str, severity: str = "medium") -> SecurityIncident:
    row = SecurityIncident(org_id=org_id, title=title, severity=severity, priority="medium")
    db.session.add(row)
    db.session.flush()
    return row


def test_incidents_page_through_once_and_filter(client, orgs):
    made = [incident(orgs.a.org.id, f"inc {i}", "high" if i % 2 else "low").id for i in range(5)]
    incident(orgs.b.org.id, "theirs")
    db.session.commit()
    headers = key(orgs, ["incidents:read"])
    assert walk(client, "/api/incidents", headers) == sorted(made, reverse=True)
    high = client.get("/api/incidents?severity=high", headers=headers).json["items"]
    assert {i["title"] for i in high} == {"inc 1", "inc 3"}
    assert client.get("/api/incidents?severity=urgent", headers=headers).status_code == 422


def test_open_and_link_an_alert_audited(client, orgs):
    fired = alert(orgs.a.org.id, "fleet", "cpu_high", label="gw-1")
    theirs = alert(orgs.b.org.id, "fleet", "cpu_high")
    db.session.commit()
    headers = key(orgs, ["incidents:read", "incidents:write"], role="analyst")
    assert client.post("/api/incidents", json={"title": " "}, headers=headers).status_code == 422
    assert client.post("/api/incidents", json={"title": "x", "severity": "huge"}, headers=headers).status_code == 422
    opened = client.post("/api/incidents", json={"title": "CPU storm", "severity": "high"}, headers=headers)
    assert opened.status_code == 201
    incident_id = opened.json["incident"]["id"]
    assert audited("incident.created", incident_id, orgs.a.org.id)
    linked = client.post(f"/api/incidents/{incident_id}/links", json={"type": "alert", "object_id": str(fired.id)},
                         headers=headers)
    assert linked.status_code == 201
    assert [(link["type"], link["object_id"]) for link in linked.json["links"]] == [("alert", str(fired.id))]
    assert audited("incident.linked", incident_id, orgs.a.org.id)
    again = client.post(f"/api/incidents/{incident_id}/links", json={"type": "alert", "object_id": str(fired.id)},
                        headers=headers)
    assert again.status_code == 409
    for bad in ({"type": "alert", "object_id": str(theirs.id)}, {"type": "spaceship", "object_id": "1"}):
        assert client.post(f"/api/incidents/{incident_id}/links", json=bad, headers=headers).status_code == 422
    detail = client.get(f"/api/incidents/{incident_id}", headers=headers).json
    assert len(detail["links"]) == 1 and detail["incident"]["title"] == "CPU storm"


def test_incidents_need_their_scope_and_the_role_and_hide_other_orgs(client, orgs):
    theirs = incident(orgs.b.org.id, "theirs")
    db.session.commit()
    assert client.get("/api/incidents", headers=key(orgs, ["alerts:read"])).status_code == 403
    # an operator's role does not hold threats.view: the scope on the key is not enough
    assert client.get("/api/incidents", headers=key(orgs, ["incidents:read"], role="operator")).status_code == 403
    headers = key(orgs, ["incidents:read", "incidents:write"])
    assert client.get(f"/api/incidents/{theirs.id}", headers=headers).status_code == 404
    assert client.post(f"/api/incidents/{theirs.id}/links", json={"type": "alert", "object_id": "1"},
                       headers=headers).status_code == 404
    assert client.post("/api/incidents", json={"title": "x"}, headers=key(orgs, ["incidents:read"])).status_code == 403


def test_closing_needs_a_resolution_and_can_resolve_linked_alerts(client, orgs):
    row = incident(orgs.a.org.id, "gw storm")
    fired = alert(orgs.a.org.id, "fleet", "cpu_high")
    db.session.commit()
    headers = key(orgs, ["incidents:write"], role="analyst")
    client.post(f"/api/incidents/{row.id}/links", json={"type": "alert", "object_id": str(fired.id)}, headers=headers)
    refused = client.post(f"/api/incidents/{row.id}/status", json={"status": "closed"}, headers=headers)
    assert refused.status_code == 422 and "note" in refused.json["error"]["fields"]
    closed = client.post(f"/api/incidents/{row.id}/status",
                         json={"status": "closed", "note": "patched", "resolve_alerts": True}, headers=headers)
    assert closed.status_code == 200 and closed.json["incident"]["status"] == "closed"
    assert audited("incident.status_changed", row.id, orgs.a.org.id)
    db.session.expire_all()
    assert db.session.get(Alert, fired.id).status == "resolved"
    assert client.post(f"/api/incidents/{row.id}/status", json={"status": "open"}, headers=headers).status_code == 422
    assert client.post(f"/api/incidents/{row.id}/status", json={"status": "closed", "note": "x"},
                       headers=headers).status_code == 409
