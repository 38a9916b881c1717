"""The per-organization geocoding cache: one answer per provider and position rounded to
4 decimals (about 11 m), kept for `wireless.geocode_cache_days`. A "nothing here" answer is
cached too, so the batch does not ask again for open country.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.settings_registry import get_setting
from app.models import GeocodingCache, db, utcnow
from app.wireless.geocoding.base import Place

SCALE = 10_000


def key(value: float) -> int:
    """Round half up at 4 decimals, the same way everywhere (Python's round() is half-even)."""
    return math.floor(value * SCALE + 0.5)


def expiry(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=int(get_setting("wireless.geocode_cache_days")))


def _fresh(now: datetime):
    return sa.or_(GeocodingCache.expires_at.is_(None), GeocodingCache.expires_at > now)


def lookup(org_id: int, source: str, lat: float, lon: float, now: datetime | None = None) -> GeocodingCache | None:
    """The unexpired cached answer for this position, if any."""
    return db.session.scalar(sa.select(GeocodingCache).where(
        GeocodingCache.org_id == org_id, GeocodingCache.source == source,
        GeocodingCache.lat_key == key(lat), GeocodingCache.lon_key == key(lon), _fresh(now or utcnow())))


def best_place(org_id: int, lat: float, lon: float) -> GeocodingCache | None:
    """The newest unexpired answer with a name for this position, from any provider (the network
    page shows it; nothing is asked of a provider while a page renders)."""
    return db.session.scalar(sa.select(GeocodingCache).where(
        GeocodingCache.org_id == org_id, GeocodingCache.lat_key == key(lat), GeocodingCache.lon_key == key(lon),
        sa.or_(GeocodingCache.address.is_not(None), GeocodingCache.venue_name.is_not(None)), _fresh(utcnow()))
        .order_by(GeocodingCache.cached_at.desc()).limit(1))


def cached_keys(org_id: int, source: str, keys: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (lat_key, lon_key) pairs already have an unexpired answer."""
    keys = set(keys)
    if not keys:
        return set()
    lat_keys = {k[0] for k in keys}
    rows = db.session.execute(sa.select(GeocodingCache.lat_key, GeocodingCache.lon_key).where(
        GeocodingCache.org_id == org_id, GeocodingCache.source == source,
        GeocodingCache.lat_key.in_(lat_keys), _fresh(utcnow())))
    return {(a, b) for a, b in rows} & keys


def remember(org_id: int, source: str, lat: float, lon: float, place: Place | None,
             raw: dict | None = None) -> GeocodingCache:
    """Store (or replace an expired) answer; `place=None` caches "no result"."""
    row = db.session.scalar(sa.select(GeocodingCache).where(
        GeocodingCache.org_id == org_id, GeocodingCache.source == source,
        GeocodingCache.lat_key == key(lat), GeocodingCache.lon_key == key(lon)))
    if row is None:
        row = GeocodingCache(org_id=org_id, source=source, lat_key=key(lat), lon_key=key(lon))
        db.session.add(row)
    row.lat, row.lon = lat, lon
    row.address = place.address if place else None
    row.venue_name = (place.venue_name or None) if place else None
    row.venue_type = (place.venue_type or None) if place else None
    if row.venue_name:
        row.venue_name = row.venue_name[:255]
    if row.venue_type:
        row.venue_type = row.venue_type[:100]
    row.raw_response = place.raw if place else (raw or {"no_result": True})
    row.cached_at = utcnow()
    row.expires_at = expiry(row.cached_at)
    db.session.flush()
    return row
