"""The person's frequent places, and watchers parked at any of them (issue 20.3).

`learn_places(track)` finds where the person stays from their own positions over time (the
sensor track: every scan, or one averaged point per few minutes): a *stay* is a run of
points within `frequent_stay_radius_m` of its first point lasting `frequent_stay_minutes`
or more; stays within `frequent_place_radius_m` of each other are one *place*; a place the
person stayed at on `frequent_place_min_days` local days or more is *frequent* (home, work,
the gym, the shop they use every week). Nothing needs to be marked by hand.

`watcher_factor` then asks of one radio: was it seen near two or more of those places, and
(almost) nowhere else? A fixed radio lives at one place; the person's own gadgets and a car
following them are also heard on the roads between places. A radio that waits at work, then
waits at the shop, and is never heard in between is parked where the person goes: a
watcher. Pure functions, no database: app/wireless/rescore.py feeds the track from the
organization's sightings, the scenario from its generated track.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from app.wireless.geo import haversine_m


@dataclass(frozen=True, slots=True)
class FrequentPlace:
    """A place the person stays at often: centre, local days stayed, and stays counted."""

    lat: float
    lon: float
    days: int
    stays: int

    def label(self) -> str:
        return f"({self.lat:.4f}, {self.lon:.4f}), stayed on {self.days} days"


def learn_places(track: Iterable[tuple[float, float, float]], c: Any, tz: tzinfo = UTC) -> list[FrequentPlace]:
    """Frequent places from (epoch seconds, lat, lon) points of the person's own track, most-used first."""
    points = sorted(track)
    stays: list[tuple[float, float, float, float]] = []  # lat, lon, start, end
    i = 0
    while i < len(points):
        t0, lat0, lon0 = points[i]
        j = i
        while j + 1 < len(points) and haversine_m(lat0, lon0, points[j + 1][1], points[j + 1][2]) \
                <= c.frequent_stay_radius_m:
            j += 1
        if points[j][0] - t0 >= c.frequent_stay_minutes * 60:
            run = points[i:j + 1]
            stays.append((sum(p[1] for p in run) / len(run), sum(p[2] for p in run) / len(run), t0, points[j][0]))
        i = j + 1
    clusters: list[dict[str, Any]] = []
    for lat, lon, start, end in stays:
        near = next((cl for cl in clusters if haversine_m(lat, lon, cl["lat"], cl["lon"])
                     <= c.frequent_place_radius_m), None)
        if near is None:
            near = {"lat": lat, "lon": lon, "days": set(), "stays": 0}
            clusters.append(near)
        near["stays"] += 1
        near["days"] |= {datetime.fromtimestamp(start, tz).date(), datetime.fromtimestamp(end, tz).date()}
    places = [FrequentPlace(cl["lat"], cl["lon"], len(cl["days"]), cl["stays"]) for cl in clusters
              if len(cl["days"]) >= c.frequent_place_min_days]
    return sorted(places, key=lambda p: (-p.days, -p.stays))


def watcher_factor(fixes: Sequence[Any], places: Sequence[FrequentPlace], c: Any,
                   make_factor: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The `watcher` factor: parked near two or more frequent places and seen nowhere else."""
    if not places:
        return make_factor("watcher", 0.0, "No frequent places learned from your own sightings yet.", places=[])
    radius = c.frequent_place_radius_m
    hits: dict[int, set[Any]] = {}
    elsewhere = 0
    for f in fixes:
        best = min(range(len(places)), key=lambda k: haversine_m(f.lat, f.lon, places[k].lat, places[k].lon))
        if haversine_m(f.lat, f.lon, places[best].lat, places[best].lon) <= radius:
            hits.setdefault(best, set()).add(f.day)
        else:
            elsewhere += 1
    share = 1 - elsewhere / len(fixes)
    days = set().union(*hits.values()) if hits else set()
    named = [f"{places[k].label()}: seen on {len(hits[k])} days" for k in sorted(hits)]
    details = {"places": named, "share_at_places": round(share, 3), "days": len(days)}
    if len(hits) < c.watcher_min_places or share < c.watcher_min_share or len(days) < 2:
        why = (f"near {len(hits)} of your {len(places)} frequent places" if len(hits) < c.watcher_min_places
               else f"only {share:.0%} of its sightings at them (also heard elsewhere, e.g. on the road)"
               if share < c.watcher_min_share else "on a single day")
        return make_factor("watcher", 0.0, f"Not a watcher at your frequent places: {why}.", **details)
    points = min(c.watcher_points_max,
                 c.watcher_points + c.watcher_extra_place_points * (len(hits) - c.watcher_min_places))
    return make_factor(
        "watcher", points,
        f"Parked near {len(hits)} of the places you stay at often ({'; '.join(named)}) and {share:.0%} of its "
        "sightings are there, none on the way between them: something that waits where you go.", **details)
