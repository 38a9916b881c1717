"""An organization's places and paths: location markers (one home with a radius, any
number of others), device sources, and routes built from a source's sightings.

Setting a home never leaves two: the old home is demoted in the same transaction (the
partial unique index `uq_location_markers_one_home` is the database's own guarantee).
Every change is audited here; callers commit. Home and markers feed scoring, so a change
marks the organization's networks for rescore.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.models import db
from app.models.wireless import DeviceSource, LocationMarker, Network, Observation, Route
from app.wireless.geo import haversine_m, valid_point

MAX_RADIUS_KM = 50.0
ROUTE_MIN_STEP_M = 25.0  # path points closer than this to the previous one are dropped
ROUTE_MAX_POINTS = 5000


class PlaceError(ValueError):
    """A value a place cannot have (the message is for the user)."""


def check_position(lat: Any, lon: Any, radius_km: Any = None) -> tuple[float, float, float | None]:
    """Validated (lat, lon, radius_km) or PlaceError naming what is wrong."""
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise PlaceError("Latitude and longitude must be numbers.") from None
    if not valid_point(lat_f, lon_f):
        raise PlaceError("Latitude must be from -90 to 90 and longitude from -180 to 180 (and not 0, 0).")
    radius = None
    if radius_km not in (None, ""):
        try:
            radius = float(radius_km)
        except (TypeError, ValueError):
            raise PlaceError("The radius must be a number of kilometres.") from None
        if not (math.isfinite(radius) and 0 < radius <= MAX_RADIUS_KM):
            raise PlaceError(f"The radius must be more than 0 and at most {MAX_RADIUS_KM:g} km.")
    return lat_f, lon_f, radius


def home_of(org_id: int) -> LocationMarker | None:
    return db.session.scalar(sa.select(LocationMarker).where(LocationMarker.org_id == org_id,
                                                             LocationMarker.is_home.is_(True)))


def _mark_dirty(org_id: int) -> None:
    db.session.execute(sa.update(Network).where(Network.org_id == org_id).values(needs_rescore=True)
                       .execution_options(synchronize_session=False))


def set_home(org_id: int, lat: Any, lon: Any, radius_km: Any = 0.5, name: str = "Home",
             actor_id: int | None = None, **audit_kw: Any) -> LocationMarker:
    """Make (lat, lon) the organization's one home, replacing any previous home."""
    lat_f, lon_f, radius = check_position(lat, lon, radius_km if radius_km not in (None, "") else 0.5)
    old = home_of(org_id)
    before = {"lat": old.lat, "lon": old.lon, "radius_km": old.radius_km} if old else None
    if old is not None:
        db.session.delete(old)
        db.session.flush()  # the partial unique index allows one home at a time
    home = LocationMarker(org_id=org_id, name=(name or "Home")[:200], lat=lat_f, lon=lon_f, is_home=True,
                          radius_km=radius, icon="house", color="#198754", created_by_id=actor_id)
    db.session.add(home)
    db.session.flush()
    if before != {"lat": lat_f, "lon": lon_f, "radius_km": radius}:
        # Home moved (or its radius changed): every network's home factors and parked
        # weight are measured from it, so all of the organization's are due; the same home
        # saved again changes no score and marks none.
        _mark_dirty(org_id)
    audit.record("wireless.home_set", resource_type="location_marker", resource_id=home.id, org_id=org_id,
                 old=before, new={"lat": lat_f, "lon": lon_f, "radius_km": radius}, **audit_kw)
    return home


def add_marker(org_id: int, name: str, lat: Any, lon: Any, description: str | None = None,
               color: str = "#3b82f6", actor_id: int | None = None) -> LocationMarker:
    """A named non-home place (work, a gym, a suspicious car park)."""
    lat_f, lon_f, _ = check_position(lat, lon)
    marker = LocationMarker(org_id=org_id, name=name[:200], lat=lat_f, lon=lon_f, description=description or None,
                            color=color, created_by_id=actor_id)
    db.session.add(marker)
    db.session.flush()
    audit.record("wireless.marker_added", resource_type="location_marker", resource_id=marker.id,
                 new={"name": marker.name, "lat": lat_f, "lon": lon_f})
    return marker


def delete_marker(marker: LocationMarker) -> None:
    """Remove a marker (a removed home makes every network due for rescore)."""
    if marker.is_home:
        _mark_dirty(marker.org_id)
    audit.record("wireless.marker_deleted", resource_type="location_marker", resource_id=marker.id,
                 old={"name": marker.name, "lat": marker.lat, "lon": marker.lon, "is_home": marker.is_home})
    db.session.delete(marker)
    db.session.flush()


