"""Indicators everywhere: a registry of the places where a kind of value appears in Vigil,
and the one matcher that turns a value seen there into a sighting on every indicator it hits.

A domain registers a `Place` from its own package (see app/fleet/intel_places.py): which
value kinds it carries ("ip", "domain", "url", "email", "hash"), how to read them from a
row (`extract`, used on ingest), and how to list them for an organization (`find`, used by
the retro-hunt and the entity page). Matching then runs:

- on ingest: a SQLAlchemy flush listener sees new rows of a place's model, or rows whose
  watched attributes changed, and matches their values in the same transaction;
- when an indicator arrives: `retro_hunt(intel_id)` (the `threats.retro_hunt` job) walks
  every place's values of the last RETRO_HUNT_DAYS days.

A match is one `ioc_sightings` row per (indicator, place, object, value): seeing the same
value on the same object again does not add another. New sightings are handed to the
functions registered with `on_sighting` (the alert engine's "indicator sighting" rule
subscribes there) once they are flushed and have ids, inside the same transaction.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.indicators.values import HASH_LENGTHS, address_hex, covering_starts
from app.models import IocSighting, ThreatIntelligence, db, utcnow
from app.permissions import can

KINDS = ("ip", "domain", "url", "email", "hash")
HASH_TYPES = tuple(HASH_LENGTHS)
RETRO_HUNT_DAYS = 30
STASH_KEY = "vigil_intel_pending"
UNPUBLISHED_KEY = "vigil_intel_unpublished"


@dataclass(frozen=True)
class Occurrence:
    """One value seen on one object of a place."""

    org_id: int
    kind: str
    value: str
    object_id: str
    label: str
    observed_at: datetime


@dataclass(frozen=True)
class Place:
    name: str
    label: str
    kinds: tuple[str, ...]
    permission: str
    # (org_id, since, kind or None, exact value or None) -> occurrences, newest first
    find: Callable[[int, datetime, str | None, str | None], list[Occurrence]]
    link: Callable[[str, str], str | None]  # (object_id, value) -> URL of the object
    model: type | None = None
    watch: tuple[str, ...] = ()
    extract: Callable[[Any], list[Occurrence]] | None = None
    # (org_id, since, kind) -> distinct values: for large places, so a hunt never loads every row
    values: Callable[[int, datetime, str], set[str]] | None = None


PLACES: dict[str, Place] = {}
SUBSCRIBERS: list[Callable[[list[IocSighting]], None]] = []


def register_place(place: Place) -> Place:
    """Register (or replace) where a kind of value appears; see the module docstring."""
    unknown = set(place.kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown value kinds {sorted(unknown)}")
    PLACES[place.name] = place
    return place


def on_sighting(func: Callable[[list[IocSighting]], None]) -> Callable[[list[IocSighting]], None]:
    """Call `func(sightings)` with each batch of new sightings, inside their transaction."""
    if func not in SUBSCRIBERS:
        SUBSCRIBERS.append(func)
    return func


# Values -----------------------------------------------------------------------------------

def canonical(kind: str, value: str | None) -> str | None:
    """The value as indicators store it, or None when it is not a value of that kind."""
    value = (value or "").strip()
    if not value:
        return None
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    if kind == "domain":
        value = value.lower().rstrip(".")
        return value if "." in value and " " not in value else None
    if kind == "email":
        value = value.lower()
        return value if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else None
    if kind == "url":
        return value if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I) else None
    if kind == "hash":
        value = value.lower()
        return value if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", value) else None
    return None


def host_of(url: str) -> str | None:
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.lower()).split("/")[0].split("@")[-1].split(":")[0]
    return host or None


def parent_domains(domain: str) -> list[str]:
    """a.b.example.com -> itself, b.example.com, example.com (an indicator covers its subdomains)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _active(now: datetime):
    return sa.and_(ThreatIntelligence.is_active.is_(True),
                   sa.or_(ThreatIntelligence.expires_at.is_(None), ThreatIntelligence.expires_at > now))


