"""What the wireless maps draw under the data: online raster tiles (OpenStreetMap's
standard tiles unless an administrator set another URL), a self-hosted PMTiles file, or
only the shipped country outlines (tiles switched off, or failing in the browser).

The map pages put these values in data attributes (static/js/basemap.js reads them) and
send a CSP that allows exactly the one tile or PMTiles host, nothing else from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response
from markupsafe import escape

from app.core.guard import csp_allowing
from app.core.settings_registry import get_setting

TILE_SETTING = "wireless.map_tile_url"
PMTILES_SETTING = "wireless.map_pmtiles_url"
OSM_HOST = "tile.openstreetmap.org"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


@dataclass(frozen=True)
class Basemap:
    tile_url: str
    pmtiles_url: str

    @property
    def kind(self) -> str:
        """"pmtiles", "tiles" or "outlines" (what the browser draws first)."""
        return "pmtiles" if self.pmtiles_url else "tiles" if self.tile_url else "outlines"

    @property
    def attribution(self) -> str:
        """The attribution HTML the tile source requires (OpenStreetMap's licence wants its
        name and a link; PMTiles basemaps are built from OpenStreetMap data too)."""
        if self.kind == "outlines":
            return ""
        host = urlsplit(self.tile_url).netloc if self.kind == "tiles" else ""
        if self.kind == "pmtiles" or host == OSM_HOST:
            return OSM_ATTRIBUTION
        return f"Map tiles: {escape(host.replace('{s}.', ''))}"

    @property
    def description(self) -> str:
        if self.kind == "pmtiles":
            return "Basemap: self-hosted PMTiles file (OpenStreetMap data)."
        if self.kind == "tiles":
            host = urlsplit(self.tile_url).netloc
            return ("Basemap: OpenStreetMap standard tiles; the country outlines are drawn instead when "
                    "tiles cannot be loaded." if host == OSM_HOST else f"Basemap: tiles from {host}.")
        return "Basemap: offline country outlines (Natural Earth) and US states; online tiles are switched off."


def current_basemap() -> Basemap:
    return Basemap(tile_url=get_setting(TILE_SETTING) or "", pmtiles_url=get_setting(PMTILES_SETTING) or "")


def source_of(url: str) -> str:
    """The CSP source for a URL (template): scheme and host, `{s}` subdomains as `*`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


def allow_basemap(response: Response, basemap: Basemap) -> Response:
    """Let the page load exactly its tile host (images) or PMTiles host (range fetches)."""
    if basemap.kind == "tiles":
        response.headers["Content-Security-Policy"] = csp_allowing(img=(source_of(basemap.tile_url),))
    elif basemap.kind == "pmtiles" and not basemap.pmtiles_url.startswith("/"):
        response.headers["Content-Security-Policy"] = csp_allowing(connect=(source_of(basemap.pmtiles_url),))
    return response
