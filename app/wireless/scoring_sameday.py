"""Same-day following (issue 20.1): AirGuard's criteria as a factor of the one scorer.

AirGuard (seemoo-lab, RiskLevelEvaluator) warns about a tracker that was with the person at
three or more distinct, accurately located places over at least 30/60/90 minutes
(sensitivity high/medium/low), looking back 14 days, and raises the risk when that happened
on two or more days within five. This module applies the same test per local day:

- a sighting is a new *location* only when it is further from every location already
  counted that day than the sum of both fixes' GPS accuracy (AirGuard's rule) AND than twice
  the radio's range (a fixed radio cannot be heard at two points further apart than that,
  so a roadside access point passed on the commute, or a colleague's phone at work, stays
  one location however often it is seen);
- the day's tracked time is first to last sighting that day;
- a day qualifies with >= `sameday_min_locations` locations and a tracked time at or above
  the sensitivity's minutes; only days inside the last `sameday_window_days` count;
- a known tracker kind (trackers.py) uses AirGuard's per-kind values instead: its number of
  locations at the sensitivity (2/3/4 for high/medium/low, Tile 3/4/5), tracked for at least
  its minTrackingTime (30 min), and first seen at least the sensitivity's minutes before.

The person's own gadgets qualify too (they go everywhere): the scorer's own-device discount
(x0.2 for a constantly strong signal) is what keeps them low, as for every other factor.
Pure functions, no database: called by app/wireless/scoring.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from app.wireless.geo import haversine_m

SENSITIVITY_MINUTES = {"HIGH": 30.0, "MEDIUM": 60.0, "LOW": 90.0}  # AirGuard's thresholds
MAX_LOCATIONS_PER_DAY = 24  # enough to explain; bounds the per-sighting work


class Fix(Protocol):
    ts: float
    lat: float
    lon: float
    acc: float
    day: date


def day_locations(fixes: Sequence[Fix], separation_floor_m: float, unknown_accuracy_m: float
                  ) -> list[tuple[float, float, float]]:
    """Distinct accurately located places of one day's fixes (lat, lon, accuracy), greedy in time order."""
    out: list[tuple[float, float, float]] = []
    for f in fixes:
        acc = f.acc or unknown_accuracy_m  # unknown accuracy: assume the worst accepted fix
        if all(haversine_m(f.lat, f.lon, lat, lon) > max(acc + a, separation_floor_m) for lat, lon, a in out):
            out.append((f.lat, f.lon, acc))
            if len(out) >= MAX_LOCATIONS_PER_DAY:
                break
    return out


def minimums(c: Any, kind: Any = None) -> tuple[float, int, float]:
    """(tracked minutes a day needs, places it needs, minutes the radio must be known by then).

    A known tracker kind takes AirGuard's two time tests apart: tracked for at least the
    kind's minTrackingTime (first to last sighting), and first discovered at least the
    sensitivity's minutes before (RiskLevelEvaluator.getAtLeastTrackedSince), with the kind's
    number of locations at that sensitivity. Any other radio needs the sensitivity's minutes
    of tracking that day and `sameday_min_locations` places (it has no maker to vouch for it).
    """
    sensitivity_minutes = SENSITIVITY_MINUTES[c.sameday_sensitivity]
    if kind is None:
        return sensitivity_minutes, c.sameday_min_locations, 0.0
    return kind.min_minutes, kind.min_places(c.sameday_sensitivity), sensitivity_minutes


def qualifying_days(fixes: Sequence[Fix], now_ts: float, c: Any, range_m: float,
                    kind: Any = None) -> list[dict[str, Any]]:
    """Per day inside the relevance window: locations and tracked minutes, with `qualifies`.

    kind: a known tracker kind (app/wireless/trackers.py), whose AirGuard minimums apply.
    """
    since = now_ts - c.sameday_window_days * 86400
    minutes_needed, places_needed, known_needed = minimums(c, kind)
    by_day: dict[date, list[Fix]] = {}
    first_ts = None
    for f in fixes:
        if f.ts >= since:
            by_day.setdefault(f.day, []).append(f)
            first_ts = f.ts if first_ts is None else min(first_ts, f.ts)
    out = []
    for day in sorted(by_day):
        day_fixes = by_day[day]
        locations = day_locations(day_fixes, 2 * range_m, c.max_accuracy_m)
        minutes = (day_fixes[-1].ts - day_fixes[0].ts) / 60.0
        known = (day_fixes[-1].ts - first_ts) / 60.0
        out.append({"day": day.isoformat(), "locations": len(locations), "minutes": round(minutes, 1),
                    "known_minutes": round(known, 1),
                    "qualifies": len(locations) >= places_needed and minutes >= minutes_needed
                    and known >= known_needed})
    return out


def repeated(days: list[date], repeat_days: int, window_days: int) -> bool:
    """Whether `repeat_days` of these (sorted) days fall within some `window_days`-day window."""
    if repeat_days <= 1:
        return bool(days)
    span = timedelta(days=window_days - 1)
    return any(days[i + repeat_days - 1] - days[i] <= span for i in range(len(days) - repeat_days + 1))


def same_day_factor(fixes: Sequence[Fix], now_ts: float, rtype: str, c: Any,
                    make_factor: Callable[..., dict[str, Any]], kind: Any = None) -> dict[str, Any]:
    """The `same_day` factor: points for days that meet AirGuard's following criteria.

    kind: a known tracker kind (app/wireless/trackers.py), whose AirGuard minimums apply.
    """
    range_m = c.radio_range_m.get(rtype, 150.0)
    per_day = qualifying_days(fixes, now_ts, c, range_m, kind)
    good = [d for d in per_day if d["qualifies"]]
    minutes, places, known = minimums(c, kind)
    sensitivity = f"{c.sameday_sensitivity.lower()} sensitivity"
    how = (f"AirGuard's {kind.maker} {kind.kind} minimums at {sensitivity}, known to you for >= {known:g} min"
           if kind else sensitivity)
    criteria = (f">= {places} places more than {2 * range_m:g} m and the sum of GPS accuracies "
                f"apart, tracked >= {minutes:g} min ({how}), last {c.sameday_window_days} days")
    details = {"qualifying_days": [d["day"] for d in good], "days_checked": len(per_day),
               "best": max(per_day, key=lambda d: (d["qualifies"], d["locations"], d["minutes"]), default=None)}
    if not good:
        best = details["best"]
        seen = (f"; best day {best['day']}: {best['locations']} place(s) over {best['minutes']:.0f} min"
                if best else "; no sightings in the window")
        return make_factor("same_day", 0.0, f"Never with you on one day at {criteria}{seen}.",
                           repeated=False, **details)
    dates = [date.fromisoformat(d["day"]) for d in good]
    again = repeated(dates, c.sameday_repeat_days, c.sameday_repeat_window_days)
    points = c.sameday_repeat_points if again else c.sameday_day_points
    best = max(good, key=lambda d: (d["locations"], d["minutes"]))
    text = (f"With you on {len(good)} day(s) at {criteria} (e.g. {best['day']}: {best['locations']} places "
            f"over {best['minutes']:.0f} min): AirGuard's test for a tracker following you")
    if again:
        text += (f"; on {c.sameday_repeat_days} or more days within {c.sameday_repeat_window_days}, "
                 "so it is not a one-off")
    return make_factor("same_day", points, text + ".", repeated=again, **details)
