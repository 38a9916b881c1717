"""Cursor pagination for registered list resources: newest first, keyset on id.

The cursor is opaque to clients (URL-safe base64 of the last id with a version tag), so the
order can change later without breaking them; a cursor that does not decode is a 422.
Keyset on the primary key means no duplicates or gaps while rows are added between pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from app.apiregistry.validation import invalid
from app.core.hygiene import INT_MAX
from app.models import db

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
BIG_ID = 2**63 - 1

LIMIT = {"name": "limit", "in": "query", "description": f"items per page, 1 to {MAX_LIMIT}",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}
CURSOR = {"name": "cursor", "in": "query",
          "description": "`next_cursor` of the previous page (opaque); any other value is refused with 422",
          "schema": {"type": "string", "maxLength": 64}}
PAGE_PARAMS = (LIMIT, CURSOR)


def page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": item},
        "next_cursor": {"type": ["string", "null"], "description": "absent (null) on the last page"}}}


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, number = text.partition(":")
        value = int(number) if tag == "v1" and number.isdigit() and len(number) <= 19 else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = -1
    if not 0 < value <= BIG_ID:
        invalid("cursor", "is not a cursor this API issued")
    return value


def paginate(stmt: sa.Select, id_column: Any, q: dict[str, Any],
             serialize: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of `stmt` (already scoped to the organization), newest id first; `q` is the
    parsed query (its `limit` and `cursor`)."""
    limit, cursor = q.get("limit") or DEFAULT_LIMIT, q.get("cursor")
    if cursor is not None:
        before = decode(cursor)
        # An INTEGER id column holds nothing past INT_MAX: every row is before such a cursor
        # (and the database would refuse the comparison).
        if before <= INT_MAX or isinstance(id_column.type, sa.BigInteger):
            stmt = stmt.where(id_column < before)
    rows = db.session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows], "next_cursor": encode(rows[-1].id) if more and rows else None}

