"""The one pagination helper for every paginated list: the `page` query parameter is bounded
before it becomes an OFFSET, so a huge or negative page is a clear 422, not a database error
(PostgreSQL: bigint out of range) or a 500 (SQLite: the driver's OverflowError)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask import abort, request

from app.models import db

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



# A first page must not cost more as a table grows: counting every row of a large
# organization's audit log or indicator list costs as much as reading them, and "more than
# 10,000" is all a person paging a table needs (the explorer does the same).
COUNT_CAP = 10_000


class CappedPage:
    """One page of a query with its row count capped at `cap`: the attributes the shared
    `pager` macro and the templates read from Flask-SQLAlchemy's Pagination (items, page,
    per_page, total, pages, has_prev/has_next, prev_num/next_num, iteration), plus `capped`."""

    def __init__(self, items: list, page: int, per_page: int, total: int, capped: bool, has_next: bool) -> None:
        self.items, self.page, self.per_page = items, page, per_page
        self.total, self.capped, self.has_next = total, capped, has_next

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def __iter__(self):
        return iter(self.items)


def paginate_capped(stmt: sa.Select, page: int, per_page: int = 50, cap: int | None = None,
                    key: sa.ColumnElement | None = None) -> CappedPage:
    """Page `page` of `stmt` (an ORDER BY'ed select of one entity) in at most two bounded
    queries: per_page + 1 rows (so "next" is known without the count) and, unless that was
    the last page, a count that stops at cap + 1.

    With `key` (the entity's primary key), the page's keys are chosen first, alone, then its
    rows read by key. PostgreSQL otherwise walks the primary key backwards for
    "WHERE org_id = ? ORDER BY id DESC LIMIT 51", skipping every row of the organizations
    written since (measured: 1 s for a small organization under a 1,000,000-row neighbour);
    for the keys alone it reads the (org_id, id) index instead."""
    cap = COUNT_CAP if cap is None else cap
    window = stmt.offset((page - 1) * per_page).limit(per_page + 1)
    if key is not None:
        keys = window.with_only_columns(key, maintain_column_froms=True).subquery()
        window = stmt.where(key.in_(sa.select(*keys.c)))
    items = list(db.session.scalars(window))
    has_next = len(items) > per_page
    items = items[:per_page]
    if not has_next and (items or page == 1):  # the last page: the total is known without counting
        return CappedPage(items, page, per_page, (page - 1) * per_page + len(items), False, False)
    inner = stmt.order_by(None).with_only_columns(sa.literal(1), maintain_column_froms=True).limit(cap + 1)
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(inner.subquery())) or 0
    # A page past the cap still knows the rows it read: never show fewer than that.
    total = max(min(counted, cap), (page - 1) * per_page + len(items) if items else 0)
    return CappedPage(items, page, per_page, total, counted > cap, has_next)
