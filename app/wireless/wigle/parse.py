"""WiGLE answers -> rows: `detail` fields for wigle_v3_network_details and observation
dicts for wigle_v3_observations. Pure functions over the JSON, tested on real samples.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """WiGLE's '2025-02-02T05:23:34.000Z' (or a date without zone) as aware UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _first_frequency(locations: list[dict[str, Any]]) -> int | None:
    for loc in locations:
        freq = _int(loc.get("frequency"))
        if freq:
            return freq
    return None


def _observations(locations: list[dict[str, Any]], *, bssid: str, trilat: float | None,
                  trilong: float | None, source: str, default_ssid: str | None) -> list[dict[str, Any]]:
    seen: set[tuple] = set()
    rows = []
    for loc in locations:
        lat, lon = _float(loc.get("latitude")), _float(loc.get("longitude"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        observed_at = parse_time(loc.get("time"))
        key = (observed_at, lat, lon)
        if key in seen:  # the table's natural key: a duplicate would break the insert
            continue
        seen.add(key)
        rows.append({
            "bssid": bssid,
            "ssid": _text(loc.get("ssid"), 255) or default_ssid,
            "lat": lat, "lon": lon,
            "trilat": trilat if trilat is not None else lat,
            "trilong": trilong if trilong is not None else lon,
            "observed_at": observed_at,
            "level": _int(loc.get("signal")),
            "source": source,
            "wigle_id": _text(loc.get("netId"), 100),
        })
    return rows


def parse_v3_detail(body: dict[str, Any], bssid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """v3 /detail/wifi|bt: trilaterated position, dates, street address, location clusters."""
    clusters = [c for c in body.get("locationClusters") or [] if isinstance(c, dict)]
    locations = [loc for c in clusters for loc in (c.get("locations") or []) if isinstance(loc, dict)]
    address = body.get("streetAddress") or {}
    trilat, trilong = _float(body.get("trilateratedLatitude")), _float(body.get("trilateratedLongitude"))
    ssid = _text(body.get("name"), 255) or next(
        (_text(c.get("clusterSsid"), 255) for c in clusters if c.get("clusterSsid")), None)
    detail = {
        "bssid": bssid,
        "ssid": ssid,
        "encryption": _text(body.get("encryption"), 30),
        "channel": _int(body.get("channel")),
        "frequency": _first_frequency(locations),
        "first_seen": parse_time(body.get("firstSeen")),
        "last_update": parse_time(body.get("lastUpdate")) or parse_time(body.get("lastSeen")),
        "country": _text(address.get("country"), 2),
        "region": _text(address.get("region"), 100),
        "city": _text(address.get("city"), 100),
        "trilat": trilat,
        "trilong": trilong,
    }
    return detail, _observations(locations, bssid=bssid, trilat=trilat, trilong=trilong,
                                 source="wigle_v3", default_ssid=ssid)


def _v2_fields(result: dict[str, Any], bssid: str, locations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bssid": bssid,
        "ssid": _text(result.get("ssid"), 255),
        "encryption": _text(result.get("encryption"), 30),
        "channel": _int(result.get("channel")),
        "frequency": _int(result.get("frequency")) or _first_frequency(locations),
        "first_seen": parse_time(result.get("firsttime")),
        "last_update": parse_time(result.get("lastupdt")) or parse_time(result.get("lasttime")),
        "country": _text(result.get("country"), 2),
        "region": _text(result.get("region"), 100),
        "city": _text(result.get("city"), 100),
        "trilat": _float(result.get("trilat")),
        "trilong": _float(result.get("trilong")),
    }


def _matching(results: list[Any], bssid: str) -> dict[str, Any] | None:
    results = [r for r in results if isinstance(r, dict)]
    for result in results:
        if str(result.get("netid") or "").upper() == bssid.upper():
            return result
    return results[0] if len(results) == 1 else None


def parse_v2_detail(body: dict[str, Any], bssid: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """v2 /network/detail: the first result with its locationData; None when no result."""
    result = _matching(body.get("results") or [], bssid)
    if result is None:
        return None
    locations = [loc for loc in result.get("locationData") or [] if isinstance(loc, dict)]
    detail = _v2_fields(result, bssid, locations)
    return detail, _observations(locations, bssid=bssid, trilat=detail["trilat"], trilong=detail["trilong"],
                                 source="wigle_v2", default_ssid=detail["ssid"])


def parse_v2_search(body: dict[str, Any], bssid: str) -> dict[str, Any] | None:
    """v2 /network/search?netid=: the result for this BSSID (no sightings in a search)."""
    result = _matching(body.get("results") or [], bssid)
    return None if result is None else _v2_fields(result, bssid, [])
