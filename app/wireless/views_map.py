"""The map page and the GeoJSON it draws: networks, sightings in view, home/routes/offices."""

from __future__ import annotations

from flask import jsonify, make_response, request

from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, render_page
from app.tenancy import require_org_id
from app.wireless import map_data
from app.wireless.basemap import allow_basemap, current_basemap
from app.wireless.blueprint import bp
from app.wireless.filters import FilterError, parse_filters
from app.wireless.views_explorer import detail_url, filter_error_response, filter_form_context


@bp.get("/map")
@require("data.read")
def map_view():
    """The map: networks and sightings by threat level, heat, home, routes and offices."""
    org_id = require_org_id()
    errors: dict[str, str] = {}
    try:
        parse_filters(request.args, org_id)
    except FilterError as exc:
        errors = exc.errors
    basemap = current_basemap()
    body, status = render_page("wireless/map.html", status=INVALID_FORM_STATUS if errors else 200,
                               basemap=basemap, **filter_form_context(errors))
    # The tile (or PMTiles) host is the only thing from elsewhere; allow exactly that host.
    return allow_basemap(make_response(body, status), basemap)


def _map_query(org_id: int, default_cap: int):
    """(filter, box, zoom, cap) from the query, or (None, a 400 response) naming the bad argument."""
    try:
        f = parse_filters(request.args, org_id)
    except FilterError as exc:
        return None, filter_error_response(exc)
    name = "bbox"
    try:
        box = map_data.parse_bbox(request.args.get("bbox"))
        name = "zoom"
        zoom = map_data.parse_zoom(request.args.get("zoom"))
        name = "limit"
        cap = map_data.parse_cap(request.args.get("limit"), default_cap)
    except ValueError as exc:
        return None, filter_error_response(exc, name)
    return (f, box, zoom, cap), None


@bp.get("/map/networks.geojson")
@require("data.read")
def map_networks():
    """Matching networks inside `bbox` (west,south,east,north; default the world) at `zoom`:
    single points (most threatening first, at most `limit`) when few are in view or the map
    is zoomed in, else clusters with a count and the worst level each."""
    org_id = require_org_id()
    parsed, error = _map_query(org_id, map_data.FEATURE_CAP)
    if error:
        return error
    f, box, zoom, cap = parsed
    return _geojson(map_data.networks_geojson(f, org_id, box, zoom, cap, detail_url))


@bp.get("/map/observations.geojson")
@require("data.read")
def map_observations():
    """Sightings of matching networks inside `bbox` (west,south,east,north), newest first, capped
    (`zoom` is accepted and checked like the networks' so the map sends one query for both)."""
    org_id = require_org_id()
    parsed, error = _map_query(org_id, map_data.OBSERVATION_CAP)
    if error:
        return error
    f, box, _, cap = parsed
    return _geojson(map_data.observations_geojson(f, org_id, box, cap))


@bp.get("/map/layers.geojson")
@require("data.read")
def map_layers():
    """Home marker (with radius), routes and agency offices as one GeoJSON collection."""
    return _geojson(map_data.layers_geojson(require_org_id()))


def _geojson(data: dict):
    response = jsonify(data)
    response.mimetype = "application/geo+json"
    return response
