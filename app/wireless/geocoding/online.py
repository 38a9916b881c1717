"""Online reverse geocoders, each configured per organization (Wireless > Providers) and
reached through app/outbound.py with timeouts and bounded backoff.

Quota handling follows each service's documentation:
- Nominatim: 429 when over the usage policy; 403 when the client is blocked.
- OpenCage: 402 (daily quota exceeded), 429 (too many requests), 401/403 (bad or disabled key);
  the body's `status.code` says the same.
- LocationIQ: 429 with {"error": "Rate Limited Second|Minute|Day"}; 401 {"error": "Invalid key"};
  404 {"error": "Unable to geocode"}.
- Overpass: 429 (too many requests from this address); 504 busy (retried as a 5xx).
Base URLs are options (NOMINATIM_BASE_URL, OPENCAGE_BASE_URL, LOCATIONIQ_BASE_URL,
OVERPASS_BASE_URL) so tests point them at local fake servers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from app.outbound import OutboundRefused
from app.outbound.http import HttpResult, TransientFailure, option, request_json
from app.wireless.geocoding.base import (
    AuthFailed,
    GeocoderError,
    NoResult,
    Place,
    QuotaExceeded,
    Unavailable,
)
from app.wireless.wigle.credentials import get_credential, open_secret

DEFAULT_URLS = {
    "nominatim": "https://nominatim.openstreetmap.org",
    "opencage": "https://api.opencagedata.com",
    "locationiq": "https://us1.locationiq.com",
    "overpass": "https://overpass-api.de",
}
LABELS = {"nominatim": "Nominatim", "opencage": "OpenCage", "locationiq": "LocationIQ", "overpass": "Overpass"}
VENUE_KEYS = ("amenity", "shop", "office", "tourism", "leisure", "craft", "healthcare", "building")


def base_url(name: str) -> str:
    return str(option(f"{name.upper()}_BASE_URL", DEFAULT_URLS[name])).rstrip("/")


def _send(method: str, url: str, sleep: Callable[[float], None], **kwargs: Any) -> HttpResult:
    try:
        return request_json(method, url, sleep=sleep, **kwargs)
    except TransientFailure as exc:
        raise Unavailable(str(exc)) from exc
    except OutboundRefused as exc:
        raise Unavailable(f"refused: {exc}") from exc


def _error_text(result: HttpResult) -> str:
    body = result.body
    if isinstance(body, dict):
        status = body.get("status")
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
        if body.get("error"):
            error = body["error"]
            return str(error.get("message") if isinstance(error, dict) else error)
    return result.text.strip()[:200] or f"HTTP {result.status}"


class _Online:
    name = ""

    def __init__(self, key: str = "", contact: str | None = None, *, sleep: Callable[[float], None] = time.sleep):
        self.key = key
        self.contact = contact
        self.sleep = sleep
        self.url = base_url(self.name)

    def _common_errors(self, result: HttpResult) -> None:
        label = LABELS[self.name]
        if result.status == 402:
            raise QuotaExceeded(f"{label}: quota exceeded ({_error_text(result)})")
        if result.status == 429:
            raise QuotaExceeded(f"{label}: rate limited ({_error_text(result)})")
        if result.status in (401, 403):
            raise AuthFailed(f"{label}: refused ({_error_text(result)})")


class NominatimProvider(_Online):
    name = "nominatim"

    def reverse(self, lat: float, lon: float) -> Place:
        params = {"format": "jsonv2", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "zoom": 18, "addressdetails": 1}
        if self.contact:
            params["email"] = self.contact
        headers = {"User-Agent": f"Vigil/0.1 ({self.contact or 'no contact set'})"}
        result = _send("GET", f"{self.url}/reverse", self.sleep, params=params, headers=headers)
        self._common_errors(result)
        body = result.body
        if not isinstance(body, dict) or body.get("error") or result.status >= 400:
            raise NoResult(f"Nominatim: {_error_text(result)}")
        name = body.get("name") or None
        kind = body.get("type")
        return Place(address=body.get("display_name"), venue_name=name,
                     venue_type=f"{body.get('category') or body.get('class')}:{kind}" if name and kind else None,
                     raw=body)


class OpenCageProvider(_Online):
    name = "opencage"

    def reverse(self, lat: float, lon: float) -> Place:
        params = {"q": f"{lat:.6f}+{lon:.6f}", "key": self.key, "no_annotations": 1, "limit": 1}
        result = _send("GET", f"{self.url}/geocode/v1/json", self.sleep, params=params)
        self._common_errors(result)
        body = result.body
        code = (body.get("status") or {}).get("code") if isinstance(body, dict) else None
        if code in (402, 429):
            raise QuotaExceeded(f"OpenCage: quota exceeded ({_error_text(result)})")
        if code in (401, 403):
            raise AuthFailed(f"OpenCage: refused ({_error_text(result)})")
        results = body.get("results") if isinstance(body, dict) else None
        if result.status >= 400 or not results:
            raise NoResult(f"OpenCage: {_error_text(result) if result.status >= 400 else 'no result'}")
        first = results[0]
        components = first.get("components") or {}
        kind = components.get("_type")
        venue = components.get(kind) if kind and kind not in ("road", "city", "town", "village", "county",
                                                              "state", "country", "postcode") else None
        raw = {k: body.get(k) for k in ("results", "status", "rate", "total_results")}
        return Place(address=first.get("formatted"), venue_name=venue if isinstance(venue, str) else None,
                     venue_type=(components.get("_category") or kind) if venue else None, raw=raw)


class LocationIqProvider(_Online):
    name = "locationiq"

    def reverse(self, lat: float, lon: float) -> Place:
        params = {"key": self.key, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "format": "json",
                  "addressdetails": 1, "namedetails": 1}
        result = _send("GET", f"{self.url}/v1/reverse", self.sleep, params=params)
        if result.status == 429 and "day" not in _error_text(result).lower():
            # Per-second or per-minute limit: wait once, then ask again.
            self.sleep(option("PROVIDER_BACKOFF_SECONDS", 1.0))
            result = _send("GET", f"{self.url}/v1/reverse", self.sleep, params=params)
        self._common_errors(result)
        body = result.body
        if result.status == 404 or not isinstance(body, dict) or body.get("error"):
            raise NoResult(f"LocationIQ: {_error_text(result)}")
        names = body.get("namedetails") or {}
        address = body.get("address") or {}
        venue_key = next((k for k in VENUE_KEYS if k in address), None)
        venue = names.get("name") or (address.get(venue_key) if venue_key else None)
        kind = body.get("type")
        return Place(address=body.get("display_name"), venue_name=venue or None,
                     venue_type=f"{body.get('class')}:{kind}" if venue and kind else None, raw=body)


class OverpassProvider(_Online):
    name = "overpass"
    radius_m = 60

    def reverse(self, lat: float, lon: float) -> Place:
        keys = "|".join(VENUE_KEYS[:-1])
        query = (f'[out:json][timeout:20];nwr(around:{self.radius_m},{lat:.6f},{lon:.6f})'
                 f'[name][~"^({keys})$"~"."];out center 20;')
        result = _send("POST", f"{self.url}/api/interpreter", self.sleep, form={"data": query})
        self._common_errors(result)
        body = result.body
        if result.status >= 400 or not isinstance(body, dict):
            raise NoResult(f"Overpass: {_error_text(result)}")
        best, best_km = None, math.inf
        for element in body.get("elements") or []:
            tags = element.get("tags") or {}
            point = element.get("center") or element
            if not tags.get("name") or point.get("lat") is None:
                continue
            km = _km(lat, lon, float(point["lat"]), float(point["lon"]))
            if km < best_km:
                best, best_km = element, km
        if best is None:
            raise NoResult("Overpass: no named venue nearby")
        tags = best["tags"]
        key = next((k for k in VENUE_KEYS if k in tags), None)
        street = " ".join(x for x in (tags.get("addr:housenumber"), tags.get("addr:street")) if x)
        address = ", ".join(x for x in (street, tags.get("addr:city")) if x) or None
        return Place(address=address, venue_name=tags["name"], venue_type=f"{key}:{tags[key]}" if key else None,
                     raw={"element": best, "distance_m": round(best_km * 1000), "generator": body.get("generator")})


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


CLASSES: dict[str, type[_Online]] = {"nominatim": NominatimProvider, "opencage": OpenCageProvider,
                                     "locationiq": LocationIqProvider, "overpass": OverpassProvider}


def for_org(name: str, org_id: int, **kwargs: Any) -> _Online:
    """The provider with the organization's settings; none configured -> GeocoderError.

    Every online provider must be set up explicitly, even the keyless ones: sending an
    organization's positions to a third party is its admins' decision.
    """
    if get_credential(org_id, name) is None:
        raise GeocoderError(f"{name} is not set up for this organization (Wireless > Providers).")
    api_name, secret = open_secret(org_id, name) or (None, "")
    return CLASSES[name](secret, api_name, **kwargs)
