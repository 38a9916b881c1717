"""The wireless resources of the JSON API: networks with the explorer's filters, one
network, its sightings, its score with factors and history, imports (list, one, and
uploading a file to import, as the Imports page does), and tagging a network (audited by
app/wireless/detail.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request, url_for
from werkzeug.datastructures import MultiDict

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
from app.models import Network, Observation, WirelessImport
from app.models.wireless import TAGS
from app.wireless import detail, explorer, import_start, imports
from app.wireless.filters import FilterError, apply_filters, parse_filters

register_scope("wireless:read", "data.read")
register_scope("wireless:write", "data.write")

NULL_STR, NULL_NUM = {"type": ["string", "null"]}, {"type": ["number", "null"]}
NETWORK = register_schema("Network", {"type": "object", "properties": {
    "id": {"type": "integer"}, "bssid": {"type": "string"}, "ssid": {"type": "string"}, "type": {"type": "string"},
    "radio": {"type": "string"}, "encryption": {"type": "string"}, "manufacturer": NULL_STR,
    "threat_level": NULL_STR, "threat_score": NULL_NUM, "tags": {"type": "array", "items": {"type": "string"}},
    "first_seen": NULL_STR, "last_seen": NULL_STR, "best_signal": {"type": "integer"},
    "observations": {"type": "integer"}, "lat": NULL_NUM, "lon": NULL_NUM}})
SIGHTING = register_schema("Sighting", {"type": "object", "properties": {
    "id": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
    "time_unknown": {"type": "boolean"}, "lat": {"type": "number"}, "lon": {"type": "number"},
    "level": {"type": "integer"}, "accuracy": {"type": "number"}, "source_id": {"type": "integer"},
    "import_id": {"type": ["integer", "null"]}, "ssid": NULL_STR}})
IMPORT = register_schema("WirelessImport", {"type": "object", "properties": {
    "id": {"type": "integer"}, "filename": {"type": "string"}, "format": NULL_STR, "status": {"type": "string"},
    "source_id": {"type": ["integer", "null"]}, "size_bytes": {"type": "integer"},
    "rows_read": {"type": "integer"}, "rows_imported": {"type": "integer"}, "rows_duplicate": {"type": "integer"},
    "rows_rejected": {"type": "integer"}, "networks_touched": {"type": "integer"}, "message": NULL_STR,
    "created_at": {"type": "string", "format": "date-time"},
    "finished_at": {"type": ["string", "null"], "format": "date-time"}}})
SCORE = {"type": "object", "properties": {
    "network_id": {"type": "integer"}, "score": NULL_NUM, "level": NULL_STR, "rule_score": NULL_NUM,
    "ml_probability": NULL_NUM, "ml_weight": NULL_NUM, "model_version": NULL_STR,
    "factors": {"type": "array", "items": {"type": "object"}}, "overlay": {"type": ["object", "null"]},
    "thresholds": {"type": "object", "additionalProperties": {"type": "number"}},
    "history": {"type": "array", "items": {"type": "object", "properties": {
        "score": NULL_NUM, "level": NULL_STR, "calculated_at": {"type": "string", "format": "date-time"}}}}}}


def text(name: str, longest: int = 200, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", "maxLength": longest}}


def day(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": "YYYY-MM-DD", "schema": {"type": "string", "maxLength": 10}}


FILTERS = (
    text("type", 20, "radio type (W, B, E, L, G, N)"), text("level", 20, "threat level"), text("tag", 40),
    text("ssid", description="the explorer's SSID syntax: * ? | and -exclusions"),
    text("bssid", 64, "hex and the wildcards * ?; a prefix without one"), text("manufacturer"),
    text("enc", 10, "encryption"), day("first_from"), day("first_to"), day("last_from"), day("last_to"),
    {"name": "signal_min", "in": "query", "schema": {"type": "integer", "minimum": -200, "maximum": 0}},
    {"name": "signal_max", "in": "query", "schema": {"type": "integer", "minimum": -200, "maximum": 0}},
    {"name": "import", "in": "query", "description": "networks seen in this import",
     "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def network_json(n: Network) -> dict[str, Any]:
    return explorer.record_of(n, explorer.active_tags(n.org_id, [n.id]).get(n.id, []))


@resource("/wireless/networks", "GET", "wireless:read", "Networks with the explorer's filters",
          page_schema(NETWORK), tag="wireless", query=(*PAGE_PARAMS, *FILTERS))
def network_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Networks matching the explorer's filters (the same syntax and validation), newest id first."""
    org_id = principal().org_id
    try:
        # the raw arguments: the explorer's parser reads repeated ones (type=W&type=B) too
        f = parse_filters(MultiDict([(k, v) for k, v in request.args.items(multi=True)
                                     if k not in ("limit", "cursor")]), org_id)
    except FilterError as exc:
        problem(422, "validation_error", str(exc), fields=exc.errors)
    page = paginate(apply_filters(sa.select(Network), f, org_id), Network.id, q, lambda n: n)
    tags = explorer.active_tags(org_id, [n.id for n in page["items"]])
    page["items"] = [explorer.record_of(n, tags.get(n.id, [])) for n in page["items"]]
    return page


@resource("/wireless/networks/{network_id}", "GET", "wireless:read", "One network", NETWORK, tag="wireless")
def network_detail(q: dict[str, Any], data: None, network_id: int) -> dict[str, Any]:
    """One network of the organization."""
    return network_json(owned(Network, network_id, "network"))


@resource("/wireless/networks/{network_id}/sightings", "GET", "wireless:read", "A network's sightings",
          page_schema(SIGHTING), tag="wireless", query=PAGE_PARAMS)
