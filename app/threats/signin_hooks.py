"""The threats domain's part in sign-in and security events, registered from here so identity
(app/auth) never imports threats (issue 21):

- the risk scorer (risk.assess) on the seam app/core/security_events.py, which sign-in and
  record_event ask;
- trust (trust.py) moved by what identity publishes on the event bus: a sign-in that
  succeeded, failed or was denied, and any event whose risk reached the deny threshold;
- the indicator an event's address matched (the sighting itself is recorded when the event
  is flushed, app/indicators/matching.py), handed on with the event to the threat alert
  rules as `threats.security_event_recorded` (alert_rules.py).
"""

from __future__ import annotations

from typing import Any

from app.alerting.events import publish, subscribe
from app.core.security_events import register_risk_assessor
from app.models import ThreatIntelligence, db
from app.threats import risk, trust
from app.threats.intel import record_sighting


def on_sign_in_succeeded(user: Any, method: str, device: Any = None) -> None:
    """A second factor (or a trusted browser) earns more trust than a password alone."""
    second_factor = "totp" in method or "backup" in method or device is not None
    trust.apply("mfa_success" if second_factor else "password_success", user=user, device=device)


def on_sign_in_failed(user: Any, reason: str) -> None:
    """A failed password or code of a known account lowers its trust."""
    trust.apply("failure", user=user)


def on_sign_in_denied(user: Any, assessment: Any) -> None:
    """A sign-in refused for its risk lowers the account's trust."""
    trust.apply("risk_denied", user=user)


def on_security_event(event: Any, user: Any = None, assessment: Any = None) -> None:
    """Trust and the matched indicator of a recorded event, then the threat alert rules."""
    if assessment.score >= risk.DENY_AT and user is not None and event.event_type != "login_denied":
        trust.apply("high_risk_event", user=user)
    indicator = None
    inputs = getattr(assessment, "inputs", None)
    if inputs is not None and inputs.intel_id is not None:
        indicator = db.session.get(ThreatIntelligence, inputs.intel_id)
        record_sighting(indicator, event, event.ip_address or "")
    publish("threats.security_event_recorded", event=event, indicator=indicator)


# Through a lambda, so a benchmark that swaps risk.assess for a constant is heard.
register_risk_assessor(lambda *args, **kwargs: risk.assess(*args, **kwargs))
subscribe("auth.sign_in_succeeded", on_sign_in_succeeded)
subscribe("auth.sign_in_failed", on_sign_in_failed)
subscribe("auth.sign_in_denied", on_sign_in_denied)
subscribe("auth.security_event_recorded", on_security_event)
