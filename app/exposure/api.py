"""The exposure resources of the JSON API: monitored e-mail addresses and their findings.
Never a password or any other leaked value: a finding is its type, source, breach, date and
severity; the details (masked credentials) stay on the pages for the roles that may see them.
Addresses are limited to the monitor scopes the key's user's role may see, as on the pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import actor, register_schema, register_scope, resource
from app.exposure.monitoring import visible_scopes
from app.models import MonitoredEmail, MonitoredEmailFinding, db

register_scope("exposure:read", "exposure.view")

NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
MONITORED = register_schema("MonitoredEmail", {"type": "object", "properties": {
    "id": {"type": "integer"}, "email": {"type": "string"}, "scope": {"type": "string"},
    "active": {"type": "boolean"}, "confirmed_at": NULL_TIME, "last_checked": NULL_TIME,
    "findings": {"type": "integer"}}})
FINDING = register_schema("ExposureFinding", {"type": "object", "properties": {
    "id": {"type": "integer"}, "monitored_email_id": {"type": "integer"}, "email": {"type": "string"},
    "type": {"type": "string"}, "source": {"type": "string"}, "breach": {"type": ["string", "null"]},
    "breach_date": NULL_TIME, "severity": {"type": "string"},
    "found_at": {"type": "string", "format": "date-time"}}})


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def visible_emails() -> sa.Select:
    return sa.select(MonitoredEmail.id).where(
        MonitoredEmail.org_id == principal().org_id, MonitoredEmail.deleted_at.is_(None),
        MonitoredEmail.monitor_scope.in_(visible_scopes(actor().role)))


@resource("/exposure/monitored", "GET", "exposure:read", "Monitored e-mail addresses", page_schema(MONITORED),
          tag="exposure", query=PAGE_PARAMS)
def monitored_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The monitored addresses the user's role may see, newest first, with their finding counts."""
    stmt = sa.select(MonitoredEmail).where(MonitoredEmail.id.in_(visible_emails()))
    return paginate(stmt, MonitoredEmail.id, q, lambda m: {
        "id": m.id, "email": m.email_address, "scope": m.monitor_scope, "active": m.is_active,
        "confirmed_at": iso(m.confirmed_at), "last_checked": iso(m.last_checked), "findings": m.findings_count})


@resource("/exposure/findings", "GET", "exposure:read", "Findings of the monitored addresses (no secrets)",
          page_schema(FINDING), tag="exposure", query=(
              *PAGE_PARAMS, {"name": "monitored_email_id", "in": "query",
                             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}))
def finding_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Findings of the visible addresses, newest first: never the leaked values themselves."""
    stmt = sa.select(MonitoredEmailFinding).where(MonitoredEmailFinding.deleted_at.is_(None),
                                                  MonitoredEmailFinding.monitored_email_id.in_(visible_emails()))
    if q.get("monitored_email_id") is not None:
        stmt = stmt.where(MonitoredEmailFinding.monitored_email_id == q["monitored_email_id"])
    page = paginate(stmt, MonitoredEmailFinding.id, q, lambda f: f)
    emails = dict(emails_of([f.monitored_email_id for f in page["items"]]))
    page["items"] = [{"id": f.id, "monitored_email_id": f.monitored_email_id,
                      "email": emails.get(f.monitored_email_id, ""), "type": f.finding_type, "source": f.source,
                      "breach": f.breach_name, "breach_date": iso(f.breach_date), "severity": f.severity,
                      "found_at": iso(f.found_at)} for f in page["items"]]
    return page


def emails_of(ids: list[int]) -> list[tuple[int, str]]:
    if not ids:
        return []
    return list(db.session.execute(sa.select(MonitoredEmail.id, MonitoredEmail.email_address)
                                   .where(MonitoredEmail.id.in_(ids))).all())
