"""Indicators everywhere: every kind of indicator matched where its kind of value appears,
on ingest and by the retro-hunt; the entity page; geolocation and impossible travel."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.compliance import frameworks
from app.compliance import services as compliance_services
from app.indicators import geo, matching
from app.models import (
    ComplianceEvidence,
    IocSighting,
    JobRun,
    NotificationChannel,
    SecurityEvent,
    ThreatIntelligence,
    UploadedBreachFile,
    User,
    db,
    utcnow,
)
from app.threats import risk
from app.threats.importers import ParsedIndicator, ParseResult
from app.threats.intel import add_indicator, save_parsed
from tests.conftest import run_jobs
from tests.test_fleet import bearer, enrolled, heartbeat

EVIL_SHA256 = "ab" * 32


def sightings(intel: ThreatIntelligence, source: str | None = None) -> list[IocSighting]:
    stmt = sa.select(IocSighting).where(IocSighting.intel_id == intel.id)
    if source:
        stmt = stmt.where(IocSighting.source == source)
    return list(db.session.scalars(stmt.order_by(IocSighting.id)))


def indicator(org_id: int, kind: str, value: str) -> ThreatIntelligence:
    ioc, _ = add_indicator(org_id, kind, value, hunt=False, confidence=80)
    db.session.commit()
    return ioc


def test_heartbeat_source_matches_a_cidr_indicator_once(client, orgs, app):
    ioc = indicator(orgs.a.org.id, "cidr", "198.51.100.0/24")
    agent = enrolled(client, orgs.a.org.id)
    client.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    for _ in range(2):  # the same address again is the same sighting
        assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    found = sightings(ioc, "device_public_ip")
    assert [(s.object_id, s.observed_value) for s in found] == [(str(agent["device_id"]), "198.51.100.77")]
    assert found[0].matched_by == "ingest"
    # The device key's use is a place of its own (API key use).
    assert sightings(ioc, "api_key")
    assert db.session.get(ThreatIntelligence, ioc.id).sighting_count == len(sightings(ioc))


def test_device_facts_match_domains_dns_and_hashes(client, orgs):
    domain = indicator(orgs.a.org.id, "domain", "evil.example")
    resolver = indicator(orgs.a.org.id, "ip", "192.0.2.53")
    sha = indicator(orgs.a.org.id, "sha256", EVIL_SHA256)
    other_org = indicator(orgs.b.org.id, "domain", "evil.example")
    agent = enrolled(client, orgs.a.org.id)
    facts = {"hostname": "scn-a1.c2.evil.example", "dns": {"nameservers": ["192.0.2.53"], "search": ["corp.test"]},
             "files": [{"path": "/usr/bin/x", "sha256": EVIL_SHA256.upper()}]}
    response = client.post("/api/agent/facts", headers=bearer(agent["api_key"]), json={"facts": facts})
    assert response.status_code == 201
    assert [s.observed_value for s in sightings(domain, "device_facts")] == ["scn-a1.c2.evil.example"]
    assert [s.observed_value for s in sightings(resolver, "device_facts")] == ["192.0.2.53"]
    assert [s.observed_value for s in sightings(sha, "device_facts")] == [EVIL_SHA256]
    assert sightings(other_org) == []  # another organization's indicator never matches


def test_user_email_matches_and_feeds_the_risk_scorer(client, orgs):
    user = orgs.a.users["analyst"]
    ioc = indicator(orgs.a.org.id, "email", user.email)
    assert sightings(ioc) == []  # the user existed before: found by the retro-hunt, not ingest
    assert matching.retro_hunt(ioc.id) >= 1
    db.session.commit()
    assert [s.object_id for s in sightings(ioc, "user")] == [str(user.id)]
    inputs = risk.gather(db.session.get(User, user.id), "203.0.113.9", "ua", None, orgs.a.org.id)
    assert inputs.user_sighted and risk.score(inputs)[1]["indicator_sighting"] == 15
    # A new user with a listed address is matched on ingest.
    bad = indicator(orgs.a.org.id, "email", "mallory@attacker.example")
    db.session.add(User(org_id=orgs.a.org.id, email="mallory@attacker.example", role="read_only"))
    db.session.commit()
    assert len(sightings(bad, "user")) == 1


def test_notification_endpoint_host_matches_a_domain(client, orgs):
    ioc = indicator(orgs.a.org.id, "domain", "exfil.example")
    db.session.add(NotificationChannel(org_id=orgs.a.org.id, kind="webhook", name="hook",
                                       config={"url": "https://hooks.exfil.example/in"}))
    db.session.commit()
    assert [s.observed_value for s in sightings(ioc, "notification_channel")] == ["hooks.exfil.example"]


def test_sign_in_from_a_listed_ip_is_a_sighting_with_its_event(client, orgs):
    ioc = indicator(orgs.a.org.id, "ip", "203.0.113.44")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.44"
    client.login(orgs.a.users["analyst"].email)
    found = sightings(ioc, "security_event")
    assert found and all(s.security_event_id is not None for s in found)
    assert len(found) == len({s.object_id for s in found})  # one per event, never doubled


def test_retro_hunt_job_finds_the_last_30_days_only(client, orgs, app):
    org_id = orgs.a.org.id
    now = utcnow()
    recent = SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.70",
                           description="x", created_at=now - timedelta(days=10))
    old = SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.70",
                        description="x", created_at=now - timedelta(days=40))
    other = SecurityEvent(org_id=orgs.b.org.id, event_type="login_failed", ip_address="203.0.113.70",
                          description="x", created_at=now - timedelta(days=1))
    again = SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.70",
                          description="x", created_at=now - timedelta(days=29))
    db.session.add_all([recent, old, other, again])
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/threats/intel", data={"indicator_type": "ip", "indicator_value": "203.0.113.70",
                                                   "severity": "high", "confidence": 90, "tlp": "amber",
                                                   "source": "manual"})
    assert response.status_code == 303
    ioc = db.session.scalar(sa.select(ThreatIntelligence).where(ThreatIntelligence.indicator_value == "203.0.113.70"))
    assert sightings(ioc) == []  # nothing until the job runs
    run_jobs(app)
    db.session.expire_all()
    found = {s.object_id: s for s in sightings(ioc, "security_event")}
    assert set(found) == {str(recent.id), str(again.id)}  # every event of the value, not the first
    assert found[str(recent.id)].matched_by == "retro_hunt"
    assert found[str(recent.id)].observed_at == recent.created_at
    assert matching.retro_hunt(ioc.id) == 0  # running again adds nothing


def test_an_import_hunts_once_for_all_its_indicators(client, orgs, app):
    org_id = orgs.a.org.id
    db.session.add(SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.81",
                                 email="x@phish.example", description="x", created_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    parsed = ParseResult("csv", indicators=[ParsedIndicator("line 1", "ip", "203.0.113.81"),
                                            ParsedIndicator("line 2", "domain", "phish.example"),
                                            ParsedIndicator("line 3", "ip", "203.0.113.82")])
    save_parsed(org_id, parsed)
    db.session.commit()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind == "threats.retro_hunt")).all()
    assert len(runs) == 1 and runs[0].org_id == org_id
    run_jobs(app)
    db.session.expire_all()
    values = {s.observed_value for s in db.session.scalars(sa.select(IocSighting).where(IocSighting.org_id == org_id))}
    assert values == {"203.0.113.81", "x@phish.example"}  # the IP, and the e-mail at the listed domain


def test_new_sightings_are_published(client, orgs):
    received: list[int] = []
    ids: list[int | None] = []

    def subscriber(batch):
        received.extend(s.intel_id for s in batch)
        ids.extend(s.id for s in batch)

    matching.on_sighting(subscriber)
    try:
        ioc = indicator(orgs.a.org.id, "ip", "203.0.113.90")
        db.session.add(SecurityEvent(org_id=orgs.a.org.id, event_type="api_access", ip_address="203.0.113.90",
                                     description="x"))
        db.session.commit()
        assert received == [ioc.id]
        assert ids[0] is not None and db.session.get(IocSighting, ids[0]).source == "security_event"
    finally:
        matching.SUBSCRIBERS.remove(subscriber)


def test_entity_page_shows_every_place_in_time_order_and_is_scoped(client, orgs):
    org_id = orgs.a.org.id
    now = utcnow()
    ioc = indicator(org_id, "ip", "203.0.113.120")
    db.session.add_all([
        SecurityEvent(org_id=org_id, event_type="login_failed", ip_address="203.0.113.120", email="a@x.test",
                      description="x", created_at=now - timedelta(hours=5)),
        SecurityEvent(org_id=org_id, event_type="login_success", ip_address="203.0.113.120", email="b@x.test",
                      description="x", created_at=now - timedelta(hours=1)),
        SecurityEvent(org_id=orgs.b.org.id, event_type="login_failed", ip_address="203.0.113.120",
                      email="other-org@x.test", description="x", created_at=now),
    ])
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/threats/entity?v=203.0.113.120").get_data(as_text=True)
    assert f"/threats/intel/{ioc.id}" in page
    assert page.index("b@x.test") < page.index("a@x.test")  # newest first
    assert 'data-kind="sighting"' in page and 'data-kind="appearance"' in page
    assert "other-org@x.test" not in page
    assert client.get("/threats/entity?v=not a value").status_code == 422
    assert client.get("/threats/entity?v=Evil.Example.").status_code == 200  # a domain, canonicalised
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/threats/entity?v=203.0.113.120").status_code == 403


def test_indicator_page_links_each_sighting_to_its_object(client, orgs):
    ioc = indicator(orgs.a.org.id, "domain", "exfil2.example")
    db.session.add(NotificationChannel(org_id=orgs.a.org.id, kind="webhook", name="hook",
                                       config={"url": "https://exfil2.example/x"}))
    db.session.commit()
    channel = db.session.scalar(sa.select(NotificationChannel))
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/threats/intel/{ioc.id}").get_data(as_text=True)
    assert f"/notifications/channels/{channel.id}/edit" in page and "Notification endpoints" in page


# Geolocation and impossible travel ----------------------------------------------------------

def test_offline_geolocation_fills_security_events(db_session, orgs):
    assert geo.locate("8.8.8.8")["country_code"] == "US"
    assert geo.locate("1.1.1.1")["country_code"] == "AU"
    assert geo.locate("10.0.0.1") is None and geo.locate("nonsense") is None
    event = SecurityEvent(org_id=orgs.a.org.id, event_type="login_failed", ip_address="8.8.8.8", description="x")
    private = SecurityEvent(org_id=orgs.a.org.id, event_type="login_failed", ip_address="10.1.1.1", description="x")
    db.session.add_all([event, private])
    db.session.commit()
    assert event.geolocation["country_code"] == "US" and event.geolocation["source"] == "geoip2fast"
    assert private.geolocation is None
    assert 15000 < geo.distance_km(geo.locate("8.8.8.8"), geo.locate("1.1.1.1")) < 17000  # New York - Sydney


def test_two_sign_ins_far_apart_minutes_apart_are_impossible_travel(client, orgs):
    user = orgs.a.users["analyst"]
    client.environ_base["REMOTE_ADDR"] = "8.8.8.8"
    assert client.login(user.email).status_code == 303
    first = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.user_id == user.id,
                                                             SecurityEvent.event_type == "login_success"))
    assert first.geolocation["country_code"] == "US" and "impossible_travel" not in first.risk_factors
    first.created_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    client.post("/auth/logout")
    client.environ_base["REMOTE_ADDR"] = "1.1.1.1"
    client.login(user.email)
    second = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.user_id == user.id,
                                                              SecurityEvent.ip_address == "1.1.1.1"))
    assert second.risk_factors["impossible_travel"] == 30
    assert second.geolocation["country_code"] == "AU"


def test_travel_that_is_possible_is_not_flagged(db_session, orgs):
    user = orgs.a.users["analyst"]
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, user_id=user.id, event_type="login_success",
                                 ip_address="8.8.8.8", description="x", created_at=utcnow() - timedelta(hours=23)))
    db.session.commit()
    travel = risk.travel_from_last_sign_in(user.id, "81.2.69.160", utcnow())  # New York -> London in 23 h
    assert travel["from"] == "US" and travel["to"] == "GB" and not travel["impossible"]
    assert risk.travel_from_last_sign_in(user.id, "8.8.4.4", utcnow())["km"] == 0  # same country


def test_events_page_shows_the_country_and_links_the_address(client, orgs):
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, event_type="login_failed", ip_address="81.2.69.160",
                                 description="x"))
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/threats/events?ip=81.2.69.160").get_data(as_text=True)
    assert "/threats/entity?v=81.2.69.160" in page and ">GB</span>" in page


def test_a_changed_value_is_matched_and_an_unchanged_one_is_not_matched_again(client, orgs):
    ioc = indicator(orgs.a.org.id, "domain", "burner.example")
    user = db.session.get(User, orgs.a.users["operator"].id)
    user.first_name = "Renamed"  # not a watched attribute: nothing to match
    db.session.commit()
    assert sightings(ioc) == []
    user.email = "ops@mail.burner.example"  # an e-mail at a subdomain of the listed domain
    db.session.commit()
    assert [s.observed_value for s in sightings(ioc, "user")] == ["ops@mail.burner.example"]
    user.last_name = "Again"
    db.session.commit()
    assert db.session.get(ThreatIntelligence, ioc.id).sighting_count == 1


def test_uploaded_files_match_hash_indicators_on_upload_and_in_a_retro_hunt(db_session, orgs):
    """Issue 13.4: hashes against uploaded files (breach uploads, compliance evidence files)."""
    org_id = orgs.a.org.id
    sha = indicator(org_id, "sha256", EVIL_SHA256)
    now = utcnow()
    upload = UploadedBreachFile(org_id=org_id, upload_id=str(uuid.uuid4()), filename="leak.txt", file_size=1,
                                content_hash=EVIL_SHA256, mime_type="text/plain", processing_status="completed",
                                expires_at=now + timedelta(days=1))
    other = UploadedBreachFile(org_id=orgs.b.org.id, upload_id=str(uuid.uuid4()), filename="leak.txt", file_size=1,
                               content_hash=EVIL_SHA256, mime_type="text/plain", processing_status="completed",
                               expires_at=now + timedelta(days=1))
    db.session.add_all([upload, other])
    db.session.commit()
    assert [s.object_id for s in sightings(sha, "breach_upload")] == [str(upload.id)]  # matched on ingest
    frameworks.load_frameworks()
    assessment = compliance_services.start_assessment(org_id, "SOC2", None)
    control = assessment.controls[0]
    snapshot = ComplianceEvidence(org_id=org_id, control_id=control.id, evidence_type="automatic",
                                  title="MFA coverage", snapshot={"n": 1}, sha256=EVIL_SHA256)
    document = ComplianceEvidence(org_id=org_id, control_id=control.id, evidence_type="document",
                                  title="policy.pdf", file_path="x/policy.pdf", sha256=EVIL_SHA256)
    db.session.add_all([snapshot, document])
    db.session.commit()
    # A snapshot's hash is of Vigil's own JSON, never a file: only the uploaded file is a place.
    found = sightings(sha, "evidence_file")
    assert [s.object_id for s in found] == [str(document.id)]
    assert f"/compliance/controls/{control.id}" in (matching.PLACES["evidence_file"].link(found[0].object_id,
                                                                                          EVIL_SHA256) or "")
    # A retro-hunt finds the same places and adds nothing new.
    assert matching.retro_hunt(sha.id) == 0
