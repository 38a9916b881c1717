"""The seams the domains meet through (issue 21): identity records security events and asks
threats' risk scorer without importing threats, trust follows what identity publishes, and
the registries compliance and the roadmap read hold every domain's part."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.alerting.events import publish
from app.auth.events import record_event
from app.core import csf_mapping, security_events
from app.core.evidence_sources import EVIDENCE_SOURCES
from app.core.finding_sources import FINDING_SOURCES, TYPE_ALIASES
from app.core.live_values import LIVE_QUERIES
from app.models import db
from app.threats import risk


def test_an_event_recorded_through_the_seam_is_scored_by_threats(app, orgs):
    user = orgs.a.users["analyst"]
    expected = risk.assess(user, "203.0.113.7", "seam-test")
    assert security_events.RECORDERS == [record_event]
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.7",
                                                     "HTTP_USER_AGENT": "seam-test"}):
        event = security_events.record("access_denied", "Refused (seam test)", user=user)
    assert event.id is not None and event.user_id == user.id
    assert (event.risk_score, event.risk_factors) == (expected.score, expected.factors)


def test_trust_follows_what_identity_publishes(orgs):
    user = orgs.a.users["analyst"]
    start = Decimal(user.trust_score)
    publish("auth.sign_in_failed", user=user, reason="bad_credentials")
    assert user.trust_score == start - 2
    publish("auth.sign_in_succeeded", user=user, method="password+totp", device=None)
    assert user.trust_score == start + 1
    publish("auth.sign_in_denied", user=user, assessment=None)
    assert user.trust_score == start - 9


def test_a_high_risk_event_lowers_trust_but_a_denied_sign_in_only_once(orgs):
    user = orgs.a.users["analyst"]
    start = Decimal(user.trust_score)
    high = SimpleNamespace(score=risk.DENY_AT, action="deny", factors={"test": float(risk.DENY_AT)}, inputs=None)
    record_event("access_denied", "A risky refusal", user=user, assessment=high)
    assert user.trust_score == start - 5
    record_event("login_denied", "Sign-in denied", user=user, assessment=high)  # deny_sign_in moved it already
    assert user.trust_score == start - 5
    db.session.flush()


def test_the_seams_fail_loudly_when_nothing_is_registered(app, monkeypatch):
    monkeypatch.setattr(security_events, "RISK_ASSESSORS", [])
    monkeypatch.setattr(security_events, "RECORDERS", [])
    with pytest.raises(RuntimeError, match="no risk assessor"):
        security_events.assess_risk(None, "203.0.113.7", None)
    with pytest.raises(RuntimeError, match="no security-event recorder"):
        security_events.record("access_denied", "nobody records this")


def test_the_registries_hold_every_domains_part(app):
    assert {"surface", "fleet_scanner", "exposure", "wireless"} <= set(FINDING_SOURCES)
    assert TYPE_ALIASES  # compliance's finding map types them for the roadmap
    assert {"password_policy", "scanners"} <= set(EVIDENCE_SOURCES)
    names = list(LIVE_QUERIES)
    # metrics' own queries come first in the metric form, then compliance's and the roadmap's
    assert names.index("mfa_coverage") < names.index("compliance_score_soc2")
    assert names.index("wireless_rescore_backlog") < names.index("roadmap_score")
    assert csf_mapping.MATCHERS

