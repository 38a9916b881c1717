"""Incidents link anything (13.5): an alert of any domain, a network, an indicator, a user,
a device; links validated against the organization; the timeline shows the linked
objects' own events; closing asks for a resolution and can resolve the linked alerts."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import Alert, AuditLog, IncidentLink, SecurityIncident, db
from app.models.wireless import Network, NetworkTag
from app.threats.intel import add_indicator
from tests.tenancy import assert_other_org_cannot_reach
from tests.test_alerts_page import alert


def network(org_id: int, bssid: str = "AA:BB:CC:00:00:42") -> Network:
    net = Network(org_id=org_id, bssid=bssid, ssid="FordPass 1234", type="W", firsttime_ms=0, lasttime_ms=0,
                  lastlat=0, lastlon=0)
    db.session.add(net)
    db.session.flush()
    db.session.add(NetworkTag(org_id=org_id, network_id=net.id, tag="THREAT", is_threat=True))
    return net


def test_open_an_incident_from_an_alert_links_it_and_prefills_the_title(client, orgs):
    a = alert(orgs.a.org.id, "wireless", "network_high", "critical", message="FordPass is CRITICAL",
              label="FordPass")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    detail = client.get(f"/alerts/{a.id}").get_data(as_text=True)
    assert f'id="open-incident" href="/threats/incidents/new?link=alert:{a.id}"' in detail
    form = client.get(f"/threats/incidents/new?link=alert:{a.id}").get_data(as_text=True)
    assert "FordPass is CRITICAL (FordPass)" in form and f'value="alert:{a.id}"' in form
    response = client.post("/threats/incidents/new", data={
        "title": "Car follows me", "incident_type": "other", "severity": "high", "priority": "high",
        "links": f"alert:{a.id}"})
    assert response.status_code == 303
    incident = db.session.scalar(sa.select(SecurityIncident))
    (row,) = db.session.scalars(sa.select(IncidentLink)).all()
    assert (row.object_type, row.object_id, row.org_id) == ("alert", str(a.id), orgs.a.org.id)
    page = client.get(f"/threats/incidents/{incident.id}").get_data(as_text=True)
    assert f'data-link="alert:{a.id}"' in page and f'href="/alerts/{a.id}"' in page
    back = client.get(f"/alerts/{a.id}").get_data(as_text=True)
    assert f'<a href="/threats/incidents/{incident.id}">Incident #{incident.id} (open): Car follows me</a>' in back


def test_links_of_every_type_are_validated_against_the_organization(client, orgs):
    mine, theirs = network(orgs.a.org.id), network(orgs.b.org.id, "AA:BB:CC:00:00:43")
    ioc, _ = add_indicator(orgs.a.org.id, "ip", "203.0.113.9", confidence=90)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    bad = client.post("/threats/incidents/new", data={"title": "x", "incident_type": "other", "severity": "low",
                                                      "priority": "low", "links": f"network:{theirs.id}"})
    assert bad.status_code == 422 and "no wireless network" in bad.get_data(as_text=True)
    odd = client.post("/threats/incidents/new", data={"title": "x", "incident_type": "other", "severity": "low",
                                                      "priority": "low", "links": "spaceship:1"})
    assert odd.status_code == 422 and "is not a link" in odd.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SecurityIncident.id))) == 0  # nothing half-saved
    client.post("/threats/incidents/new", data={"title": "Follower", "incident_type": "other", "severity": "low",
                                                "priority": "low", "links": ""})
    incident = db.session.scalar(sa.select(SecurityIncident))
    base = f"/threats/incidents/{incident.id}"
    user = orgs.a.users["read_only"]
    for ref in (f"network:{mine.id}", f"indicator:{ioc.id}", f"user:{user.id}"):
        assert client.post(f"{base}/links", data={"ref": ref}).status_code == 303, ref
    assert client.post(f"{base}/links", data={"ref": f"network:{mine.id}"}).status_code == 303  # once only
    assert client.post(f"{base}/links", data={"ref": f"network:{theirs.id}"}).status_code == 422
    assert client.post(f"{base}/links", data={"ref": f"user:{orgs.b.users['admin'].id}"}).status_code == 422
    rows = db.session.scalars(sa.select(IncidentLink).order_by(IncidentLink.id)).all()
    assert [(r.object_type, r.object_id) for r in rows] == [("network", str(mine.id)), ("indicator", str(ioc.id)),
                                                           ("user", str(user.id))]
    page = client.get(base).get_data(as_text=True)
    assert "FordPass 1234 (AA:BB:CC:00:00:42) tagged THREAT" in page  # the network's own event
    assert f'href="/wireless/networks/{mine.id}"' in page and f'href="/threats/intel/{ioc.id}"' in page
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "incident.linked")) == 3
    assert client.post(f"{base}/links/{rows[0].id}/delete").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(IncidentLink.id))) == 2
    client.post("/auth/logout")
    client.login(orgs.b.users["analyst"].email)
    assert_other_org_cannot_reach(client, [("POST", f"{base}/links"), ("POST", f"{base}/links/{rows[1].id}/delete")],
                                  data={"ref": f"network:{theirs.id}"})


def test_closing_asks_for_a_resolution_and_resolves_the_linked_alerts(client, orgs):
    a1 = alert(orgs.a.org.id, "fleet", "cpu_high", key="device:1", message="CPU 95 %")
    a2 = alert(orgs.a.org.id, "threats", "ip_blocked", "info", key="ip:198.51.100.7", message="blocked")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    client.post("/threats/incidents/new", data={"title": "Outage", "incident_type": "other", "severity": "low",
                                                "priority": "low", "links": f"alert:{a1.id}, alert:{a2.id}"})
    incident = db.session.scalar(sa.select(SecurityIncident))
    base = f"/threats/incidents/{incident.id}"
    assert "2 linked alert(s) still open" in client.get(base).get_data(as_text=True)
    refused = client.post(f"{base}/status", data={"status": "closed", "resolve_alerts": "y"})
    assert refused.status_code == 422 and "Say how the incident was resolved" in refused.get_data(as_text=True)
    assert client.post(f"{base}/status", data={"status": "resolved", "note": "fan replaced",
                                               "resolve_alerts": "y"}).status_code == 303
    db.session.expire_all()
    assert {db.session.get(Alert, a.id).status for a in (a1, a2)} == {"resolved"}
    assert db.session.get(Alert, a1.id).resolution_note == f"Incident #{incident.id}: fan replaced"
    page = client.get(base).get_data(as_text=True)
    assert "Resolved 2 linked alert(s)" in page and "alert.resolved" not in page
    assert "resolved (Incident" in page  # the alerts' own events on the timeline
