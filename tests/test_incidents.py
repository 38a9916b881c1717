"""Incidents: SLA due dates, transitions, timeline, links, assignment and isolation."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import AuditLog, IncidentUpdate, SecurityIncident, ThreatEvent, db, utcnow
from tests.tenancy import assert_other_org_cannot_reach


def make_threat(org_id: int) -> ThreatEvent:
    threat = ThreatEvent(org_id=org_id, threat_type="brute_force", severity="high", description="x",
                         response_action="lock_account", dedupe_key=f"t:{org_id}")
    db.session.add(threat)
    db.session.commit()
    return threat


def open_incident(client, **data):
    payload = {"title": "Odd sign-ins", "incident_type": "brute_force", "severity": "high", "priority": "high",
               "assigned_to": "", "description": "", "threat_ids": "", "event_ids": ""}
    payload.update(data)
    return client.post("/threats/incidents/new", data=payload)


def test_open_from_a_threat_sets_the_sla_and_moves_the_threat_on(client, orgs):
    threat = make_threat(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    assert f'value="{threat.id}"' in client.get(f"/threats/incidents/new?threat_ids={threat.id}").get_data(as_text=True)
    response = open_incident(client, threat_ids=str(threat.id))
    assert response.status_code == 303
    incident = db.session.scalar(sa.select(SecurityIncident))
    assert incident.related_threat_ids == [threat.id]
    assert abs((incident.due_at - incident.created_at) - timedelta(hours=24)) < timedelta(seconds=5)
    db.session.refresh(threat)
    assert threat.status == "investigating"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "incident.created"))


def test_links_to_another_orgs_threat_are_refused(client, orgs):
    theirs = make_threat(orgs.b.org.id)
    client.login(orgs.a.users["analyst"].email)
    response = open_incident(client, threat_ids=str(theirs.id))
    assert response.status_code == 422 and "do not exist in this organization" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SecurityIncident.id))) == 0
    assert open_incident(client, title="").status_code == 422
    assert open_incident(client, event_ids="1,x").status_code == 422


def test_lifecycle_records_times_and_a_timeline(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    open_incident(client, severity="critical")
    incident = db.session.scalar(sa.select(SecurityIncident))
    base = f"/threats/incidents/{incident.id}"
    assert client.post(f"{base}/assign", data={"assigned_to": str(orgs.a.users["admin"].id)}).status_code == 303
    assert client.post(f"{base}/comment", data={"body": "Looking at the logs"}).status_code == 303
    assert client.post(f"{base}/status", data={"status": "investigating"}).status_code == 303
    assert client.post(f"{base}/status", data={"status": "open"}).status_code == 409  # not a transition
    assert client.post(f"{base}/status", data={"status": "resolved", "note": "password reset"}).status_code == 303
    db.session.refresh(incident)
    assert incident.status == "resolved" and incident.time_to_acknowledge is not None
    assert incident.time_to_resolve is not None and incident.resolved_at is not None
    kinds = db.session.scalars(sa.select(IncidentUpdate.kind).where(IncidentUpdate.incident_id == incident.id)
                               .order_by(IncidentUpdate.id)).all()
    assert kinds == ["created", "assignment", "comment", "status", "status"]
    page = client.get(base).get_data(as_text=True)
    assert "Looking at the logs" in page and "investigating → resolved: password reset" in page
    assert client.post(f"{base}/status", data={"status": "investigating"}).status_code == 303  # reopen
    db.session.refresh(incident)
    assert incident.resolved_at is None and incident.time_to_resolve is None


def test_overdue_filter_and_isolation(client, orgs):
    client.login(orgs.b.users["analyst"].email)
    open_incident(client, title="Theirs")
    theirs = db.session.scalar(sa.select(SecurityIncident))
    theirs.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert "overdue" in client.get("/threats/incidents?overdue=1").get_data(as_text=True)
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert "Theirs" not in client.get("/threats/incidents").get_data(as_text=True)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/threats/incidents/{theirs.id}"), ("POST", f"/threats/incidents/{theirs.id}/comment"),
        ("POST", f"/threats/incidents/{theirs.id}/status"), ("POST", f"/threats/incidents/{theirs.id}/assign"),
    ], data={"body": "x", "status": "closed"})
    mine = open_incident(client, title="Mine")
    assert mine.status_code == 303
    incident = db.session.scalar(sa.select(SecurityIncident).where(SecurityIncident.title == "Mine"))
    # assigning someone from another organization is a 404 for that person
    response = client.post(f"/threats/incidents/{incident.id}/assign", data={"assigned_to": str(orgs.b.users["admin"].id)})
    assert response.status_code == 404
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.post(f"/threats/incidents/{incident.id}/comment", data={"body": "x"}).status_code == 403


def test_open_from_a_security_event(client, orgs):
    from app.models import SecurityEvent

    client.login(orgs.a.users["analyst"].email)
    event = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.org_id == orgs.a.org.id))
    assert f"event_ids={event.id}" in client.get("/threats/events").get_data(as_text=True)
    assert open_incident(client, event_ids=str(event.id)).status_code == 303
    assert db.session.scalar(sa.select(SecurityIncident)).related_event_ids == [event.id]