def indicators_for(org_id: int, kind: str, value: str, session: Session | None = None) -> list[ThreatIntelligence]:
    """Every active indicator of the organization that `value` (of `kind`) matches."""
    session = session or db.session
    now = utcnow()
    base = sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == org_id, _active(now))
    if kind == "ip":
        address = ipaddress.ip_address(value)
        stmt = base.where(ThreatIntelligence.range_start.in_(covering_starts(address)),
                          ThreatIntelligence.range_end >= address_hex(address))
        return list(session.scalars(stmt))
    conditions = []
    if kind in ("domain", "email"):
        # A domain indicator covers its subdomains and the e-mail addresses at them. (A URL's
        # host is matched as its own "domain" occurrence: places that carry URLs emit both.)
        host = value if kind == "domain" else value.split("@")[-1]
        if host:
            conditions.append(sa.and_(ThreatIntelligence.indicator_type == "domain",
                                      ThreatIntelligence.indicator_value.in_(parent_domains(host))))
    if kind in ("url", "email"):
        conditions.append(sa.and_(ThreatIntelligence.indicator_type == kind, ThreatIntelligence.indicator_value == value))
    if kind == "hash":
        conditions.append(sa.and_(ThreatIntelligence.indicator_type.in_(HASH_TYPES),
                                  ThreatIntelligence.indicator_value == value))
    if not conditions:
        return []
    return list(session.scalars(base.where(sa.or_(*conditions))))


def indicator_matches(ioc: ThreatIntelligence, kind: str, value: str) -> bool:
    """Does `value` hit this one indicator? (The retro-hunt's test, without a query.)"""
    itype = ioc.indicator_type
    if itype in ("ip", "cidr"):
        if kind != "ip":
            return False
        key = address_hex(ipaddress.ip_address(value))
        return (ioc.range_start or "") <= key <= (ioc.range_end or "")
    if itype == "domain" and kind in ("domain", "email"):
        host = value if kind == "domain" else value.split("@")[-1]
        return ioc.indicator_value in parent_domains(host)
    if itype in HASH_TYPES:
        return kind == "hash" and value == ioc.indicator_value
    return itype == kind and value == ioc.indicator_value


def kinds_of(ioc: ThreatIntelligence) -> tuple[str, ...]:
    """The value kinds that can hit an indicator of this type."""
    itype = ioc.indicator_type
    if itype in ("ip", "cidr"):
        return ("ip",)
    if itype == "domain":
        return ("domain", "email")
    if itype in HASH_TYPES:
        return ("hash",)
    return (itype,)


# Recording --------------------------------------------------------------------------------

def record(place: Place, occurrence: Occurrence, ioc: ThreatIntelligence, matched_by: str,
           seen: set[tuple] | None = None, session: Session | None = None) -> IocSighting | None:
    """A sighting of `ioc` at this occurrence, unless the same one is already recorded."""
    session = session or db.session
    key = (ioc.id, place.name, occurrence.object_id, occurrence.value)
    if seen is not None:
        if key in seen:
            return None
        seen.add(key)
    exists = session.scalar(sa.select(IocSighting.id).where(
        IocSighting.intel_id == ioc.id, IocSighting.source == place.name,
        IocSighting.object_id == occurrence.object_id, IocSighting.observed_value == occurrence.value))
    if exists is not None:
        return None
    now = utcnow()
    ioc.sighting_count = (ioc.sighting_count or 0) + 1
    ioc.last_sighting_at = now
    ioc.last_seen = now  # a sighting renews the indicator (its confidence decay restarts)
    sighting = IocSighting(
        org_id=ioc.org_id, intel_id=ioc.id, source=place.name, object_id=occurrence.object_id,
        object_label=occurrence.label[:300], observed_value=occurrence.value[:500],
        observed_at=occurrence.observed_at, matched_by=matched_by,
        # Kept for the security-event join the indicator page and metrics already use.
        security_event_id=int(occurrence.object_id) if place.name == "security_event" else None,
    )
    session.add(sighting)
    return sighting


def match(place: Place, occurrences: list[Occurrence], matched_by: str = "ingest",
          session: Session | None = None) -> list[IocSighting]:
    """Match occurrences of one place against their organizations' indicators (in `session`,
    the one whose flush found them; the app's session by default)."""
    new, seen = [], set()
    for occ in occurrences:
        for ioc in indicators_for(occ.org_id, occ.kind, occ.value, session):
            sighting = record(place, occ, ioc, matched_by, seen, session)
            if sighting is not None:
                new.append(sighting)
    return new


def publish(sightings: list[IocSighting]) -> None:
    if not sightings:
        return
    db.session.flush()
    for func in SUBSCRIBERS:
        func(sightings)


def place_values(place: Place, org_id: int, since: datetime, kind: str) -> set[str]:
    """The distinct values of `kind` a place holds since `since` (its own `values` query when
    it has one, else read from its occurrences)."""
    if place.values is not None:
        return set(place.values(org_id, since, kind))
    return {occ.value for occ in place.find(org_id, since, kind, None)}


