"""The incidents resources of the JSON API: list (status and severity filters), one incident
with its links, opening one and linking any linkable object (app/core/linkable.py) to it.
Writes go through app/threats/incidents.py and incident_links.py, which audit them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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
from app.core import linkable
from app.models import SecurityIncident
from app.models.incidents import INCIDENT_SEVERITIES, INCIDENT_STATUSES
from app.threats import incident_links, incidents
from app.threats.forms import INCIDENT_TYPES

register_scope("incidents:read", "threats.view")
register_scope("incidents:write", "threats.manage")

NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
INCIDENT = register_schema("Incident", {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "type": {"type": "string"},
    "severity": {"type": "string"}, "priority": {"type": "string"}, "status": {"type": "string"},
    "description": {"type": ["string", "null"]}, "assigned_to_id": {"type": ["integer", "null"]},
    "created_at": {"type": "string", "format": "date-time"}, "due_at": NULL_TIME,
    "acknowledged_at": NULL_TIME, "resolved_at": NULL_TIME, "closed_at": NULL_TIME}})
LINK = {"type": "object", "properties": {
    "id": {"type": "integer"}, "type": {"type": "string"}, "object_id": {"type": "string"},
    "label": {"type": "string"}, "link": {"type": ["string", "null"]}}}
DETAIL = {"type": "object", "properties": {"incident": INCIDENT, "links": {"type": "array", "items": LINK}}}
FILTERS = (
    {"name": "status", "in": "query", "schema": {"enum": list(INCIDENT_STATUSES)}},
    {"name": "severity", "in": "query", "schema": {"enum": list(INCIDENT_SEVERITIES)}},
)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def incident_json(i: SecurityIncident) -> dict[str, Any]:
    return {"id": i.id, "title": i.title, "type": i.incident_type, "severity": i.severity, "priority": i.priority,
            "status": i.status, "description": i.description, "assigned_to_id": i.assigned_to_id,
            "created_at": iso(i.created_at), "due_at": iso(i.due_at), "acknowledged_at": iso(i.acknowledged_at),
            "resolved_at": iso(i.resolved_at), "closed_at": iso(i.closed_at)}


def detail_json(incident: SecurityIncident) -> dict[str, Any]:
    return {"incident": incident_json(incident), "links": [
        {"id": row.id, "type": row.object_type, "object_id": row.object_id, "label": row.label, "link": url}
        for row, _obj, url in incident_links.links_of(incident)]}


@resource("/incidents", "GET", "incidents:read", "Incidents", page_schema(INCIDENT), tag="incidents",
          query=(*PAGE_PARAMS, *FILTERS))
def incident_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's incidents, newest first."""
    stmt = sa.select(SecurityIncident).where(SecurityIncident.org_id == principal().org_id)
    for name, column in (("status", SecurityIncident.status), ("severity", SecurityIncident.severity)):
        if q.get(name):
            stmt = stmt.where(column == q[name])
    return paginate(stmt, SecurityIncident.id, q, incident_json)


@resource("/incidents/{incident_id}", "GET", "incidents:read", "One incident with its linked objects", DETAIL,
          tag="incidents")
def incident_detail(q: dict[str, Any], data: None, incident_id: int) -> dict[str, Any]:
    """One incident and every object linked to it, each with its page."""
    return detail_json(owned(SecurityIncident, incident_id, "incident"))


CREATE = {"type": "object", "required": ["title"], "additionalProperties": False, "properties": {
    "title": {"type": "string", "minLength": 1, "maxLength": 500},
    "severity": {"enum": list(INCIDENT_SEVERITIES)}, "priority": {"enum": list(INCIDENT_SEVERITIES)},
    "type": {"enum": list(INCIDENT_TYPES)}, "description": {"type": ["string", "null"], "maxLength": 10000}}}


@resource("/incidents", "POST", "incidents:write", "Open an incident", DETAIL, tag="incidents", body=CREATE,
          status=201)
def incident_create(q: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Open an incident (audited, on the incident's timeline); link objects to it afterwards."""
    title = data["title"].strip()
    if not title:
        invalid("title", "must not be blank")
    incident = incidents.create(principal().org_id, actor(), title=title, severity=data.get("severity", "medium"),
                                priority=data.get("priority", "medium"), incident_type=data.get("type", "other"),
                                description=data.get("description"))
    return detail_json(incident)


LINK_BODY = {"type": "object", "required": ["type", "object_id"], "additionalProperties": False,
             "description": "`type` is a linkable type: alert, network, indicator, user, device and the others "
                            "domains register; an object outside the organization is refused with 422.",
             "properties": {"type": {"type": "string", "minLength": 1, "maxLength": 30},
                            "object_id": {"type": "string", "minLength": 1, "maxLength": 64}}}


@resource("/incidents/{incident_id}/links", "POST", "incidents:write", "Link an object of any domain", DETAIL,
          tag="incidents", body=LINK_BODY, status=201, errors=(409,))
def incident_link(q: dict[str, Any], data: dict[str, Any], incident_id: int) -> dict[str, Any]:
    """Link one of the organization's objects to the incident (audited; linking it twice is a 409)."""
    incident = owned(SecurityIncident, incident_id, "incident")
    if data["type"] not in linkable.TYPES:
        invalid("type", "choose one of " + ", ".join(sorted(linkable.TYPES)))
    try:
        row = incident_links.link(incident, actor(), data["type"], data["object_id"].strip())
    except incidents.IncidentError as exc:
        invalid("object_id", str(exc))
    if row is None:  # nothing changed: said so, rather than a success that did nothing
        problem(409, "already_linked", "That object is linked to this incident already.")
    return detail_json(incident)


STATUS = {"type": "object", "required": ["status"], "additionalProperties": False, "properties": {
    "status": {"enum": list(INCIDENT_STATUSES)},
    "note": {"type": ["string", "null"], "maxLength": 10000,
             "description": "the resolution: required to resolve or close an open or investigating incident"},
    "resolve_alerts": {"type": "boolean", "description": "also resolve its linked active alerts with the note"}}}


@resource("/incidents/{incident_id}/status", "POST", "incidents:write", "Move an incident to another status",
          DETAIL, tag="incidents", body=STATUS, errors=(409,),
          description="Only the page's transitions are allowed (422 otherwise); resolving or closing needs a note, "
                      "and can resolve the incident's linked alerts with it. Audited, on the timeline.")
def incident_status(q: dict[str, Any], data: dict[str, Any], incident_id: int) -> dict[str, Any]:
    """Change an incident's status the way its page does."""
    incident = owned(SecurityIncident, incident_id, "incident")
    note = (data.get("note") or "").strip() or None
    if data["status"] == incident.status:
        problem(409, "unchanged", f"The incident is {incident.status} already.")
    try:
        incidents.change_status(incident, actor(), data["status"], note)
    except incidents.IncidentError as exc:
        invalid("note" if isinstance(exc, incidents.ResolutionRequired) else "status", str(exc))
    if data["status"] in ("resolved", "closed") and note and data.get("resolve_alerts"):
        incident_links.resolve_alerts(incident, actor(), note)
    return detail_json(incident)
