"""seed-demo brings threat operations to life through the real services: the sample feed's
indicators, sightings of them, a detection that opened a threat and blocked the address, and
an incident with its timeline; all of it marked as demo."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.demo import DEMO_PASSWORD
from app.models import (
    IocSighting,
    Organization,
    RateLimitEntry,
    SecurityEvent,
    SecurityIncident,
    ThreatEvent,
    ThreatIntelligence,
    db,
    utcnow,
)
from app.threats import blocks
from app.threats.demo import SPRAY_ADDRESS


def test_seed_demo_fills_threat_operations_and_its_pages(app, db_session, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
    iocs = db.session.scalars(sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == org_id)).all()
    assert len(iocs) >= 7 and {i.source for i in iocs} == {"demo feed: APT1 (STIX 2.1)"}
    assert {"cidr", "domain"} <= {i.indicator_type for i in iocs}
    sightings = db.session.scalars(sa.select(IocSighting).where(IocSighting.org_id == org_id)).all()
    assert len(sightings) >= 3  # every failed sign-in from inside a feed range was matched
    assert sum(i.sighting_count for i in iocs) == len(sightings)
    events = db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.org_id == org_id)).all()
    assert events and all(e.details.get("demo") for e in events if e.event_type == "login_failed")
    [threat] = db.session.scalars(sa.select(ThreatEvent).where(ThreatEvent.org_id == org_id)).all()
    assert threat.threat_type == "password_spraying" and f"ip:{SPRAY_ADDRESS}" in threat.indicators
    assert threat.response_status == "executed"
    block = blocks.active_block(SPRAY_ADDRESS)
    assert block is not None and block.reason.startswith("demo:") and block.blocked_until > utcnow()
    assert block.threat_event_id == threat.id
    assert db.session.scalar(sa.select(sa.func.count(RateLimitEntry.id)).where(
        RateLimitEntry.ip_address == SPRAY_ADDRESS)) == 1  # the rule's block, extended, not a second row
    [incident] = db.session.scalars(sa.select(SecurityIncident).where(SecurityIncident.org_id == org_id)).all()
    assert incident.title.startswith("[Demo]") and incident.status == "investigating"
    assert incident.related_threat_ids == [threat.id] and incident.assigned_to_id is not None
    from app.threats.incidents import timeline

    assert [u.kind for u in timeline(incident)] == ["created", "assignment", "status", "comment"]

    # A realistic week, not all stamped at seed time: the feed a week ago, sightings on
    # several days, the spray, its detection, block and incident timeline yesterday.
    now = utcnow()
    assert all(now - timedelta(days=7) < i.created_at < now - timedelta(days=5) for i in iocs)  # imported then
    failed = sorted(e.created_at for e in events if e.event_type == "login_failed" and e.details.get("demo"))
    assert len({t.date() for t in failed}) >= 4 and failed[-1] - failed[0] > timedelta(days=3)
    assert failed[-1] < now - timedelta(hours=12)
    assert failed[-1] < threat.detected_at < failed[-1] + timedelta(minutes=2)  # the next detection pass
    assert block.window_start == threat.detected_at  # the rule's own block, extended by the analyst
    times = [u.created_at for u in timeline(incident)]
    assert times == sorted(times) and len(set(times)) == 4 and times[-1] - times[0] >= timedelta(minutes=30)
    assert threat.detected_at < times[0] and times[-1] < now - timedelta(hours=12)
    assert block.blocked_until > now + timedelta(days=5)  # blocked for the week from yesterday
    from app.audit import verify_chain

    assert verify_chain().ok  # audit rows stamped in the past week still form one chain

    # (one test: seed-demo brings every domain's demo data and takes a while)
    client.login("analyst@northwind.example", DEMO_PASSWORD)
    for url, text in (("/threats/intel", "hugesoft.org"), ("/threats/", "password"),
                      ("/threats/incidents", "[Demo] Password spray"), ("/threats/blocks", SPRAY_ADDRESS)):
        page = client.get(url)
        assert page.status_code == 200 and text in page.get_data(as_text=True), url