def network_sightings(q: dict[str, Any], data: None, network_id: int) -> dict[str, Any]:
    """Every sighting of one network, newest first."""
    network = owned(Network, network_id, "network")
    stmt = sa.select(Observation).where(Observation.org_id == network.org_id, Observation.network_id == network.id)
    return paginate(stmt, Observation.id, q, lambda o: {
        "id": o.id, "time": iso(o.time), "time_unknown": bool(o.time_unknown), "lat": o.lat, "lon": o.lon,
        "level": o.level, "accuracy": o.accuracy, "source_id": o.source_id, "import_id": o.import_id,
        "ssid": o.ssid})


@resource("/wireless/networks/{network_id}/score", "GET", "wireless:read",
          "A network's threat score with its factors and history", SCORE, tag="wireless")
def network_score(q: dict[str, Any], data: None, network_id: int) -> dict[str, Any]:
    """The stored score breakdown (each factor with its points), the thresholds and recent history."""
    network = owned(Network, network_id, "network")
    view = detail.score_view(network)
    return {"network_id": network.id, "score": view["score"], "level": view["level"],
            "rule_score": view["rule_score"], "ml_probability": view["ml_probability"],
            "ml_weight": view["ml_weight"], "model_version": view["model_version"], "factors": view["factors"],
            "overlay": view["overlay"], "thresholds": dict(view["thresholds"]),
            "history": [{"score": h.combined_score,
                         "level": h.threat_level, "calculated_at": iso(h.calculated_at)}
                        for h in detail.score_history(network.id)]}


def import_json(i: WirelessImport) -> dict[str, Any]:
    return {"id": i.id, "filename": i.filename, "format": i.format, "status": i.status, "source_id": i.source_id,
            "size_bytes": i.size_bytes, "rows_read": i.rows_read, "rows_imported": i.rows_imported,
            "rows_duplicate": i.rows_duplicate, "rows_rejected": i.rows_rejected,
            "networks_touched": i.networks_touched, "message": i.message, "created_at": iso(i.created_at),
            "finished_at": iso(i.finished_at)}


@resource("/wireless/imports", "GET", "wireless:read", "Imports of sightings", page_schema(IMPORT),
          tag="wireless", query=PAGE_PARAMS)
def import_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Imports of the organization with their counts, newest first."""
    stmt = sa.select(WirelessImport).where(WirelessImport.org_id == principal().org_id)
    return paginate(stmt, WirelessImport.id, q, import_json)


@resource("/wireless/imports/{import_id}", "GET", "wireless:read", "One import: its status and counts", IMPORT,
          tag="wireless")
def import_detail(q: dict[str, Any], data: None, import_id: int) -> dict[str, Any]:
    """One import of the organization (poll it after an upload: queued, running, then its outcome)."""
    return import_json(owned(WirelessImport, import_id, "import"))


UPLOAD = {"type": "object", "required": ["file"], "additionalProperties": False, "properties": {
    "file": {"type": "string", "format": "binary",
             "description": "a WiGLE CSV (or .gz), WiGLE Android backup, Kismet .kismet log or Kismet netxml file, "
                            "judged by its content; at most VIGIL_WIRELESS_IMPORT_MAX_MB"},
    "source_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1,
                  "description": "the organization's device source the sightings came from"},
    "new_source": {"type": "string", "minLength": 1, "maxLength": 64,
                   "description": "or a source code (found, or created); neither: a source named after the format"}}}
STARTED = {"type": "object", "required": ["id", "status", "status_url"], "properties": {
    "id": {"type": "integer"}, "status": {"type": "string"}, "format": {"type": "string"},
    "source_id": {"type": "integer"}, "job_run_id": {"type": ["integer", "null"]},
    "status_url": {"type": "string", "description": "GET it (wireless:read) to follow the import"}}}


@resource("/wireless/imports", "POST", "wireless:write", "Upload a file of sightings to import", STARTED,
          tag="wireless", form=UPLOAD, status=202, max_bytes=imports.max_upload_bytes)
def import_upload(q: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Queue the import of an uploaded file as the Imports page does (audited); a file of no importable
    format, or an unknown source, is refused with 422 and nothing is kept."""
    try:
        imp = import_start.start(principal().org_id, actor(), data["file"], data.get("source_id"),
                                 data.get("new_source"))
    except imports.FormatError as exc:
        problem(422, "validation_error", f"The file is refused: {exc}", fields={"file": str(exc)})
    except imports.SourceError as exc:
        problem(422, "validation_error", str(exc), fields={"source_id": str(exc)})
    return {"id": imp.id, "status": imp.status, "format": imp.format, "source_id": imp.source_id,
            "job_run_id": imp.job_run_id, "status_url": url_for("api.r_get_wireless_imports_import_id",
                                                                import_id=imp.id)}


TAG = {"type": "object", "required": ["tag"], "additionalProperties": False, "properties": {
    "tag": {"enum": list(TAGS)}, "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "notes": {"type": ["string", "null"], "maxLength": 2000}}}


@resource("/wireless/networks/{network_id}/tags", "POST", "wireless:write", "Tag a network (it is rescored)",
          NETWORK, tag="wireless", body=TAG, status=201)
def network_tag(q: dict[str, Any], data: dict[str, Any], network_id: int) -> dict[str, Any]:
    """Tag a network; re-tagging replaces the active tag of that name (audited, rescored now)."""
    network = owned(Network, network_id, "network")
    try:
        detail.add_tag(network, data["tag"], data.get("confidence"), data.get("notes"), actor())
    except detail.TagError as exc:
        invalid("tag", str(exc))
    return network_json(network)

