"""Threat intelligence around the indicator store: the sighting of an indicator on a security
event, and saving a parsed import (new indicators, renewals, rejections).

The store itself (normalising values, adding and renewing indicators, decayed confidence,
address lookup) is the indicators engine's app/indicators/store.py, so other domains (a canary
hit, a scan) use it without importing threats; its names stay importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.indicators.store import (  # noqa: F401 - the store's names, kept importable from here
    DOMAIN_RE,
    EMAIL_RE,
    HALF_LIFE_DAYS,
    IndicatorError,
    active_filter,
    add_indicator,
    benign_reason,
    effective_confidence,
    match_ip,
    normalise,
)
from app.indicators.values import address_hex  # noqa: F401 - importable from here, as before
from app.jobs import enqueue
from app.models import IocSighting, SecurityEvent, ThreatIntelligence, db, utcnow


@dataclass
class Rejection:
    """A candidate indicator refused by an import (or by the allowlist when saving): its row and why."""

    row: str
    reason: str


def record_sighting(ioc: ThreatIntelligence, event: SecurityEvent, value: str) -> IocSighting | None:
    """The sighting of `ioc` on a security event. Matching itself happens when the event is
    flushed (the ingest listener of app/indicators/matching.py, which records it once, for
    every kind of indicator); this flushes and returns that sighting."""
    db.session.flush()
    return db.session.scalar(sa.select(IocSighting).where(
        IocSighting.intel_id == ioc.id, IocSighting.source == "security_event",
        IocSighting.object_id == str(event.id)))


def save_parsed(org_id: int, parsed) -> dict[str, int]:
    """Save a parsed import (importers.ParseResult): new indicators, renewals of existing ones,
    and values repeated within the file (counted as duplicates, saved once).

    Allowlisted values become rejections. Returns the counts; the caller commits.
    """
    counts = {"read": parsed.read, "imported": 0, "updated": 0, "duplicates": 0, "rejected": len(parsed.rejections)}
    seen: set[tuple[str, str]] = set()
    started = utcnow()
    for item in parsed.indicators:
        # A value repeated inside one file is a duplicate of that file, not an update of an
        # indicator: a first import of a bundle must not report "updated".
        try:
            canonical, start, _ = normalise(item.indicator_type, item.value)
        except IndicatorError:
            canonical, start = item.value, None  # add_indicator rejects it below, with the reason
        key = ("address" if start else item.indicator_type, canonical)
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        try:
            _, created = add_indicator(
                org_id, item.indicator_type, item.value, hunt=False, severity=item.severity, confidence=item.confidence,
                tlp=item.tlp, source=item.source, threat_type=item.threat_type,
                description=item.description, expires_at=item.expires_at, first_seen=item.first_seen,
            )
        except IndicatorError as exc:
            parsed.rejections.append(Rejection(item.row, str(exc)))
            counts["rejected"] += 1
            continue
        counts["imported" if created else "updated"] += 1
    if counts["imported"]:
        enqueue("threats.retro_hunt", org_id=org_id, created_since=started.isoformat())
    return counts
