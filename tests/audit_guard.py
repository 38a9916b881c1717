"""Every state change is audited: a check that runs under every test.

Each non-GET request that commits a change to a table (outside the few that are
themselves records of activity) must also write an audit_log row in that request.
A new route that changes state and forgets to audit fails whichever test calls it.
"""

from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

# Tables that record activity themselves, or that only track reading/liveness.
RECORD_TABLES = frozenset({
    "audit_log", "login_attempts", "security_events", "ioc_sightings", "rate_limit_entries", "user_sessions",
    "notifications", "notification_deliveries",
})
# Endpoints whose writes are recorded as login attempts and security events, are a user's
# own read markers, or are telemetry whose rows are their own record (agent heartbeats and
# facts: a change of device or service state, or of the facts, is audited by the ingest itself).
EXEMPT_ENDPOINTS = frozenset({
    "auth.login", "auth.mfa_challenge", "notifications.mark_read", "notifications.mark_all_read",
    "api.agent_heartbeat", "api.agent_facts",
})

violations: list[str] = []


def _tables(session: Session) -> set[str]:
    changed = [*session.new, *session.deleted,
               *(o for o in session.dirty if session.is_modified(o, include_collections=False))]
    return {o.__table__.name for o in changed if hasattr(o, "__table__")}


@event.listens_for(Session, "after_flush")
def _track(session: Session, _context) -> None:
    if has_request_context():
        g.setdefault("vigil_written_tables", set()).update(_tables(session))


def install(app) -> None:
    @app.after_request
    def _check(response):
        written = g.get("vigil_written_tables", set())
        if (request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400
                and request.endpoint not in EXEMPT_ENDPOINTS and written - RECORD_TABLES
                and "audit_log" not in written):
            violations.append(f"{request.method} {request.path} ({request.endpoint}) changed "
                              f"{sorted(written - RECORD_TABLES)} without an audit_log row")
        return response
