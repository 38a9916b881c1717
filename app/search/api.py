"""Global search in the JSON API: the same registry and permission rules as the search page
(app/search/registry.py), results grouped by type, each with its page."""

from __future__ import annotations

from typing import Any

from app.apiregistry.auth import principal
from app.apiregistry.registry import actor, register_scope, resource
from app.apiregistry.validation import invalid
from app.search import services, text

register_scope("search:read", "data.read")

RESULTS = {"type": "object", "properties": {"q": {"type": "string"}, "groups": {"type": "array", "items": {
    "type": "object", "properties": {
        "type": {"type": "string"}, "label": {"type": "string"},
        "hits": {"type": "array", "items": {"type": "object", "properties": {
            "title": {"type": "string"}, "url": {"type": "string"}, "detail": {"type": "string"}}}}}}}}}


@resource("/search", "GET", "search:read", "Search every domain", RESULTS, tag="search", query=(
    {"name": "q", "in": "query", "required": True,
     "description": f"{text.MIN_TERM} to {text.MAX_TERM} characters (spaces collapsed)",
     "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
    {"name": "per_type", "in": "query", "description": "hits per type",
     "schema": {"type": "integer", "minimum": 1, "maximum": 25, "default": services.PER_TYPE_PAGE}}))
def search(q: dict[str, Any], data: None) -> dict[str, Any]:
    """Networks, devices, indicators, users, incidents, alerts, metrics and what other domains
    register, in the organization, of the types the key's user may see."""
    term = text.clean(q["q"])
    if not term:
        invalid("q", f"must have at least {text.MIN_TERM} characters")
    groups = services.search(principal().org_id, term, actor(), q.get("per_type", services.PER_TYPE_PAGE))
    return {"q": term, "groups": [{"type": g.provider.name, "label": g.provider.label,
                                   "hits": [{"title": h.title, "url": h.url, "detail": h.detail} for h in g.hits]}
                                  for g in groups]}
