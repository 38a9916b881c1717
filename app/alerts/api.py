"""The alerts resources of the JSON API, across every domain: list with the page's filters,
one alert, acknowledge (one, or many at once like the page's "Acknowledge selected"),
resolve and mute (each audited by the alerting service)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.alerting import registry, service
from app.alerting.serialize import ALERT_SCHEMA, alert_json
from app.alerts import services
from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import (
    actor,
    owned,
    problem,
    register_schema,
    register_scope,
    resource,
)
from app.apiregistry.validation import invalid
from app.models import Alert, utcnow
from app.permissions import can

register_scope("alerts:read", "data.read")
register_scope("alerts:write", "data.write")

ALERT = register_schema("Alert", ALERT_SCHEMA)
FILTERS = (
    {"name": "domain", "in": "query", "schema": {"type": "string", "maxLength": 30}},
    {"name": "severity", "in": "query", "schema": {"enum": ["critical", "warning", "info"]}},
    {"name": "status", "in": "query", "description": "active (default: not resolved) or one status",
     "schema": {"enum": ["active", "all", "open", "acknowledged", "muted", "resolved"]}},
    {"name": "target", "in": "query", "description": "part of the target's label or key",
     "schema": {"type": "string", "maxLength": 200}},
)


def visible() -> list[str]:
    user = actor()
    return registry.visible_domains(lambda permission: can(permission, user))


def visible_alert(alert_id: int) -> Alert:
    """The organization's alert of a domain the key's user may see; anything else a 404."""
    alert = owned(Alert, alert_id, "alert")
    if alert.domain not in visible():
        problem(404, "not_found", "No such alert in this organization.")
    return alert


@resource("/alerts", "GET", "alerts:read", "Alerts of every domain the user may see", page_schema(ALERT),
          tag="alerts", query=(*PAGE_PARAMS, *FILTERS))
def alert_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Alerts with the Alerts page's filters, newest first."""
    stmt = services.filtered(principal().org_id, visible(), domain=q.get("domain"), severity=q.get("severity"),
                             status=q.get("status", "active"), target=q.get("target")).order_by(None)
    return paginate(stmt, Alert.id, q, alert_json)


@resource("/alerts/{alert_id}", "GET", "alerts:read", "One alert", ALERT, tag="alerts")
def alert_detail(q: dict[str, Any], data: None, alert_id: int) -> dict[str, Any]:
    """One alert with its object's link."""
    return alert_json(visible_alert(alert_id))


@resource("/alerts/{alert_id}/acknowledge", "POST", "alerts:write", "Acknowledge an open or muted alert", ALERT,
          tag="alerts", errors=(409,))
def alert_acknowledge(q: dict[str, Any], data: None, alert_id: int) -> dict[str, Any]:
    """Someone is on it: no more repeats (audited); 409 when it is not open or muted."""
    alert = visible_alert(alert_id)
    if not service.acknowledge(alert, actor()):
        problem(409, "not_acknowledgeable", f"The alert is {alert.status}; only open or muted alerts are acknowledged.")
    return alert_json(alert)


BULK = {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {
    "ids": {"type": "array", "minItems": 1, "maxItems": 200, "description": "the alerts to acknowledge",
            "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}}}
BULK_ANSWER = {"type": "object", "required": ["acknowledged", "skipped"], "properties": {
    "acknowledged": {"type": "array", "items": {"type": "integer"},
                     "description": "the alerts acknowledged now"},
    "skipped": {"type": "array", "items": {"type": "integer"},
                "description": "the rest: not open or muted, not of a domain the user may see, or no such alert "
                               "in this organization (not told apart)"}}}


@resource("/alerts/acknowledge", "POST", "alerts:write", "Acknowledge many alerts at once", BULK_ANSWER,
          tag="alerts", body=BULK)
def alert_acknowledge_many(q: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge the organization's open or muted alerts among `ids` (each audited); the others are skipped."""
    ids = list(dict.fromkeys(data["ids"]))
    done = services.acknowledge_many(principal().org_id, visible(), ids, actor())
    return {"acknowledged": done, "skipped": [i for i in ids if i not in set(done)]}


RESOLVE = {"type": "object", "required": ["note"], "additionalProperties": False, "properties": {
    "note": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "why it is resolved"}}}


@resource("/alerts/{alert_id}/resolve", "POST", "alerts:write", "Resolve an alert with a note", ALERT,
          tag="alerts", body=RESOLVE, errors=(409,))
def alert_resolve(q: dict[str, Any], data: dict[str, Any], alert_id: int) -> dict[str, Any]:
    """Close the alert with a note (audited; whoever was told it fired is told it is resolved)."""
    alert = visible_alert(alert_id)
    note = data["note"].strip()
    if not note:
        invalid("note", "must not be blank")
    if alert.status == "resolved":
        problem(409, "already_resolved", "The alert is already resolved.")
    service.resolve(alert, utcnow(), note=note, actor=actor())
    return alert_json(alert)


MUTE = {"type": "object", "required": ["hours"], "additionalProperties": False, "properties": {
    "hours": {"type": "integer", "minimum": 1, "maximum": 168, "description": "no notifications for this long"}}}


@resource("/alerts/{alert_id}/mute", "POST", "alerts:write", "Mute an alert's notifications for a while", ALERT,
          tag="alerts", body=MUTE, errors=(409,))
def alert_mute(q: dict[str, Any], data: dict[str, Any], alert_id: int) -> dict[str, Any]:
    """No notifications until the time is up; it still resolves on recovery (audited)."""
    alert = visible_alert(alert_id)
    if alert.status == "resolved":
        problem(409, "already_resolved", "The alert is already resolved.")
    service.mute(alert, utcnow() + timedelta(hours=data["hours"]), actor())
    return alert_json(alert)
