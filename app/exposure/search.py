"""Ghost search: one value of one type asked of every source, merged and recorded.

Each search writes a ghost_search_queries row (type, value, sources, per-source status,
result count, response time, the merged hits) and an audit row. A searched password is held
only in memory while the sources are asked: the row stores "(password not stored)", the
audit row says only that a password was searched, and the only thing that leaves Vigil is
its 5-hex SHA-1 prefix (Pwned Passwords).
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass

from app import audit
from app.exposure.parse import normalise_email
from app.exposure.providers import PROVIDERS
from app.exposure.providers.base import QUERY_TYPES, Context, Hit, Query, SourceResult, run_provider
from app.models import db, utcnow
from app.models.exposure import GhostSearchQuery

PASSWORD_PLACEHOLDER = "(password not stored)"
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PHONE = re.compile(r"^\+?[0-9]{6,15}$")


class InvalidQuery(ValueError):
    """The value is not a valid value of its type (message for the form)."""


@dataclass
class SearchOutcome:
    record: GhostSearchQuery
    sources: list[SourceResult]
    hits: list[Hit]


def normalise(qtype: str, value: str) -> str:
    """The value in the form sources expect, or InvalidQuery with the reason."""
    if qtype not in QUERY_TYPES:
        raise InvalidQuery("Choose what kind of value this is.")
    if qtype == "password":
        if not value or len(value) > 256:
            raise InvalidQuery("Enter a password of 1 to 256 characters.")
        return value
    value = value.strip()
    if not value or len(value) > 255:
        raise InvalidQuery("Enter a value of 1 to 255 characters.")
    if qtype == "email":
        email = normalise_email(value)
        if not email:
            raise InvalidQuery("Enter a valid e-mail address.")
        return email
    if qtype == "domain":
        domain = value.lower().lstrip("@").rstrip(".")
        if not DOMAIN.match(domain):
            raise InvalidQuery("Enter a domain name such as example.com.")
        return domain
    if qtype == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise InvalidQuery("Enter an IPv4 or IPv6 address.") from None
    if qtype == "phone":
        digits = re.sub(r"[\s().-]", "", value)
        if not PHONE.match(digits):
            raise InvalidQuery("Enter a phone number in international form, e.g. +61412345678.")
        return digits
    if qtype == "username" and any(c.isspace() for c in value):
        raise InvalidQuery("A username has no spaces.")
    return value


def merge(results: list[SourceResult]) -> list[Hit]:
    """All hits, one per (source, kind, title, detail): a breach named twice by a source counts once."""
    seen: set[tuple] = set()
    merged: list[Hit] = []
    for result in results:
        for hit in result.hits:
            key = (hit.source, hit.kind, hit.title.lower(), (hit.detail or "").lower())
            if key not in seen:
                seen.add(key)
                merged.append(hit)
    return merged


def run(org_id: int, user_id: int | None, qtype: str, value: str, sources: list[str] | None = None) -> SearchOutcome:
    """Ask the chosen sources (default: all), record the search and audit it (caller commits)."""
    query = Query(qtype, normalise(qtype, value))
    chosen = [PROVIDERS[k] for k in (sources or list(PROVIDERS)) if k in PROVIDERS]
    started = time.monotonic()
    ctx = Context(org_id)
    results = [run_provider(ctx, provider, query) for provider in chosen]
    hits = merge(results)
    shown = PASSWORD_PLACEHOLDER if qtype == "password" else query.value
    record = GhostSearchQuery(
        org_id=org_id, user_id=user_id, query_type=qtype, query_value=shown, results_count=len(hits),
        search_sources=[p.key for p in chosen],
        source_status={r.source: {"status": r.status, "message": r.message, "hits": len(r.hits), "ms": r.ms}
                       for r in results},
        results=[h.as_dict() for h in hits], response_time_ms=int((time.monotonic() - started) * 1000),
        searched_at=utcnow())
    db.session.add(record)
    db.session.flush()
    audit.record("exposure.search", resource_type="ghost_search_query", resource_id=record.id, org_id=org_id,
                 details={"type": qtype, "value": shown, "results": len(hits),
                          "statuses": {r.source: r.status for r in results}})
    return SearchOutcome(record, results, hits)
