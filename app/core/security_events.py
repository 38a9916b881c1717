"""The seams around security events (issue 21): identity (app/auth) records them, the threats
domain scores them, and other domains raise them, without one domain importing another.

- The risk scorer: threats registers `register_risk_assessor(app.threats.risk.assess)` at
  import; identity asks `assess_risk(...)` for a sign-in's or an event's score and action.
- The recorder: identity registers `register_recorder(app.auth.events.record_event)`; a
  domain that raises a security event (a rate-limit block, a leaked password in use, an
  administrator's action) calls `record(...)` with record_event's arguments.

What happens after an event is recorded is published on the event bus by identity
(app/auth/events.py: `auth.security_event_recorded`, `auth.sign_in_succeeded`, ...) and the
threats domain subscribes (app/threats/signin_hooks.py).

Both seams fail loudly when nothing is registered: a sign-in without a risk score, or an
event silently dropped, would be a security hole, not a degraded mode. The app factory
imports every domain, so both are always registered in a running console.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class RiskAssessment(Protocol):
    """What identity reads of an assessment (app/threats/risk.py makes them)."""

    score: int
    action: str  # "allow", "challenge" or "deny"
    factors: dict[str, float]


RiskAssessor = Callable[..., RiskAssessment]
Recorder = Callable[..., Any]

# One of each; registering again replaces it (a benchmark may swap in a constant scorer).
RISK_ASSESSORS: list[RiskAssessor] = []
RECORDERS: list[Recorder] = []


def register_risk_assessor(assessor: RiskAssessor) -> RiskAssessor:
    """Make `assessor(user, ip, user_agent, device=None, org_id=None)` the risk scorer."""
    RISK_ASSESSORS[:] = [assessor]
    return assessor


def assess_risk(user: Any, ip: str | None, user_agent: str | None, device: Any = None,
                org_id: int | None = None) -> RiskAssessment:
    """The registered scorer's assessment of `user` acting from `ip` with `user_agent`."""
    if not RISK_ASSESSORS:
        raise RuntimeError("no risk assessor registered (app.threats registers one when imported)")
    return RISK_ASSESSORS[0](user, ip, user_agent, device, org_id=org_id)


def register_recorder(recorder: Recorder) -> Recorder:
    """Make `recorder(event_type, description, **fields)` the security-event recorder."""
    RECORDERS[:] = [recorder]
    return recorder


def record(event_type: str, description: str, **fields: Any) -> Any:
    """Record a security event through identity's recorder (added to the current transaction)."""
    if not RECORDERS:
        raise RuntimeError("no security-event recorder registered (app.auth registers one when imported)")
    return RECORDERS[0](event_type, description, **fields)