def _hunt(org_id: int, since: datetime, hits_of: Callable[[str, str], list[ThreatIntelligence]]) -> int:
    """Two passes per place and kind: its distinct values, matched; then, for each value that
    hits, its occurrences (an indexed exact lookup) become sightings. No scan is capped."""
    new, seen = [], set()
    for place in PLACES.values():
        for kind in place.kinds:
            for value in place_values(place, org_id, since, kind):
                hits = hits_of(kind, value)
                if not hits:
                    continue
                for occ in place.find(org_id, since, kind, value):
                    for ioc in hits:
                        sighting = record(place, occ, ioc, "retro_hunt", seen)
                        if sighting is not None:
                            new.append(sighting)
    publish(new)
    return len(new)


def retro_hunt(intel_id: int, days: int = RETRO_HUNT_DAYS) -> int:
    """Look for one indicator in every place's values of the last `days` days; returns the
    number of new sightings (already-recorded ones are not counted again)."""
    ioc = db.session.get(ThreatIntelligence, intel_id)
    if ioc is None or not ioc.is_active:
        return 0
    kinds = kinds_of(ioc)
    return _hunt(ioc.org_id, utcnow() - timedelta(days=days),
                 lambda kind, value: [ioc] if kind in kinds and indicator_matches(ioc, kind, value) else [])


def retro_hunt_new(org_id: int, created_since: datetime, days: int = RETRO_HUNT_DAYS) -> int:
    """Look for every indicator created since `created_since` (an import) in the values of
    the last `days` days: one indexed indicator lookup per distinct value, not one scan
    per indicator. Returns the number of new sightings."""
    return _hunt(org_id, utcnow() - timedelta(days=days),
                 lambda kind, value: [i for i in indicators_for(org_id, kind, value)
                                      if i.created_at is not None and i.created_at >= created_since])


def appearances(org_id: int, kind: str, value: str, user=None, days: int = 3650) -> list[tuple[Place, Occurrence]]:
    """Everywhere `value` appears in the organization, newest first, limited to the places
    `user` may see (all when user is None)."""
    since = utcnow() - timedelta(days=days)
    found = []
    for place in PLACES.values():
        if kind not in place.kinds or (user is not None and not can(place.permission, user)):
            continue
        found += [(place, occ) for occ in place.find(org_id, since, kind, value)]
    return sorted(found, key=lambda pair: pair[1].observed_at, reverse=True)


# On ingest --------------------------------------------------------------------------------

def _changed(obj: Any, attributes: tuple[str, ...]) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attributes)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    watched = [p for p in PLACES.values() if p.model is not None and p.extract is not None]
    if not watched:
        return
    pending = session.info.setdefault(STASH_KEY, [])
    for obj in session.new:
        pending += [(p, obj) for p in watched if isinstance(obj, p.model)]
    for obj in session.dirty:
        pending += [(p, obj) for p in watched if isinstance(obj, p.model) and _changed(obj, p.watch)]


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(STASH_KEY, None)
    session.info.pop(UNPUBLISHED_KEY, None)


@event.listens_for(Session, "after_flush_postexec")
def _match_pending(session: Session, _context) -> None:
    # Sightings recorded by the previous pass were written by this flush: publish them now
    # that they have ids. (A commit flushes again while the session has new rows.)
    unpublished = session.info.pop(UNPUBLISHED_KEY, [])
    ready = [s for s in unpublished if s.id is not None]
    if len(ready) < len(unpublished):
        session.info[UNPUBLISHED_KEY] = [s for s in unpublished if s.id is None]
    if ready:
        for func in SUBSCRIBERS:
            func(ready)
    pending = session.info.pop(STASH_KEY, None)
    if not pending:
        return
    new: list[IocSighting] = []
    with session.no_autoflush:
        for place, obj in pending:
            occurrences = [o for o in place.extract(obj) if o.org_id is not None]
            if occurrences:
                new += match(place, occurrences, "ingest", session)
    if new:
        session.info.setdefault(UNPUBLISHED_KEY, []).extend(new)


def describe(sighting: IocSighting) -> dict[str, Any]:
    """A sighting as a page shows it: where (the place's label), what, when, and its link."""
    place = PLACES.get(sighting.source)
    url = place.link(sighting.object_id, sighting.observed_value) if place and sighting.object_id else None
    return {"sighting": sighting, "where": place.label if place else sighting.source, "label": sighting.object_label,
            "value": sighting.observed_value, "when": sighting.observed_at, "url": url}
