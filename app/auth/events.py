"""Recording security events (login, lockout, MFA, password, session changes).

Risk scoring and threat-intelligence matching of these events arrive with the threats
domain; until then every event is stored with its inputs so it can be scored.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

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
}


def record_event(event_type: str, description: str, *, user: User | None = None, email: str | None = None,
                 org_id: int | None = None, severity: str | None = None, action: str = "none",
                 details: dict[str, Any] | None = None, device_fingerprint: str | None = None) -> SecurityEvent:
    """Add one security event to the current transaction."""
    event = SecurityEvent(
        org_id=org_id if org_id is not None else (user.org_id if user else None),
        user_id=user.id if user else None,
        email=email or (user.email if user else None),
        event_type=event_type,
        severity=severity or SEVERITY_OF.get(event_type, "info"),
        ip_address=request.remote_addr if has_request_context() else None,
        user_agent=request.headers.get("User-Agent", "")[:1000] if has_request_context() else None,
        device_fingerprint=device_fingerprint,
        description=description,
        details=details,
        action_taken=action,
    )
    db.session.add(event)
    return event
