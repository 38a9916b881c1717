"""GeoJSON for the map: networks and sightings in the map's view, and the fixed layers
(home with its radius, routes, agency offices).

The map asks for its viewport (`bbox`) and `zoom`, and every answer is bounded whatever the
size of the data: networks come one by one (most threatening first) only when the view
holds few of them or the map is zoomed in to DETAIL_ZOOM, else as clusters (one per grid
cell, with the count and the worst level); sightings come newest first up to a
cap, and the answer says `truncated` when there were more (the page says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.models import db
from app.models.wireless import (
    AgencyOffice,
    LocationMarker,
    MapNetworkCell,
    Network,
    Observation,
    Route,
)
from app.wireless.explorer import active_tags
from app.wireless.filters import NetworkFilter, apply_filters

# The map asks for its viewport (bbox) and zoom. Each answer reads a bounded amount: at most
# FEATURE_CAP networks drawn one by one, else one cluster per grid cell (at most MAX_CELLS);
# at most OBSERVATION_CAP sightings. A browser drawing 100,000 markers is no use to anyone.
FEATURE_CAP = 500  # networks drawn one by one (more in view at a low zoom: clusters)
OBSERVATION_CAP = 1_000  # the newest in view: enough for the heat layer, small enough to send fast
MAX_CAP = 5_000  # the largest `limit` a client may ask for
MAX_ZOOM = 22
DETAIL_ZOOM = 16  # from here on, networks are always single points (the most threatening first)
CELL_PX = 64  # a cluster cell is about this many screen pixels wide
MAX_CELLS = 2_500  # a bbox wider than its zoom suggests gets coarser cells, never more of them
ROUTE_POINTS = 2_000  # a route drawn from raw sightings is thinned to this many points
DECIMALS = 5  # about a metre: more digits only make the answer bigger
LEVEL_RANK = {"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "NONE": 1}
RANK_LEVEL = {rank: level for level, rank in LEVEL_RANK.items()}

# Where a network is drawn (explorer.position in SQL): its strongest sighting when that is a
# usable fix, else its last one, else nowhere (NULL). Fixed SQL text, no parameters, so that
# PostgreSQL matches it to the expression index of migration 0038 (ix_networks_org_map_pos).
_VALID = "{a}lat BETWEEN -90 AND 90 AND {a}lon BETWEEN -180 AND 180 AND NOT ({a}lat = 0 AND {a}lon = 0)"
_POS = "CASE WHEN " + _VALID.format(a="best") + " THEN best{c} WHEN " + _VALID.format(a="last") + " THEN last{c} END"
POS_LAT_SQL = _POS.format(c="lat")
POS_LON_SQL = _POS.format(c="lon")
map_lat = sa.literal_column(f"({POS_LAT_SQL})", sa.Double)
map_lon = sa.literal_column(f"({POS_LON_SQL})", sa.Double)


@dataclass(frozen=True)
class Box:
    """A map view: west, south, east, north in degrees (the order GeoJSON's bbox uses)."""

    west: float
    south: float
    east: float
    north: float


WORLD = Box(-180.0, -90.0, 180.0, 90.0)


def parse_bbox(raw: str | None) -> Box | None:
    """`west,south,east,north` -> Box; ValueError with a message when it is not one."""
    if not raw:
        return None
    parts = raw.split(",")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise ValueError("bbox must be four numbers: west,south,east,north") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise ValueError("bbox must be four numbers: west,south,east,north")
    if not (-90 <= s <= n <= 90):
        raise ValueError("bbox latitudes must satisfy -90 <= south <= north <= 90")
    # Leaflet reports longitudes beyond +-180 when the world is panned around; clamp them.
    w, e = max(-180.0, w), min(180.0, e)
    if w > e:
        raise ValueError("bbox west must not be east of east (a box across the antimeridian is two requests)")
    return Box(w, s, e, n)


def parse_zoom(raw: str | None) -> int | None:
    """The map's zoom level from the query (0..MAX_ZOOM), or None when absent."""
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"zoom must be a whole number from 0 to {MAX_ZOOM}") from None
    if not 0 <= value <= MAX_ZOOM:
        raise ValueError(f"zoom must be a whole number from 0 to {MAX_ZOOM}")
    return value


