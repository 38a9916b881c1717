"""The canary-token resources of the JSON API: tokens with their trigger counts and one
token's accesses. Never the fake credential itself (sealed at rest) nor the trigger URL or
hostname, which would let the key's holder fire the alarm from anywhere.

The scope needs `data.read`, like the token pages: read-only users see the tokens and what
touched them; the bait itself (its snippet, file and credential) stays with `threats.manage`
on the pages and never appears here."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.apiregistry.auth import principal
from app.apiregistry.pagination import PAGE_PARAMS, page_schema, paginate
from app.apiregistry.registry import owned, register_schema, register_scope, resource
from app.models import BaitAccess, BaitToken

register_scope("bait:read", "data.read")  # as the token list and detail pages

NULL_STR, NULL_TIME = {"type": ["string", "null"]}, {"type": ["string", "null"], "format": "date-time"}
TOKEN = register_schema("BaitToken", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "type": {"type": "string"},
    "status": {"type": "string"}, "memo": NULL_STR, "seeded_at": NULL_TIME, "seeded_location": NULL_STR,
    "first_access": NULL_TIME, "last_access": NULL_TIME, "access_count": {"type": "integer"},
    "expires_at": NULL_TIME, "created_at": {"type": "string", "format": "date-time"}}})
ACCESS = register_schema("BaitAccess", {"type": "object", "properties": {
    "id": {"type": "integer"}, "accessed_at": {"type": "string", "format": "date-time"},
    "source_ip": NULL_STR, "user_agent": NULL_STR, "request_type": NULL_STR}})


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def token_json(t: BaitToken) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "type": t.bait_type, "status": t.status, "memo": t.memo,
            "seeded_at": iso(t.seeded_at), "seeded_location": t.seeded_location, "first_access": iso(t.first_access),
            "last_access": iso(t.last_access), "access_count": t.access_count, "expires_at": iso(t.expires_at),
            "created_at": iso(t.created_at)}


@resource("/bait/tokens", "GET", "bait:read", "Canary tokens", page_schema(TOKEN), tag="bait", query=PAGE_PARAMS)
def token_list(q: dict[str, Any], data: None) -> dict[str, Any]:
    """The organization's canary tokens with how often each was triggered, newest first."""
    stmt = sa.select(BaitToken).where(BaitToken.org_id == principal().org_id, BaitToken.deleted_at.is_(None))
    return paginate(stmt, BaitToken.id, q, token_json)


@resource("/bait/tokens/{token_id}/accesses", "GET", "bait:read", "A token's triggers", page_schema(ACCESS),
          tag="bait", query=PAGE_PARAMS)
def access_list(q: dict[str, Any], data: None, token_id: int) -> dict[str, Any]:
    """Every time the token was used, newest first (headers and bodies stay on the page)."""
    token = owned(BaitToken, token_id, "token")
    stmt = sa.select(BaitAccess).where(BaitAccess.org_id == token.org_id, BaitAccess.bait_id == token.id,
                                       BaitAccess.deleted_at.is_(None))
    return paginate(stmt, BaitAccess.id, q, lambda a: {
        "id": a.id, "accessed_at": iso(a.accessed_at), "source_ip": a.source_ip, "user_agent": a.user_agent,
        "request_type": a.request_type})
