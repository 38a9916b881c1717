"""Batch reverse geocoding of an organization's networks (their strongest-signal position),
cache first, one provider request per uncached rounded position.

Like WiGLE enrichment, each answer is committed as it arrives and nothing is held open
during a request; the batch stops at the first quota or credential refusal and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.models import Network, Observation, db
from app.wireless.geocoding import GeocoderError, NoResult, Place, Provider, get_provider
from app.wireless.geocoding import cache as gc

SCAN_CHUNK = 500


@dataclass
class GeocodeReport:
    provider: str
    positions: int = 0
    geocoded: int = 0
    no_result: int = 0
    failed: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        message = (f"{self.provider}: {self.geocoded} position(s) geocoded, {self.no_result} without a place"
                   + (f", {self.failed} failed" if self.failed else "")
                   + (f"; stopped: {self.stopped}" if self.stopped else ""))
        return {"message": message, "provider": self.provider, "positions": self.positions,
                "geocoded": self.geocoded, "no_result": self.no_result, "failed": self.failed,
                "stopped": self.stopped, "errors": self.errors[:20]}


def position(network: Network) -> tuple[float, float] | None:
    """A network's best position (strongest sighting), else its last; None for 0,0."""
    for lat, lon in ((network.bestlat, network.bestlon), (network.lastlat, network.lastlon)):
        if lat and lon and -90 <= lat <= 90 and -180 <= lon <= 180:
            return float(lat), float(lon)
    return None


def _network_points(org_id: int, offset: int) -> list[tuple[float, float] | None]:
    stmt = (sa.select(Network).where(Network.org_id == org_id)
            .order_by(Network.threat_score_v2.desc().nulls_last(), Network.id).offset(offset).limit(SCAN_CHUNK))
    return [position(network) for network in db.session.scalars(stmt)]


def _sighting_points(org_id: int, offset: int) -> list[tuple[float, float] | None]:
    stmt = (sa.select(Observation.lat, Observation.lon).where(Observation.org_id == org_id)
            .order_by(Observation.time.desc(), Observation.id.desc()).offset(offset).limit(SCAN_CHUNK))
    return [(float(lat), float(lon)) if lat and lon else None for lat, lon in db.session.execute(stmt)]


SCOPES = {"networks": _network_points, "sightings": _sighting_points}


def uncached_positions(org_id: int, source: str, limit: int, scope: str = "networks") -> list[tuple[float, float]]:
    """Distinct rounded positions with no fresh answer: networks' best positions (highest
    threat first) or the organization's sightings (newest first)."""
    wanted: dict[tuple[int, int], tuple[float, float]] = {}
    offset = 0
    read = SCOPES[scope]
    while len(wanted) < limit:
        chunk = read(org_id, offset)
        if not chunk:
            break
        offset += SCAN_CHUNK
        points = {}
        for pos in chunk:
            if pos:
                points.setdefault((gc.key(pos[0]), gc.key(pos[1])), pos)
        done = gc.cached_keys(org_id, source, points)
        for k, pos in points.items():
            if k not in done and k not in wanted and len(wanted) < limit:
                wanted[k] = pos
    return list(wanted.values())


def reverse_cached(org_id: int, lat: float, lon: float, provider: Provider) -> Place | None:
    """One position through the cache; None when the provider knows no place there."""
    row = gc.lookup(org_id, provider.name, lat, lon)
    if row is None:
        try:
            place = provider.reverse(lat, lon)
        except NoResult:
            gc.remember(org_id, provider.name, lat, lon, None)
            return None
        row = gc.remember(org_id, provider.name, lat, lon, place)
    if not (row.address or row.venue_name):
        return None
    return Place(row.address, row.venue_name, row.venue_type, row.raw_response or {})


def geocode_networks(org_id: int, provider_name: str = "offline", *, limit: int = 200,
                     progress: Callable[[int, str], None] | None = None,
                     provider: Provider | None = None, scope: str = "networks") -> GeocodeReport:
    """Geocode up to `limit` uncached positions of `org_id` (networks or sightings) with one provider."""
    if scope not in SCOPES:
        raise GeocoderError(f"Unknown scope {scope!r}; use networks or sightings.")
    provider = provider or get_provider(provider_name, org_id)
    report = GeocodeReport(provider=provider.name)
    points = uncached_positions(org_id, provider.name, limit, scope)
    report.positions = len(points)
    db.session.commit()
    for index, (lat, lon) in enumerate(points):
        try:
            place = provider.reverse(lat, lon)
        except NoResult:
            gc.remember(org_id, provider.name, lat, lon, None)
            report.no_result += 1
        except GeocoderError as exc:
            report.errors.append(f"{lat:.4f},{lon:.4f}: {exc}")
            if exc.stops_batch:
                report.stopped = str(exc)
                break
            report.failed += 1
        else:
            gc.remember(org_id, provider.name, lat, lon, place)
            report.geocoded += 1
        db.session.commit()
        if progress:
            progress(int(100 * (index + 1) / max(1, len(points))), f"{index + 1}/{len(points)} positions")
    return report
