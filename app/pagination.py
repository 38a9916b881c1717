"""The one pagination helper for every paginated list: the `page` query parameter is bounded
before it becomes an OFFSET, so a huge or negative page is a clear 422, not a database error
(PostgreSQL: bigint out of range) or a 500 (SQLite: the driver's OverflowError)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, request

# With at most a few hundred rows a page this keeps OFFSET far inside a 64-bit integer.
MAX_PAGE = 1_000_000
PAGE_MESSAGE = f"page must be a whole number from 1 to {MAX_PAGE:,}."


def parse_page(raw: str | None) -> int | None:
    """The page number in `raw` (missing or blank is page 1), or None when it is not a whole
    number from 1 to MAX_PAGE."""
    raw = (raw or "").strip() or "1"
    if not raw.isdecimal() or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        return None
    return int(raw)


def page_arg(args: Mapping[str, str] | None = None) -> int:
    """The request's page number; anything out of bounds ends the request with a 422 that says so."""
    page = parse_page(request.args.get("page") if args is None else args.get("page"))
    if page is None:
        abort(422, PAGE_MESSAGE)
    return page

