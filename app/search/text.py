"""The one "contains" match every search provider uses, per database.

PostgreSQL: `ILIKE '%term%'`, which the pg_trgm GIN indexes of migration 0022 serve, ranked
by trigram `similarity()`. SQLite: a plain `LIKE` (case-insensitive for ASCII there), ranked
by the shorter value first. `SEARCH_MODE` in the app config ("auto", "trigram", "like")
forces a path, so the tests run both paths on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.models import db

MIN_TERM = 2
MAX_TERM = 100


def mode() -> str:
    """"trigram" on PostgreSQL, "like" elsewhere, unless SEARCH_MODE forces one."""
    forced = current_app.config.get("SEARCH_MODE", "auto")
    if forced in ("trigram", "like"):
        return forced
    return "trigram" if db.engine.dialect.name == "postgresql" else "like"


def clean(term: str | None) -> str:
    """The term as searched: trimmed and capped; empty when too short to search."""
    term = " ".join((term or "").split())[:MAX_TERM]
    return term if len(term) >= MIN_TERM else ""


def pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: Any, term: str) -> sa.ColumnElement[bool]:
    """`column` contains `term`, case-insensitively, wildcards in the term taken literally."""
    if mode() == "trigram":
        return column.ilike(pattern(term), escape="\\")
    return sa.func.lower(column).like(pattern(term.lower()), escape="\\")


def any_contains(columns: list[Any], term: str) -> sa.ColumnElement[bool]:
    return sa.or_(*(contains(c, term) for c in columns))


def rank(column: Any, term: str) -> Any:
    """An ORDER BY key: best match first."""
    if mode() == "trigram":
        return sa.func.similarity(column, term).desc()
    return sa.func.length(column)
