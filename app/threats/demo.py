"""Demo threat operations (registered with app.core.demo_data): a week's worth of what
the console is for, made by the real services rather than written as rows, each step run at
its own moment of the past week (app.models.base.clock_at), not all at seed time.

For the first demo organization: the sample STIX feed (data/threats) is imported through the
intel importer; failed sign-ins from addresses inside the feed's ranges are recorded as
security events (each match becomes a sighting); a password spray across several mailboxes is
found by the detection rules, which open the threat and block the address; an analyst opens
an incident on it, takes it and writes the timeline. Everything is marked as demo (the feed's
source name, the events' user agent and details, the incident title, the block reason).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_login import login_user

from app import audit
from app.core.demo_data import register_demo
from app.core.security_events import record as record_security_event
from app.models import LoginAttempt, Organization, ThreatEvent, User, db, utcnow
from app.models.base import clock_at
from app.threats import blocks, detection, incidents
from app.threats.importers import parse_stix
from app.threats.intel import save_parsed

DEMO_ORG = "northwind"
FEED = Path(__file__).resolve().parents[2] / "data" / "threats" / "stix21_bundle_apt1.json"
FEED_SOURCE = "demo feed: APT1 (STIX 2.1)"
DEMO_AGENT = "Mozilla/5.0 (vigil seed-demo)"
# Inside the feed's 58.246.0.0/15 and 223.166.0.0/15 ranges (the sightings), and one outside
# any feed (the spray the detection rules find on their own).
SIGHTING_ADDRESSES = ("58.246.17.9", "58.247.120.33", "223.166.4.201")
SPRAY_ADDRESS = "58.246.200.14"
SPRAY_MAILBOXES = ("j.ortega", "m.chen", "finance", "payroll", "it-helpdesk", "s.patel")
# (days ago, hour, minute) of each sighting, one per address.
SIGHTING_TIMES = ((5, 9, 14), (4, 2, 40), (3, 16, 5))
BLOCK_DAYS = 7


def import_feed(org_id: int) -> dict[str, int]:
    """The sample feed through the same importer an analyst's upload uses."""
    parsed = parse_stix(json.loads(FEED.read_text(encoding="utf-8")), source=FEED_SOURCE)
    counts = save_parsed(org_id, parsed)
    audit.record("intel.imported", resource_type="threat_intelligence", org_id=org_id, actor_type="system",
                 actor_label="seed-demo", details={"file": FEED.name, "demo": True, **counts})
    return counts


def failed_sign_in(org: Organization, ip: str, mailbox: str) -> None:
    """What the sign-in service records for a wrong password on an unknown mailbox, from `ip`
    (the request context gives the recorder its address, so intel matching runs for real)."""
    email = f"{mailbox}@{org.primary_domain}"
    with current_app.test_request_context("/auth/login", method="POST",
                                          environ_base={"REMOTE_ADDR": ip, "HTTP_USER_AGENT": DEMO_AGENT}):
        db.session.add(LoginAttempt(email=email, org_id=org.id, ip_address=ip, user_agent=DEMO_AGENT,
                                    success=False, failure_reason="bad_credentials"))
        record_security_event("login_failed", "Sign-in failed (bad_credentials)", email=email,
                              org_id=org.id, details={"reason": "bad_credentials", "demo": True})


def open_incident(org: Organization, threat: ThreatEvent, at: datetime) -> int:
    """An analyst's incident on the spray, with a short timeline over the following hour,
    done as the demo users."""
    users = {u.role: u for u in db.session.scalars(sa.select(User).where(User.org_id == org.id))}
    admin, analyst = users["admin"], users["analyst"]
    with current_app.test_request_context("/threats/incidents/new", method="POST"):
        login_user(admin)
        with clock_at(at):
            incident = incidents.create(
                org.id, admin, title=f"[Demo] Password spray from {SPRAY_ADDRESS}", severity="high",
                priority="high", incident_type="credential_stuffing", threat_ids=[threat.id],
                description="Demo data from `vigil seed-demo`: failed sign-ins on six mailboxes from one address "
                            "in a range the APT1 feed lists.")
            db.session.flush()
        with clock_at(at + timedelta(minutes=3)):
            incidents.assign(incident, admin, analyst)
            db.session.flush()
        login_user(analyst)
        with clock_at(at + timedelta(minutes=21)):
            incidents.change_status(incident, analyst, "investigating", "Taking this one.")
            db.session.flush()
        with clock_at(at + timedelta(minutes=48)):
            incidents.comment(incident, analyst, f"{SPRAY_ADDRESS} is blocked for {BLOCK_DAYS} days; none of the "
                              "mailboxes exists, so no account was at risk. Checking the mail gateway for the same "
                              "sender.")
            db.session.flush()
    return incident.id


def week(now: datetime) -> dict[str, Any]:
    """When each demo step happens: the feed a week ago, sightings on three later days, the
    spray yesterday, each at an ordinary time of day (UTC)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"feed": day - timedelta(days=6, hours=-8, minutes=-12),
            "sightings": [day - timedelta(days=d, hours=-h, minutes=-m) for d, h, m in SIGHTING_TIMES],
            "spray": day - timedelta(days=1, hours=-2, minutes=-37)}


def seed_threats(orgs: dict[str, Organization]) -> None:
    org = orgs.get(DEMO_ORG)
    if org is None:
        return
    when = week(utcnow())
    with clock_at(when["feed"]):
        details: dict[str, Any] = {"feed": import_feed(org.id)}
        db.session.flush()
    for ip, at in zip(SIGHTING_ADDRESSES, when["sightings"], strict=True):
        with clock_at(at):
            failed_sign_in(org, ip, "admin")
            db.session.flush()
    for i, mailbox in enumerate(SPRAY_MAILBOXES):  # one guess every 40 seconds
        with clock_at(when["spray"] + timedelta(seconds=40 * i)):
            failed_sign_in(org, SPRAY_ADDRESS, mailbox)
            db.session.flush()
    # The scheduler's detection pass runs every minute: it sees the spray within one.
    detected = when["spray"] + timedelta(seconds=40 * len(SPRAY_MAILBOXES) + 30)
    with clock_at(detected):
        details["detection"] = detection.detect(org.id)
        db.session.flush()
    threat = db.session.scalar(sa.select(ThreatEvent).where(
        ThreatEvent.org_id == org.id, ThreatEvent.dedupe_key == f"password_spraying:ip:{SPRAY_ADDRESS}"))
    if threat is not None:
        # The rule's own block lasts an hour; the demo analyst extends it for the week.
        with clock_at(detected + timedelta(minutes=14)):
            blocks.block_ip(SPRAY_ADDRESS, BLOCK_DAYS * 24 * 60, f"demo: password spray (threat #{threat.id})",
                            org_id=org.id, threat_event_id=threat.id)
            db.session.flush()
        details["incident_id"] = open_incident(org, threat, detected + timedelta(minutes=9))
    details["times"] = {"feed": when["feed"].isoformat(), "spray": when["spray"].isoformat()}
    audit.record("demo.threats_seeded", resource_type="organization", resource_id=org.id, org_id=org.id,
                 actor_type="system", actor_label="seed-demo", details=details)


register_demo(seed_threats)