def parse_cap(raw: str | None, default: int) -> int:
    """A point cap from the query (1..MAX_CAP)."""
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("limit must be a whole number") from None
    if not 1 <= value <= MAX_CAP:
        raise ValueError(f"limit must be between 1 and {MAX_CAP}")
    return value


def _cells_across(box: Box, size: float) -> int:
    return ((math.floor(box.east / size) - math.floor(box.west / size) + 1)
            * (math.floor(box.north / size) - math.floor(box.south / size) + 1))


def cell_level(box: Box, zoom: int) -> int:
    """The grid level for a view: cells of 90 / 2**level degrees (about CELL_PX pixels at
    this zoom), one level coarser at a time until the box holds at most MAX_CELLS of them
    (a client sending the world at zoom 15 gets few cells). Never below level 0 (at most
    15 cells for the whole world)."""
    level = min(zoom, DETAIL_ZOOM - 1)
    while level > 0 and _cells_across(box, cell_degrees(level)) > MAX_CELLS:
        level -= 1
    return level


def cell_degrees(level: int) -> float:
    """The side of a grid cell at a level (CELL_PX pixels of a 256-pixel tile at that zoom)."""
    return 360.0 / (2 ** level) * CELL_PX / 256


def _lit(value: float) -> sa.BindParameter:
    """A box edge written into the SQL text rather than sent as a parameter. psycopg prepares
    a statement run five times, and PostgreSQL then may plan it once for any box: measured
    on 1,000,000 sightings, that generic plan read the whole box and sorted it (120 ms)
    where the plan for the actual box walks the time index (30 ms). With the edges in the
    text, every plan is made for its own box."""
    return sa.literal(float(value), sa.Double, literal_execute=True)


def _r(value: float) -> float:
    return round(float(value), DECIMALS)


def _bbox_list(box: Box) -> list[float]:
    return [box.west, box.south, box.east, box.north]


def _fast_url(detail_url):
    """detail_url(id) without a URL build per network (5,000 builds were half the map's time):
    one URL is built and the id swapped into it."""
    probe = 987654321
    head, found, tail = detail_url(probe).rpartition(str(probe))
    if not found:
        return detail_url
    return lambda network_id: f"{head}{int(network_id)}{tail}"


def networks_in(f: NetworkFilter, org_id: int, box: Box, *columns: Any) -> sa.Select:
    """SELECT columns FROM networks matching the filter whose map position lies in the box."""
    return apply_filters(sa.select(*columns), f, org_id).where(
        map_lat.between(_lit(box.south), _lit(box.north)), map_lon.between(_lit(box.west), _lit(box.east)))


def count_networks_in(f: NetworkFilter, org_id: int, box: Box, stop: int) -> int:
    """How many matching networks are drawn in the box, counting no further than `stop`."""
    inner = networks_in(f, org_id, box, Network.id).limit(stop).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def networks_geojson(f: NetworkFilter, org_id: int, box: Box | None, zoom: int | None, cap: int,
                     detail_url) -> dict[str, Any]:
    """The networks in view: one point each (most threatening first, at most `cap`) when
    zoomed in to DETAIL_ZOOM or when at most `cap` are in view; otherwise clusters."""
    box = box or WORLD
    zoom = 0 if zoom is None else zoom
    if zoom >= DETAIL_ZOOM or count_networks_in(f, org_id, box, cap + 1) <= cap:
        return _network_points(f, org_id, box, zoom, cap, detail_url)
    return _network_cells(f, org_id, box, zoom)


