"""Threat-scoring factors of movement and time (app/wireless/scoring.py runs them): follow
legs, parked surveillance, home correlation, temporal persistence and the own-gadget
strong-signal discount. Pure functions over time-ordered fixes; docs/wireless-scoring.md
explains each.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from app.wireless import geo
from app.wireless.scoring_config import RADIO_NAMES, ScoringConfig
from app.wireless.scoring_inputs import (
    Fix,
    ScoringContext,
    make_factor,
    plural,
)


def follow_legs(fixes: list[Fix], rtype: str, c: ScoringConfig) -> dict[str, Any]:
    """Consecutive sightings far apart: the radio was here, then there, as the user was."""
    radio_range = c.radio_range_m.get(rtype, 150.0)
    legs = implausible = 0
    km = 0.0
    max_kmh = 0.0
    worst_kmh = 0.0
    days: set[date] = set()
    for a, b in zip(fixes, fixes[1:], strict=False):
        d = geo.haversine_m(a.lat, a.lon, b.lat, b.lon)
        if d < c.leg_min_distance_m:
            continue
        # The sensor's fix is where the user was; the radio itself may sit up to its range
        # away at each end, plus the GPS error, before any movement has to be explained.
        slack = 2 * radio_range + a.acc + b.acc
        dt = b.ts - a.ts
        moved = max(0.0, d - slack)
        kmh = math.inf if dt <= 0 and moved > 0 else (moved / dt * 3.6 if dt > 0 else 0.0)
        if kmh > c.max_speed_kmh:
            implausible += 1
            worst_kmh = max(worst_kmh, kmh)
            continue
        legs += 1
        km += d / 1000.0
        if dt > 0:
            max_kmh = max(max_kmh, d / dt * 3.6)
        days.add(b.day)
    p_legs = min(c.leg_points_max, c.leg_points_each * legs)
    p_km = min(c.leg_distance_points_max, km / c.leg_km_per_point)
    p_days = min(c.leg_day_points_max, c.leg_day_points_each * len(days))
    points = min(c.follow_points_max, p_legs + p_km + p_days)
    if legs:
        text = (f"{plural(legs, 'leg')} of >= {c.leg_min_distance_m:g} m between consecutive "
                f"sightings, {km:.1f} km in all, on {plural(len(days), 'day')} "
                f"(fastest {max_kmh:.0f} km/h).")
    else:
        text = "Never seen moving: no two consecutive sightings are far apart."
    if implausible:
        worst = "instant" if math.isinf(worst_kmh) else f"{worst_kmh:.0f} km/h"
        text += (f" {plural(implausible, 'jump')} would need more than {c.max_speed_kmh:g} "
                 f"km/h for a {RADIO_NAMES.get(rtype, rtype)} radio (worst: {worst}) even "
                 f"allowing for its ~{radio_range:g} m range: likely a reused or spoofed "
                 "address or a bad fix, so not counted.")
    return make_factor("follow_legs", points, text, legs=legs, km=round(km, 2),
                       days=len(days), max_kmh=round(max_kmh, 1), implausible=implausible,
                       leg_points=round(p_legs, 1), distance_points=round(p_km, 1),
                       day_points=round(p_days, 1))


def parked(fixes: list[Fix], ctx: ScoringContext, c: ScoringConfig, mobile: bool,
           spots: geo.PlaceIndex) -> dict[str, Any]:
    """Repeated detections on many days within parked_radius_m of one spot (a stake-out);
    `spots` is an empty index of parked_radius_m cells."""
    days: list[set[date]] = []
    buckets: list[set[int]] = []
    bucket_s = c.parked_time_bucket_hours * 3600
    for f in fixes:
        i = spots.add(f.lat, f.lon)
        if i == len(days):
            days.append(set())
            buckets.append(set())
        days[i].add(f.day)
        buckets[i].add(f.sod // bucket_s)
    best = max(range(len(days)), key=lambda i: (len(days[i]), -i))
    n_days, n_buckets = len(days[best]), len(buckets[best])
    spot = spots.places[best]
    if n_days < c.parked_min_days:
        return make_factor("parked", 0.0,
                           f"Not parked: at most {plural(n_days, 'day')} at any one spot "
                           f"(needs {c.parked_min_days}).", days=n_days, established=False)
    base = (min(c.parked_day_points_max, c.parked_day_points_each * n_days)
            + min(c.parked_time_points_max, c.parked_time_points_each * (n_buckets - 1)))
    if ctx.home:
        hlat, hlon, hr = ctx.home
        dist_km = geo.haversine_m(spot.lat, spot.lon, hlat, hlon) / 1000.0
        over = max(0.0, dist_km - hr)
        weight = max(c.parked_far_weight,
                     1.0 - (1.0 - c.parked_far_weight) * over / c.parked_home_decay_km)
        where = (f"{dist_km * 1000:.0f} m from home" if over == 0
                 else f"{dist_km:.1f} km from home")
    else:
        dist_km, weight, where = None, c.parked_far_weight, "no home set"
    text = (f"Seen within {c.parked_radius_m:g} m of one spot ({where}) on "
            f"{plural(n_days, 'day')} in {plural(n_buckets, 'time-of-day slot')} of "
            f"{c.parked_time_bucket_hours} h; weight {weight:.2f} for closeness to home.")
    if not mobile:
        weight *= c.parked_fixed_weight
        text += (f" The radio never moved and looks like ordinary fixed equipment (a "
                 f"neighbour's access point), so this counts x{c.parked_fixed_weight:g}.")
    return make_factor("parked", base * weight, text, days=n_days, time_slots=n_buckets,
                       home_km=None if dist_km is None else round(dist_km, 3),
                       weight=round(weight, 3), mobile=mobile, established=mobile,
                       lat=round(spot.lat, 6), lon=round(spot.lon, 6))


def home_correlation(fixes: list[Fix], place_of: list[int], ctx: ScoringContext,
                      c: ScoringConfig) -> dict[str, Any]:
    """Seen both at home and well away from it: it goes where the user goes."""
    if not ctx.home:
        return make_factor("home_correlation", 0.0, "No home location set.", home=0, away=0)
    hlat, hlon, hr = ctx.home
    home_m = hr * 1000.0
    # "Away" must clear the home radius by a place radius, so one noisy fix at the edge of
    # home does not count as a trip.
    away_m = home_m + c.place_radius_m
    at_home = away = 0
    away_places: set[int] = set()
    for f, p in zip(fixes, place_of, strict=True):
        d = geo.haversine_m(f.lat, f.lon, hlat, hlon)
        if d <= home_m:
            at_home += 1
        elif d > away_m:
            away += 1
            away_places.add(p)
    if at_home and away:
        return make_factor("home_correlation", c.home_points,
                           f"Seen at home ({plural(at_home, 'sighting')}) and away from it "
                           f"({plural(away, 'sighting')} at {plural(len(away_places), 'place')}).",
                           home=at_home, away=away, away_places=len(away_places))
    where = "only at home" if at_home else "only away from home" if away else "near home"
    return make_factor("home_correlation", 0.0, f"Seen {where}; no home-and-away pattern.",
                       home=at_home, away=away, away_places=len(away_places))


def persistence(fixes: list[Fix], c: ScoringConfig) -> dict[str, Any]:
    """Days on which the radio stayed around, not days it was only passed on the road.

    A day's sightings split into encounters wherever two are more than
    passing_gap_minutes apart. An encounter is "passing" when it lasts at most
    passing_window_minutes and is a single glimpse or the sensor covered ground at
    passing_speed_kmh or more. A day whose encounters are all passing is discounted (it is
    what a commuter sees of every roadside access point, twice a day).
    """
    persistent = passing = 0
    window = c.passing_window_minutes * 60
    gap = c.passing_gap_minutes * 60
    n = len(fixes)
    i = 0
    while i < n:  # fixes are in time order, so each local day is one run
        day_is_passing = True
        while True:  # one encounter per turn, from i to j
            j = i
            while (j + 1 < n and fixes[j + 1].day == fixes[i].day
                   and fixes[j + 1].ts - fixes[j].ts <= gap):
                j += 1
            span = fixes[j].ts - fixes[i].ts
            if span > window:
                day_is_passing = False
            elif span > 0:
                kmh = geo.haversine_m(fixes[i].lat, fixes[i].lon, fixes[j].lat, fixes[j].lon) \
                    / span * 3.6
                if kmh < c.passing_speed_kmh:
                    day_is_passing = False
            nxt = j + 1
            if nxt >= n or fixes[nxt].day != fixes[i].day:
                break
            i = nxt
        if day_is_passing:
            passing += 1
        else:
            persistent += 1
        i = j + 1
    points = min(c.persistence_points_max, c.persistence_day_points * persistent)
    text = f"Around on {plural(persistent, 'day')}"
    if passing:
        text += (f"; {plural(passing, 'day')} discounted as only passed while travelling "
                 f"(every encounter that day under {c.passing_window_minutes:g} min, a single "
                 f"glimpse or at >= {c.passing_speed_kmh:g} km/h)")
    return make_factor("persistence", points, text + ".", days=persistent, passing_days=passing)


def strong_signal(fixes: list[Fix], rtype: str, c: ScoringConfig, total: float
                   ) -> dict[str, Any] | None:
    """Consistently very strong: carried on the user's body, i.e. their own gadget."""
    if rtype not in c.strong_rssi_types or total <= 0:
        return None
    levels = [f.level for f in fixes if f.level is not None]
    if len(levels) < c.strong_rssi_min_sightings:
        return None
    strong = sum(1 for lv in levels if lv >= c.strong_rssi_dbm)
    share = strong / len(levels)
    if share < c.strong_rssi_fraction:
        return None
    new = total * c.strong_rssi_multiplier
    return make_factor(
        "own_device", new - total,
        f"{share:.0%} of {len(levels)} sightings at >= {c.strong_rssi_dbm:g} dBm: a radio this "
        "close all the time is carried by the user (their phone, watch or earbuds), so the "
        f"score counts x{c.strong_rssi_multiplier:g}.",
        strong_share=round(share, 3), sightings=len(levels))
