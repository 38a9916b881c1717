"""Recording security events (login, lockout, MFA, password, session changes).

Every event gets its risk score from the one scorer (app/threats/risk.py, registered on the
seam app/core/security_events.py, so identity never imports threats) and is published as
`auth.security_event_recorded`: the threats domain subscribes (app/threats/signin_hooks.py)
to move the user's trust, pick up the indicator the event's address matched and run its alert
rules. Other domains record events through the seam's `record`, which is this module's
record_event (registered below).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from app.alerting.events import publish
from app.core.security_events import assess_risk, register_recorder
from app.models import SecurityEvent, User, db

SEVERITY_OF = {
    "login_success": "info",
    "login_failed": "low",
    "account_locked": "high",
    "mfa_enrolled": "info",
    "mfa_disabled": "medium",
    "mfa_failed": "medium",
    "mfa_backup_code_used": "medium",
    "password_changed": "info",
    "password_reset": "medium",
    "session_revoked": "info",
    "device_trusted": "info",
    "device_revoked": "info",
    "login_denied": "high",
    "access_denied": "low",
    "rate_limit_block": "medium",
    "refresh_token_reuse": "high",
    "api_key_created": "info",
    "password_reset_requested": "low",
    "api_key_revoked": "info",
}


def record_event(event_type: str, description: str, *, user: User | None = None, email: str | None = None,
                 org_id: int | None = None, severity: str | None = None, action: str = "none",
                 details: dict[str, Any] | None = None, device_fingerprint: str | None = None,
                 assessment: Any = None) -> SecurityEvent:
    """Add one risk-scored security event to the current transaction."""
    ip = request.remote_addr if has_request_context() else None
    user_agent = request.headers.get("User-Agent", "")[:1000] if has_request_context() else None
    scope_org = org_id if org_id is not None else (user.org_id if user else None)
    if assessment is None:
        assessment = assess_risk(user, ip, user_agent, org_id=scope_org)
    event = SecurityEvent(
        org_id=org_id if org_id is not None else (user.org_id if user else None),
        user_id=user.id if user else None,
        email=email or (user.email if user else None),
        event_type=event_type,
        severity=severity or SEVERITY_OF.get(event_type, "info"),
        ip_address=ip,
        user_agent=user_agent,
        device_fingerprint=device_fingerprint,
        description=description,
        details=details,
        action_taken=action,
        risk_score=assessment.score,
        risk_factors=assessment.factors,
    )
    db.session.add(event)
    db.session.flush()
    # threats: trust, the matched indicator, its alert rules; exposure: a password change
    publish("auth.security_event_recorded", event=event, user=user, assessment=assessment)
    return event


register_recorder(record_event)