def _network_points(f: NetworkFilter, org_id: int, box: Box, zoom: int, cap: int, detail_url) -> dict[str, Any]:
    """At most `cap` networks in the box, most threatening first; `extent` is the box around them."""
    # Only the columns a feature shows (not the scoring factors' JSON).
    stmt = (networks_in(f, org_id, box, Network.id, Network.bssid, Network.ssid, Network.type,
                         Network.threat_level, Network.threat_score_v2, Network.manufacturer,
                         Network.observation_count, map_lat.label("lat"), map_lon.label("lon"))
            .order_by(Network.threat_score_v2.desc().nulls_last(), Network.id)
            .limit(cap + 1))
    rows = list(db.session.execute(stmt))
    tags = active_tags(org_id, (n.id for n in rows[:cap]))
    url = _fast_url(detail_url)
    features = [{"type": "Feature", "id": n.id,
                 "geometry": {"type": "Point", "coordinates": [_r(n.lon), _r(n.lat)]},
                 "properties": {"id": n.id, "bssid": n.bssid, "ssid": n.ssid, "type": n.type,
                                "level": n.threat_level or "UNSCORED",
                                "score": float(n.threat_score_v2) if n.threat_score_v2 is not None else None,
                                "manufacturer": n.manufacturer, "tags": tags.get(n.id, []),
                                "observations": n.observation_count, "url": url(n.id)}}
                for n in rows[:cap]]
    lons = [ft["geometry"]["coordinates"][0] for ft in features]
    lats = [ft["geometry"]["coordinates"][1] for ft in features]
    extent = [min(lons), min(lats), max(lons), max(lats)] if features else None
    return {"type": "FeatureCollection", "features": features, "mode": "points", "truncated": len(rows) > cap,
            "cap": cap, "total": len(features), "zoom": zoom, "bbox": _bbox_list(box), "extent": extent}


def filter_is_empty(f: NetworkFilter, ignoring: tuple[str, ...] = ()) -> bool:
    """Whether the filter narrows nothing (its sort aside, and the fields named in `ignoring`)."""
    return all(v in (None, "", []) for k, v in f.args().items() if k not in ("sort", "dir", *ignoring))


