"""Small geodesy helpers for wireless scoring: distances, bearings, boxes, distinct places.

Everything is WGS84 degrees in, metres out, on a spherical Earth (mean radius). The error
against the ellipsoid is under 0.5 %, far below phone GPS noise, and the sphere keeps every
function a few floating-point operations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
# Metres per degree of latitude (and of longitude at the equator) on that sphere.
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def destination(lat: float, lon: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point reached from (lat, lon) going distance_m along the initial bearing (degrees)."""
    d = distance_m / EARTH_RADIUS_M
    b = math.radians(bearing)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1),
                         math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def valid_point(lat: float | None, lon: float | None) -> bool:
    """A usable fix: both numbers present and finite, in range, and not the (0, 0) "no fix"."""
    if lat is None or lon is None:
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return False
    return not (lat == 0.0 and lon == 0.0)


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box (not crossing the antimeridian), for cheap pre-filters."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside the box (edges included)."""
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon

    @classmethod
    def around(cls, lat: float, lon: float, radius_m: float) -> BBox:
        """The smallest box holding every point within radius_m of (lat, lon)."""
        dlat = radius_m / M_PER_DEG
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        dlon = min(180.0, radius_m / (M_PER_DEG * coslat))
        return cls(lat - dlat, lon - dlon, lat + dlat, lon + dlon)

    @classmethod
    def of(cls, points: Iterable[tuple[float, float]]) -> BBox | None:
        """The box around some (lat, lon) points; None when there are none."""
        it = iter(points)
        try:
            lat, lon = next(it)
        except StopIteration:
            return None
        a = b = lat
        c = d = lon
        for lat, lon in it:
            a, b = min(a, lat), max(b, lat)
            c, d = min(c, lon), max(d, lon)
        return cls(a, c, b, d)


@dataclass
class Place:
    """One distinct place: the first point that founded it, and how many points joined it."""

    lat: float
    lon: float
    count: int = 1


class PlaceIndex:
    """Greedy "leader" clustering of points into distinct places, in O(1) per point.

    A point joins the place of the point before it when that founder is still within
    radius_m (consecutive sightings mostly stay put, so this is the cheap common case),
    else the place whose founder is nearest and within radius_m, else it founds a new place. Founders sit in a grid of cells about radius_m wide, so only the
    neighbouring cells are searched: since founders are at least radius_m apart, each cell
    holds a handful of them and the whole pass is linear in the number of points.
    The result depends on point order (the usual price of greedy clustering); callers feed
    points in time order so the same data always gives the same places.
    """

    def __init__(self, radius_m: float):
        if radius_m <= 0:
            raise ValueError("radius_m must be positive")
        self.radius_m = radius_m
        self.places: list[Place] = []
        self._cell_deg = radius_m / M_PER_DEG
        self._grid: dict[tuple[int, int], list[int]] = {}
        self._coslat: float | None = None
        self._last = -1
        self.checks = 0  # candidate distance checks, so tests can pin the linear cost

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        # Longitude cells are scaled by the cosine of the first point's latitude (2 degrees
        # poleward, so nearby points see cells slightly wider than radius_m and need only
        # one neighbour each side); one fixed scale keeps the grid consistent.
        if self._coslat is None:
            self._coslat = max(math.cos(math.radians(min(89.0, abs(lat) + 2.0))), 1e-6)
        return (int(math.floor(lat / self._cell_deg)),
                int(math.floor(lon * self._coslat / self._cell_deg)))

    def add(self, lat: float, lon: float) -> int:
        """Assign a point to a place and return that place's index."""
        # Within a cluster radius (metres to a few km) the flat-Earth distance is within
        # 0.1 % of the great circle, and it needs no trigonometry per candidate.
        kx = M_PER_DEG * math.cos(math.radians(lat))
        r2 = self.radius_m * self.radius_m
        if self._last >= 0:
            self.checks += 1
            p = self.places[self._last]
            if ((lat - p.lat) * M_PER_DEG) ** 2 + ((lon - p.lon) * kx) ** 2 <= r2:
                p.count += 1
                return self._last
        self._last = self._find_or_found(lat, lon, kx, r2)
        return self._last

    def _find_or_found(self, lat: float, lon: float, kx: float, r2: float) -> int:
        cy, cx = self._cell(lat, lon)
        assert self._coslat is not None
        # Poleward of the first point a longitude cell is narrower than radius_m in metres,
        # so search as many cells sideways as it takes to cover radius_m (1 near the start).
        nx = min(1000, math.ceil(self._coslat / max(math.cos(math.radians(lat)), 1e-6)))
        best, best_d = -1, r2
        places, grid = self.places, self._grid
        for dy in (-1, 0, 1):
            for dx in range(-nx, nx + 1):
                for idx in grid.get((cy + dy, cx + dx), ()):
                    self.checks += 1
                    p = places[idx]
                    d = ((lat - p.lat) * M_PER_DEG) ** 2 + ((lon - p.lon) * kx) ** 2
                    if d <= best_d:
                        best, best_d = idx, d
        if best >= 0:
            places[best].count += 1
            return best
        places.append(Place(lat, lon))
        idx = len(places) - 1
        grid.setdefault((cy, cx), []).append(idx)
        return idx


def distinct_places(points: Iterable[tuple[float, float]], radius_m: float) -> list[Place]:
    """Cluster (lat, lon) points greedily into places at least radius_m apart (see PlaceIndex)."""
    index = PlaceIndex(radius_m)
    for lat, lon in points:
        index.add(lat, lon)
    return index.places


class PointIndex:
    """A fixed set of named points (e.g. agency offices) with a grid for "what is near here"."""

    def __init__(self, points: Iterable[tuple[str, float, float]], cell_m: float):
        if cell_m <= 0:
            raise ValueError("cell_m must be positive")
        self.cell_m = cell_m
        self.points = [(str(n), float(a), float(b)) for n, a, b in points]
        self._cell_deg = cell_m / M_PER_DEG
        self._grid: dict[tuple[int, int], list[int]] = {}
        for i, (_, lat, _lon) in enumerate(self.points):
            self._grid.setdefault((int(math.floor(lat / self._cell_deg)), 0), []).append(i)

    def nearest_within(self, lat: float, lon: float, radius_m: float
                       ) -> tuple[str, float] | None:
        """The nearest point within radius_m (<= cell_m) as (name, metres), else None."""
        # Cells are latitude bands only: longitude cells would break near the poles and
        # the number of offices per band stays small for any real office list.
        cy = int(math.floor(lat / self._cell_deg))
        best: tuple[str, float] | None = None
        for dy in (-1, 0, 1):
            for i in self._grid.get((cy + dy, 0), ()):
                name, plat, plon = self.points[i]
                if abs(plon - lon) * M_PER_DEG * max(math.cos(math.radians(lat)), 1e-6) > radius_m:
                    continue
                d = haversine_m(lat, lon, plat, plon)
                if d <= radius_m and (best is None or d < best[1]):
                    best = (name, d)
        return best