def save_source(org_id: int, values: dict[str, Any], source: DeviceSource | None = None) -> DeviceSource:
    """Create or edit a device source; the code stays unique per organization."""
    clash = db.session.scalar(sa.select(DeviceSource.id).where(DeviceSource.org_id == org_id,
                                                               DeviceSource.code == values["code"]))
    if clash is not None and (source is None or clash != source.id):
        raise PlaceError(f"Another source already has the code {values['code']!r}.")
    if source is None:
        source = DeviceSource(org_id=org_id, **values)
        db.session.add(source)
        db.session.flush()
        audit.record("wireless.source_added", resource_type="device_source", resource_id=source.id, new=values)
        return source
    old = {k: getattr(source, k) for k in values}
    for k, v in values.items():
        setattr(source, k, v)
    db.session.flush()
    audit.record("wireless.source_edited", resource_type="device_source", resource_id=source.id,
                 **dict(zip(("old", "new"), audit.changes(old, values), strict=True)))
    return source


# ---------------------------------------------------------------- routes


def build_route(org_id: int, source: DeviceSource, start: datetime, end: datetime, name: str | None = None,
                actor_id: int | None = None, **audit_kw: Any) -> Route:
    """A route from the source's sightings between start and end: one point per scan
    position (sightings of many radios share the sensor's fix), thinned to points at
    least ROUTE_MIN_STEP_M apart; distance is the sum of haversine steps."""
    if end <= start:
        raise PlaceError("The end of the window must be after its start.")
    rows = db.session.execute(
        sa.select(Observation.time, Observation.lat, Observation.lon)
        .where(Observation.org_id == org_id, Observation.source_id == source.id,
               Observation.time >= start, Observation.time <= end)
        .distinct().order_by(Observation.time)
        .execution_options(yield_per=5000)
    )
    path: list[list[float]] = []
    distance_m = 0.0
    count = 0
    first = last = None
    prev: tuple[float, float] | None = None
    for when, lat, lon in rows:
        if not valid_point(lat, lon):
            continue
        count += 1
        first = first or when
        last = when
        if prev is None:
            path.append([round(lat, 6), round(lon, 6)])
            prev = (lat, lon)
            continue
        step = haversine_m(prev[0], prev[1], lat, lon)
        if step >= ROUTE_MIN_STEP_M:
            distance_m += step
            path.append([round(lat, 6), round(lon, 6)])
            prev = (lat, lon)
    if count < 2:
        raise PlaceError(f"{source.name} has fewer than two sightings with a position in that window.")
    if len(path) > ROUTE_MAX_POINTS:
        stride = math.ceil(len(path) / ROUTE_MAX_POINTS)
        path = path[::stride] + ([path[-1]] if (len(path) - 1) % stride else [])
    route = Route(org_id=org_id, name=(name or f"{source.name} {first:%Y-%m-%d %H:%M}")[:200], source_id=source.id,
                  path=path, distance_km=round(distance_m / 1000.0, 3),
                  duration_seconds=int((last - first).total_seconds()), point_count=count,
                  recorded_at=first, ended_at=last, created_by_id=actor_id)
    db.session.add(route)
    db.session.flush()
    audit.record("wireless.route_built", resource_type="route", resource_id=route.id, org_id=org_id,
                 new={"source": source.code, "start": start.isoformat(), "end": end.isoformat(),
                      "points": count, "distance_km": route.distance_km}, **audit_kw)
    return route


def routes_points(route: Route) -> list[tuple[float, float]]:
    """The route's ordered (lat, lon) points, first to last (what the map draws)."""
    return [(float(p[0]), float(p[1])) for p in route.path or []]


def delete_route(route: Route) -> None:
    audit.record("wireless.route_deleted", resource_type="route", resource_id=route.id,
                 old={"name": route.name, "distance_km": route.distance_km})
    db.session.delete(route)
    db.session.flush()


# ---------------------------------------------------------------- learned places

TRACK_BUCKET_MS = 5 * 60 * 1000  # one averaged position per five minutes of the person's scans
TRACK_DAYS = 60


def own_track(org_id: int, now_ms: int, max_accuracy_m: float) -> list[tuple[float, float, float]]:
    """The person's own positions over the last TRACK_DAYS: (epoch seconds, lat, lon), one per bucket.

    Every sighting is where the person's phone was, whatever it heard, so the average
    position of all sightings in a five-minute bucket is where they were; that is what
    app/wireless/scoring_places.py learns their frequent places from.
    """
    bucket = (Observation.time_ms // TRACK_BUCKET_MS).label("bucket")
    rows = db.session.execute(
        sa.select(bucket, sa.func.avg(Observation.lat), sa.func.avg(Observation.lon))
        .where(Observation.org_id == org_id, Observation.time_unknown.is_(False),
               Observation.time_ms >= now_ms - TRACK_DAYS * 86_400_000,
               sa.or_(Observation.accuracy.is_(None), Observation.accuracy <= max_accuracy_m),
               sa.not_(sa.and_(Observation.lat == 0, Observation.lon == 0)))
        .group_by(bucket).order_by(bucket))
    return [(int(b) * TRACK_BUCKET_MS / 1000.0, float(lat), float(lon)) for b, lat, lon in rows
            if lat is not None and lon is not None]
