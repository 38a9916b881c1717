"""The one risk scorer, its enforcement at sign-in, and threat-intelligence matching."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import IocSighting, LoginAttempt, SecurityEvent, ThreatIntelligence, User, db
from app.threats import risk
from app.threats.intel import IndicatorError, add_indicator, match_ip, normalise
from tests.tenancy import assert_other_org_cannot_reach


@pytest.mark.parametrize("inputs, expected, action", [
    (risk.RiskInputs(), 0, "allow"),
    # first sign-in from an unknown browser: new device + new IP
    (risk.RiskInputs(new_device=True, new_ip=True), 30, "allow"),
    # new device in a new network at an unusual hour
    (risk.RiskInputs(new_device=True, new_ip=True, new_network=True, unusual_hour=True), 55, "challenge"),
    # failures are capped at 30: 4 x 5 + 10 x 3 = 50 -> 30
    (risk.RiskInputs(user_failures_1h=4, ip_failures_1h=10), 30, "allow"),
    # a distrusted user (trust 0: +10) with a known bad IP at full confidence (+40) and a new device (+20)
    (risk.RiskInputs(user_trust=0, intel_confidence=100, new_device=True), 70, "deny"),
    # a trusted browser (trust 80: -8) and a trusted user (trust 100: -10) never go below 0
    (risk.RiskInputs(user_trust=100, device_trust=80), 0, "allow"),
])
def test_worked_examples(inputs, expected, action):
    total, factors = risk.score(inputs)
    assert total == expected
    assert risk.decide(total) == action
    assert sum(factors.values()) == pytest.approx(total) or total in (0, 100)


def test_the_score_is_deterministic():
    inputs = risk.RiskInputs(new_device=True, ip_failures_1h=2, user_trust=35.5, intel_confidence=42.0)
    assert risk.score(inputs) == risk.score(inputs)


def test_network_is_a_24_for_ipv4_and_a_48_for_ipv6():
    assert risk.network_of("203.0.113.77") == "203.0.113.0/24"
    assert risk.network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert risk.network_of("not-an-ip") is None


def test_indicators_are_normalised_and_validated():
    assert normalise("ip", " 10.0.0.1 ")[0] == "10.0.0.1"
    assert normalise("cidr", "10.1.2.3/16")[0] == "10.1.0.0/16"
    assert normalise("domain", "Evil.Example.")[0] == "evil.example"
    with pytest.raises(IndicatorError):
        normalise("sha256", "abc")
    with pytest.raises(IndicatorError):
        normalise("ip", "999.1.1.1")


def test_cidr_and_exact_matches(db_session, orgs):
    add_indicator(orgs.a.org.id, "cidr", "198.51.100.0/24", confidence=60)
    add_indicator(orgs.a.org.id, "ip", "2001:db8::66", confidence=90)
    db.session.commit()
    assert match_ip(orgs.a.org.id, "198.51.100.200").indicator_value == "198.51.100.0/24"
    assert match_ip(orgs.a.org.id, "198.51.101.1") is None
    assert match_ip(orgs.a.org.id, "2001:db8::66") is not None
    assert match_ip(orgs.b.org.id, "198.51.100.200") is None  # another organization's intel


def test_a_known_bad_ip_denies_a_risky_sign_in_and_is_recorded_as_a_sighting(client, orgs):
    user = orgs.a.users["analyst"]
    db.session.get(User, user.id).trust_score = Decimal("0")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.10"  # loopback is allowlisted, so use a public address
    add_indicator(orgs.a.org.id, "ip", "203.0.113.10", confidence=100, threat_type="botnet")
    db.session.commit()
    response = client.login(user.email)
    assert response.status_code == 422 and "looks risky" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    event = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.event_type == "login_denied"))
    assert event.risk_score >= risk.DENY_AT and event.action_taken == "deny"
    assert event.risk_factors["threat_intel"] == pytest.approx(40, abs=0.1)
    assert db.session.scalar(sa.select(sa.func.count(IocSighting.id)).where(IocSighting.security_event_id == event.id)) == 1
    ioc = db.session.scalar(sa.select(ThreatIntelligence))
    assert ioc.sighting_count >= 1
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    client.login(orgs.a.users["admin"].email)
    page = client.get("/threats/events?event_type=login_denied").get_data(as_text=True)
    assert f"/threats/intel/{ioc.id}" in page and "IOC 203.0.113.10" in page  # the sighting, event side
    attempt = db.session.scalar(sa.select(LoginAttempt).where(LoginAttempt.user_id == user.id))
    assert attempt.failure_reason == "risk_denied"


def test_successful_sign_in_event_explains_its_score(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    event = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.event_type == "login_success",
                                                              SecurityEvent.user_id == user.id))
    assert event.risk_factors == {"new_device": 20, "new_ip": 10}
    assert int(event.risk_score) == 30
    db.session.refresh(db.session.get(User, user.id))
    assert db.session.get(User, user.id).trust_score == Decimal("51.00")  # +1 for a password sign-in


def test_events_page_lists_the_factors_and_is_scoped(client, orgs):
    client.login(orgs.b.users["analyst"].email)  # an event in org B
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/threats/events").get_data(as_text=True)
    assert "New device for this user: +20" in html
    assert orgs.b.users["analyst"].email not in html
    bad = client.get("/threats/events?min_risk=500")
    assert bad.status_code == 422
    other = db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.org_id == orgs.b.org.id))
    assert_other_org_cannot_reach(client, [("POST", f"/threats/events/{other.id}/acknowledge")])


def test_intel_page_adds_validates_and_is_scoped(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    bad = client.post("/threats/intel", data={"indicator_type": "ip", "indicator_value": "nope", "severity": "high",
                                              "confidence": "80", "tlp": "amber", "source": "manual"})
    assert bad.status_code == 422 and "not an IP address" in bad.get_data(as_text=True)
    ok = client.post("/threats/intel", data={"indicator_type": "domain", "indicator_value": "Bad.Example",
                                             "severity": "high", "confidence": "80", "tlp": "green", "source": "manual"})
    assert ok.status_code == 303
    ioc = db.session.scalar(sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == orgs.a.org.id))
    assert ioc.indicator_value == "bad.example"
    theirs, _ = add_indicator(orgs.b.org.id, "ip", "192.0.2.1")
    db.session.commit()
    assert_other_org_cannot_reach(client, [("GET", f"/threats/intel/{theirs.id}"),
                                           ("POST", f"/threats/intel/{theirs.id}/deactivate")])
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/threats/events").status_code == 403


def test_private_addresses_and_own_domains_are_allowlisted(db_session, orgs):
    from app.models import Organization

    db.session.get(Organization, orgs.a.org.id).domains = ["corp.example"]
    for kind, value in (("ip", "10.1.2.3"), ("cidr", "192.168.0.0/16"), ("ip", "127.0.0.1"),
                        ("domain", "mail.corp.example"), ("email", "ceo@corp.example")):
        with pytest.raises(IndicatorError, match="allowlisted"):
            add_indicator(orgs.a.org.id, kind, value)
    assert add_indicator(orgs.b.org.id, "domain", "mail.corp.example")[1] is True  # not B's domain