def pyramid_ranks(f: NetworkFilter) -> set[int] | None:
    """The threat ranks to read from map_network_cells for this filter, or None when the
    filter narrows by anything but the level (the pyramid only counts by level)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None  # the cells are kept by PostgreSQL triggers only
    if not filter_is_empty(f, ignoring=("level",)):
        return None
    if not f.levels:
        return set(RANK_LEVEL) | {0}
    return {LEVEL_RANK.get(level, 0) for level in f.levels}


def _network_cells(f: NetworkFilter, org_id: int, box: Box, zoom: int) -> dict[str, Any]:
    """One feature per grid cell with networks in it: how many, the worst level, at their
    mean position. The grid is anchored at 0,0 (not at the view) so clusters stay put while
    the map is panned. Unfiltered (or filtered by level only) on PostgreSQL, the counts come
    from the map_network_cells pyramid: cells in view, whatever the number of networks; a
    cell at the edge of the view counts its networks just outside it too. Other filters
    aggregate the matching networks in view (cost grows with them)."""
    level = cell_level(box, zoom)
    size = cell_degrees(level)
    ranks = pyramid_ranks(f)
    if ranks is not None:
        c = MapNetworkCell
        stmt = (sa.select(c.cx, c.cy, sa.func.sum(c.n).label("n"), sa.func.max(c.rank).label("rank"),
                          sa.func.sum(c.sum_lat).label("slat"), sa.func.sum(c.sum_lon).label("slon"))
                .where(c.org_id == org_id, c.zoom == level, c.n > 0, c.rank.in_(sorted(ranks)),
                       c.cx.between(math.floor(box.west / size), math.floor(box.east / size)),
                       c.cy.between(math.floor(box.south / size), math.floor(box.north / size)))
                .group_by(c.cx, c.cy))
        cells = [(r.cx, r.cy, int(r.n), r.rank, r.slat / r.n, r.slon / r.n) for r in db.session.execute(stmt)]
        source = "pyramid"
    else:
        rank = sa.case(*((Network.threat_level == lv, value) for lv, value in LEVEL_RANK.items()), else_=0)
        cx = sa.func.floor(map_lon / size).label("cx")
        cy = sa.func.floor(map_lat / size).label("cy")
        stmt = (networks_in(f, org_id, box, cx, cy, sa.func.count().label("n"), sa.func.max(rank).label("rank"),
                            sa.func.avg(map_lat).label("lat"), sa.func.avg(map_lon).label("lon"))
                .group_by(cx, cy))
        cells = [(int(r.cx), int(r.cy), r.n, r.rank, r.lat, r.lon) for r in db.session.execute(stmt)]
        source = "live"
    features = [{"type": "Feature", "id": f"cell-{level}-{x}-{y}",
                 "geometry": {"type": "Point", "coordinates": [_r(lon), _r(lat)]},
                 "properties": {"cluster": True, "count": n, "level": RANK_LEVEL.get(rank, "UNSCORED")}}
                for x, y, n, rank, lat, lon in sorted(cells)]
    return {"type": "FeatureCollection", "features": features, "mode": "clusters", "truncated": False,
            "cell_deg": size, "total": sum(cell[2] for cell in cells), "zoom": zoom, "bbox": _bbox_list(box),
            "extent": data_extent(org_id), "source": source}


def data_extent(org_id: int) -> list[float] | None:
    """West, south, east, north around the organization's networks, for framing the map:
    latitudes from the ends of the drawn-position index, longitudes from the ends of the
    finest pyramid level on PostgreSQL (a few index probes, whatever the size)."""
    south, north = db.session.execute(sa.select(sa.func.min(map_lat), sa.func.max(map_lat))
                                      .where(Network.org_id == org_id, map_lat.is_not(None))).one()
    if south is None:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        c, level = MapNetworkCell, DETAIL_ZOOM - 1
        # Each end on its own (ORDER BY ... LIMIT 1 down the primary key), not min() and
        # max() in one scan of the level.
        ends = sa.select(c.cx).where(c.org_id == org_id, c.zoom == level, c.n > 0).limit(1)
        lo, hi = db.session.execute(sa.select(ends.order_by(c.cx).scalar_subquery(),
                                              ends.order_by(c.cx.desc()).scalar_subquery())).one()
        if lo is not None:
            size = cell_degrees(level)
            return [_r(max(-180.0, lo * size)), _r(south), _r(min(180.0, (hi + 1) * size)), _r(north)]
    west, east = db.session.execute(sa.select(sa.func.min(map_lon), sa.func.max(map_lon))
                                    .where(Network.org_id == org_id, map_lon.is_not(None))).one()
    return [_r(west), _r(south), _r(east), _r(north)]


def _in_box(box: Box) -> list[Any]:
    return [Observation.lat.between(_lit(box.south), _lit(box.north)),
            Observation.lon.between(_lit(box.west), _lit(box.east))]


def _box_holds_more_than(org_id: int, box: Box, cap: int) -> bool:
    """Whether more than `cap` sightings lie in the box (an index-only count that stops there)."""
    inner = sa.select(Observation.id).where(Observation.org_id == org_id, *_in_box(box)).limit(cap + 1)
    return (db.session.scalar(sa.select(sa.func.count()).select_from(inner.subquery())) or 0) > cap


def observations_geojson(f: NetworkFilter, org_id: int, box: Box | None, cap: int) -> dict[str, Any]:
    """The newest `cap` sightings of matching networks inside the box (for clusters and heat).

    Bounded either way: a box with at most `cap` sightings is read through the (org_id, lat,
    lon) index and sorted; a fuller one is read newest first down the covering (org_id,
    time, id) index of migration 0038, which stops after `cap` sightings in the box (about
    cap / share-of-sightings-in-the-box index entries, whatever the density). The answer
    then says "the newest `cap` of more than `cap`": the exact number is not counted. The
    networks' level and name come after, for those sightings only (no join that a plan
    without statistics could turn into a loop over every network per sighting).
    """
    box = box or WORLD
    full = _box_holds_more_than(org_id, box, cap)
    rows = (sa.select(Observation.id, Observation.network_id, Observation.lat, Observation.lon, Observation.level,
                      Observation.time)
            .where(Observation.org_id == org_id, *_in_box(box)))
    if not filter_is_empty(f):
        rows = rows.where(Observation.network_id.in_(apply_filters(sa.select(Network.id), f, org_id)))
    if full:
        # With statistics PostgreSQL walks the time index here and stops at the cap (the box
        # edges are in the SQL text, so it knows how full the box is). Without them (a
        # database loaded a moment ago) it may read the box's sightings and sort them:
        # slower, still bounded by the box, and never a loop over the networks.
        stmt = rows.order_by(Observation.time.desc(), Observation.id.desc())
    else:
        # OFFSET 0 keeps PostgreSQL from flattening the subquery: the box's few sightings
        # come from the lat/lon index, then are sorted.
        src = rows.offset(0).subquery()
        stmt = sa.select(src).order_by(src.c.time.desc(), src.c.id.desc())
    found = list(db.session.execute(stmt.limit(cap + 1)))[:cap + 1]
    ids = sorted({r.network_id for r in found[:cap]})
    nets = {n.id: n for n in db.session.execute(
        sa.select(Network.id, Network.threat_level, Network.ssid).where(Network.org_id == org_id, Network.id.in_(ids)))
    } if ids else {}
    features = [{"type": "Feature", "id": r.id,
                 "geometry": {"type": "Point", "coordinates": [_r(r.lon), _r(r.lat)]},
                 "properties": {"network_id": r.network_id, "signal": r.level, "ssid": nets[r.network_id].ssid,
                                "level": nets[r.network_id].threat_level or "UNSCORED",
                                "time": r.time.isoformat(timespec="seconds")}}
                for r in found[:cap] if r.network_id in nets]
    return {"type": "FeatureCollection", "features": features, "truncated": len(found) > cap, "cap": cap,
            "bbox": _bbox_list(box)}


def _route_path(route: Route) -> list[list[float]]:
    """A route's [lon, lat] line: its stored path, else its collector's sightings in its window."""
    if route.path:
        return [[float(p[1]), float(p[0])] for p in route.path if len(p) >= 2]
    if route.source_id is None:
        return []
    stmt = (sa.select(Observation.lat, Observation.lon)
            .where(Observation.org_id == route.org_id, Observation.source_id == route.source_id,
                   Observation.time >= route.recorded_at)
            .order_by(Observation.time))
    if route.ended_at is not None:
        stmt = stmt.where(Observation.time <= route.ended_at)
    points = [[lon, lat] for lat, lon in db.session.execute(stmt.limit(ROUTE_POINTS * 10))]
    step = max(1, len(points) // ROUTE_POINTS)
    return points[::step]


def layers_geojson(org_id: int) -> dict[str, Any]:
    """Home (with radius_km), the organization's routes and every agency office; `layer` says which."""
    features: list[dict[str, Any]] = []
    for m in db.session.scalars(sa.select(LocationMarker).where(LocationMarker.org_id == org_id)
                                .order_by(LocationMarker.is_home.desc(), LocationMarker.name)):
        features.append({"type": "Feature", "id": f"marker-{m.id}",
                         "geometry": {"type": "Point", "coordinates": [m.lon, m.lat]},
                         "properties": {"layer": "home" if m.is_home else "marker", "name": m.name,
                                        "radius_km": m.radius_km, "color": m.color}})
    for r in db.session.scalars(sa.select(Route).where(Route.org_id == org_id).order_by(Route.recorded_at)):
        line = _route_path(r)
        if len(line) < 2:
            continue
        features.append({"type": "Feature", "id": f"route-{r.id}",
                         "geometry": {"type": "LineString", "coordinates": line},
                         "properties": {"layer": "route", "name": r.name, "color": r.color,
                                        "distance_km": r.distance_km}})
    for o in db.session.scalars(sa.select(AgencyOffice).order_by(AgencyOffice.name)):
        features.append({"type": "Feature", "id": f"office-{o.id}",
                         "geometry": {"type": "Point", "coordinates": [o.lon, o.lat]},
                         "properties": {"layer": "office", "id": o.id, "name": o.name,
                                        "office_type": o.office_type, "city": o.city, "state": o.state}})
    return {"type": "FeatureCollection", "features": features}
