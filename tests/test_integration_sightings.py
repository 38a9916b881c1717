"""The "indicator sighted" alert rule is wired to every sighting the matcher records
(app/indicators/matching.py on_sighting), not only to sign-ins: a sign-in from a listed address,
a heartbeat from one, and a retro-hunt each give exactly one alert and one notification."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.indicators import matching
from app.models import IocSighting, SecurityEvent, db, utcnow
from app.threats.intel import add_indicator
from tests.test_alerts_domains import alerts_of, notes
from tests.test_fleet import bearer, enrolled, heartbeat


def listed(org_id: int, kind: str, value: str):
    ioc, _ = add_indicator(org_id, kind, value, hunt=False, confidence=90, threat_type="botnet")
    db.session.commit()
    return ioc


def sources(ioc) -> set[str]:
    return set(db.session.scalars(sa.select(IocSighting.source).where(IocSighting.intel_id == ioc.id)))


def test_a_sign_in_from_a_listed_address_is_one_alert_and_one_notification(client, orgs):
    org_id = orgs.a.org.id
    ioc = listed(org_id, "ip", "203.0.113.150")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.150"
    client.login(orgs.a.users["analyst"].email)
    client.post("/auth/logout")
    client.login(orgs.a.users["operator"].email)  # another account, the same address: the same alert
    assert "security_event" in sources(ioc)
    (alert,) = alerts_of(org_id, "indicator_sighted")
    assert alert.target_key == f"indicator:{ioc.id}" and alert.status == "open"
    assert notes(org_id, "indicator_sighted") == 1
    assert not alerts_of(orgs.b.org.id, "indicator_sighted")


def test_a_heartbeat_from_a_listed_address_reaches_the_alert_through_on_sighting(client, orgs):
    org_id = orgs.a.org.id
    ioc = listed(org_id, "cidr", "198.51.100.0/24")
    agent = enrolled(client, org_id)
    client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    for _ in range(2):
        assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    assert {"device_public_ip", "api_key"} <= sources(ioc)  # two places, one indicator
    (alert,) = alerts_of(org_id, "indicator_sighted")
    assert alert.target_key == f"indicator:{ioc.id}" and ("Device public IPs" in alert.message or "API key use" in alert.message)
    assert notes(org_id, "indicator_sighted") == 1


def test_a_retro_hunt_sighting_alerts_once_and_a_rolled_back_one_never(app, db_session, orgs):
    org_id = orgs.a.org.id
    db.session.add(SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.160",
                                 description="x", created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    ioc = listed(org_id, "ip", "203.0.113.160")
    assert matching.retro_hunt(ioc.id) == 1
    db.session.rollback()  # the hunt's transaction is abandoned: no alert from it
    assert not alerts_of(org_id, "indicator_sighted")
    assert matching.retro_hunt(ioc.id) == 1
    db.session.commit()
    (alert,) = alerts_of(org_id, "indicator_sighted")
    assert alert.target_key == f"indicator:{ioc.id}" and notes(org_id, "indicator_sighted") == 1
    assert matching.retro_hunt(ioc.id) == 0  # already recorded: nothing new
    db.session.commit()
    assert notes(org_id, "indicator_sighted") == 1
