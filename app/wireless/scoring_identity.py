"""Threat-scoring factors of what the radio is and whose it is (app/wireless/scoring.py runs
them): the fleet bonus, the equipment profile, agency-office proximity and the Bluetooth
tracker kind. Pure functions; docs/wireless-scoring.md explains each.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from app.wireless import trackers
from app.wireless.scoring_config import ScoringConfig
from app.wireless.scoring_inputs import (
    Fix,
    NetworkInfo,
    ScoringContext,
    make_factor,
    plural,
)


def fleet(network: NetworkInfo, ctx: ScoringContext, c: ScoringConfig) -> dict[str, Any]:
    """Shares a manufacturer or SSID pattern with radios already scoring high."""
    maker = (network.manufacturer or "").strip().lower()
    ssid = (network.ssid or "").lower()

    def others(key: str) -> bool:
        # Without this a HIGH network feeds its own bonus on every rescore (70 became 80).
        members = ctx.fleet_members.get(key)
        return members is None or bool(members - {network.bssid})

    if maker and maker in ctx.fleet_makers() and others(maker):
        return make_factor("fleet", c.fleet_points,
                           f"Same manufacturer ({network.manufacturer}) as radios already "
                           "scoring high.", match="manufacturer", value=network.manufacturer)
    for pattern in ctx.fleet_ssid_patterns:
        if ssid and pattern and fnmatchcase(ssid, pattern.lower()) and others(pattern):
            return make_factor("fleet", c.fleet_points,
                               f"SSID matches {pattern!r}, a pattern of radios already scoring "
                               "high.", match="ssid", value=pattern)
    return make_factor("fleet", 0.0, "No manufacturer or SSID shared with high scorers.")


def equipment(network: NetworkInfo, c: ScoringConfig) -> dict[str, Any]:
    """Vehicle/industrial modem makers and car or mobile hotspot SSIDs."""
    maker = (network.manufacturer or "").lower()
    ssid = (network.ssid or "").lower()
    hit_maker = next((m for m in c.equipment_makers if m and m.lower() in maker), None)
    hit_ssid = next((p for p in c.equipment_ssid_patterns if p and p.lower() in ssid), None)
    points = min(c.equipment_points_max,
                 (c.equipment_maker_points if hit_maker else 0.0)
                 + (c.equipment_ssid_points if hit_ssid else 0.0))
    parts = []
    if hit_maker:
        parts.append(f"made by a vehicle/industrial modem maker ({network.manufacturer})")
    if hit_ssid:
        parts.append(f"SSID {network.ssid!r} looks like a car or mobile hotspot "
                     f"({hit_ssid.strip()!r})")
    text = ("Equipment " + " and ".join(parts) + "." if parts
            else "Ordinary equipment: no vehicle-modem maker or hotspot SSID.")
    return make_factor("equipment", points, text, maker=hit_maker, ssid_pattern=hit_ssid)


def agency(fixes: list[Fix], ctx: ScoringContext, c: ScoringConfig) -> dict[str, Any]:
    """Seen near an agency office: stated so the user can weigh it."""
    if not ctx.agency_offices:
        return make_factor("agency", 0.0, "No agency offices loaded.", office=None)
    radius = c.agency_radius_km * 1000.0
    index = ctx.agency_index(radius)
    best: tuple[str, float] | None = None
    hits = 0
    for f in fixes:
        near = index.nearest_within(f.lat, f.lon, radius)
        if near:
            hits += 1
            if best is None or near[1] < best[1]:
                best = near
    if not best:
        return make_factor("agency", 0.0,
                           f"Never seen within {c.agency_radius_km:g} km of an agency office.",
                           office=None)
    return make_factor("agency", c.agency_points,
                       f"Seen {plural(hits, 'time')} within {c.agency_radius_km:g} km of the "
                       f"agency office {best[0]!r} (closest {best[1]:.0f} m).",
                       office=best[0], distance_m=round(best[1], 1), sightings=hits)


def tracker_kind(kind: trackers.TrackerKind, network: NetworkInfo, moves_with_you: bool,
                  c: ScoringConfig) -> dict[str, Any]:
    """A tracker maker's id: the kind, its address habits, and points only when it moves with the person."""
    address = ("a random static address (rotating tags use one)" if trackers.random_address(network.bssid)
               else "a fixed address")
    text = (f"Manufacturer id 0x{kind.company_id:04X}: a {kind.maker} {kind.kind}, with {address}; its address "
            f"changes {kind.rotation}, so each address may be all a file shows of it")
    if not moves_with_you:
        return make_factor("tracker_kind", 0.0, text + "; it did not move with you, so no points.",
                           kind=kind.kind, maker=kind.maker)
    return make_factor("tracker_kind", c.tracker_kind_points, text + ", and it moved with you.",
                       kind=kind.kind, maker=kind.maker)
