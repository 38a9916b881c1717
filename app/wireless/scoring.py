"""The ONE threat scorer of ShadowCheck: does this radio follow the user? Pure, no database.

`score_network(sightings, network, context, config)` turns one network's sightings into a
0..100 score, a level and a list of explained factors (stored as the network's
`threat_factors`). Every factor, its points and the reasoning behind them are documented in
docs/wireless-scoring.md; the order of operations is:

1. Hygiene: fixes without a position, with accuracy worse than `max_accuracy_m`, or dated
   more than `future_tolerance_hours` after `context.now` are dropped; sightings are sorted
   by time; above `max_sightings` an evenly spaced sample (first and last kept) is scored.
2. Cellular radios (GSM, CDMA, WCDMA, LTE, NR) stop here with 0 points: towers are fixed
   infrastructure that every phone sees everywhere, so they never score.
3. Additive factors: follow legs, parked surveillance, home correlation, fleet bonus,
   equipment profile, temporal persistence, agency-office proximity, and issue 20's
   families in their own modules: same-day following (scoring_sameday.py), watchers at the
   person's learned places (scoring_places.py) and the Bluetooth tracker kind (trackers.py).
   Their sum is clamped at 100. The settings live in scoring_config.py.
4. Discounts, each a factor with negative points so the breakdown adds up to the score:
   own-gadget signal (consistently very strong RSSI), then the AirGuard-style minimums cap.
5. The tag overlay, applied last (see `apply_tags`).

Everything is O(n log n) in the number of sightings (one sort, then single passes with
grid look-ups), so 100,000 networks can be rescored in one job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from fnmatch import fnmatchcase
from typing import Any

from app.wireless import trackers
from app.wireless.geo import PlaceIndex, PointIndex, haversine_m
from app.wireless.scoring_config import RADIO_NAMES, ScoringConfig
from app.wireless.scoring_places import FrequentPlace, watcher_factor
from app.wireless.scoring_sameday import same_day_factor

SCORING_VERSION = "rules-1"
LEVELS = ("NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
CELLULAR_TYPES = frozenset("GCDLN")  # GSM, CDMA, WCDMA, LTE, NR
# WiGLE's Type column and other spellings importers may hand over, to the one-letter code.
RADIO_ALIASES = {"WIFI": "W", "WI-FI": "W", "WLAN": "W", "BT": "B", "BLUETOOTH": "B",
                 "BLE": "E", "GSM": "G", "CDMA": "C", "WCDMA": "D", "UMTS": "D", "LTE": "L",
                 "NR": "N", "5G": "N"}
DISMISS_TAGS = frozenset({"FALSE_POSITIVE", "LEGIT"})
THREAT_TAG = "THREAT"
NOTE_TAGS = frozenset({"SUSPECT", "INVESTIGATE"})

# ---------------------------------------------------------------- inputs and outputs


@dataclass(frozen=True, slots=True)
class Sighting:
    """One observation of a radio: where the sensor was, when, and how strong the signal was.

    `time` should be timezone-aware (a naive datetime is taken as UTC); `level` is dBm
    (None when unknown); `accuracy` is the GPS accuracy in metres (None or 0: unknown).
    """

    time: datetime
    lat: float
    lon: float
    level: float | None = None
    accuracy: float | None = None
    ssid: str = ""
    # False: the collector had no clock fix. Such a sighting counts for where the radio was
    # (places, home correlation, agency offices), never for when (legs, days, time slots).
    time_known: bool = True


@dataclass(frozen=True)
class NetworkInfo:
    """What is known about the radio itself.

    radio_type: W Wi-Fi, B Bluetooth classic, E BLE, G GSM, C CDMA, D WCDMA, L LTE, N NR.
    tags: the network's classification tags (THREAT, SUSPECT, INVESTIGATE,
    FALSE_POSITIVE, LEGIT), any case.
    mfgr_id: for Bluetooth, the company id of its manufacturer data (a tracker maker's id
    makes it a tracker of that kind: app/wireless/trackers.py).
    """

    bssid: str
    ssid: str = ""
    radio_type: str = "W"
    manufacturer: str | None = None
    tags: Sequence[str] = ()
    mfgr_id: int | None = None  # Bluetooth company id from the manufacturer data (WiGLE MfgrId)


@dataclass
class ScoringContext:
    """What the user has told us (home, agency offices) and what the last run learned.

    home: (lat, lon, radius_km) of the home marker, or None.
    agency_offices: (name, lat, lon) per office.
    fleet_manufacturers / fleet_ssid_patterns: manufacturers and SSID globs (fnmatch, case
    insensitive, e.g. "Jetpack-*") of networks that already score HIGH or above.
    fleet_members: for each of those (key: the lower-cased manufacturer, or the pattern),
    the BSSIDs of the high scorers it came from. A network is never its own fleet: a key
    whose only member is the network itself gives no bonus (a key left out counts as
    other radios).
    now: the scoring time (sightings far in its future are bad clocks); defaults to now.
    tz: the user's time zone, which decides where one day ends (default UTC).
    frequent_places: where the person stays often, learned from their own track
    (app/wireless/scoring_places.py learn_places).
    """

    home: tuple[float, float, float] | None = None
    agency_offices: Sequence[tuple[str, float, float]] = ()
    fleet_manufacturers: Sequence[str] = ()
    fleet_ssid_patterns: Sequence[str] = ()
    fleet_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    now: datetime | None = None
    tz: tzinfo = UTC
    frequent_places: Sequence[FrequentPlace] = ()
    # Built once per context and reused for every network of a rescoring run.
    _agency_index: dict[float, PointIndex] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)
    _fleet_makers: frozenset[str] | None = field(default=None, init=False, repr=False,
                                                  compare=False)

    def agency_index(self, radius_m: float) -> PointIndex:
        """The offices in a grid sized for radius_m (cached)."""
        idx = self._agency_index.get(radius_m)
        if idx is None:
            idx = self._agency_index[radius_m] = PointIndex(self.agency_offices, radius_m)
        return idx

    def fleet_makers(self) -> frozenset[str]:
        """Fleet manufacturers, lower-cased (cached)."""
        if self._fleet_makers is None:
            self._fleet_makers = frozenset(m.strip().lower() for m in self.fleet_manufacturers
                                           if m and m.strip())
        return self._fleet_makers


@dataclass
class ScoreResult:
    """The score (0..100, one decimal), its level and the explained factors.

    factors: [{"code", "points", "explanation", "details"}], in the order applied; the
    points add up to the score (discounts and the overlay appear with negative or
    positive points of their own).
    """

    score: float
    level: str
    factors: list[dict[str, Any]]
    version: str = SCORING_VERSION

    def factor(self, code: str) -> dict[str, Any] | None:
        """The factor with this code, or None."""
        return next((f for f in self.factors if f["code"] == code), None)

    def explain(self) -> str:
        """A human-readable breakdown, one line per factor."""
        lines = [f"Score {self.score:.1f} ({self.level})"]
        for f in self.factors:
            lines.append(f"{f['points']:+6.1f}  {f['code']}: {f['explanation']}")
        return "\n".join(lines)

    def to_mapping(self) -> dict[str, Any]:
        """JSON for networks.threat_factors / network_threat_scores.factors."""
        return {"version": self.version, "score": self.score, "level": self.level,
                "factors": self.factors}


# ---------------------------------------------------------------- small public helpers


def level_for(score: float, config: ScoringConfig | None = None) -> str:
    """CRITICAL, HIGH, MEDIUM, LOW or NONE for a score, by the config's thresholds."""
    c = config or ScoringConfig()
    if score >= c.level_critical:
        return "CRITICAL"
    if score >= c.level_high:
        return "HIGH"
    if score >= c.level_medium:
        return "MEDIUM"
    if score >= c.level_low:
        return "LOW"
    return "NONE"


def blend(rule_score: float, ml_probability: float | None, ml_weight: float = 0.3) -> float:
    """Combine the rule score with an ML threat probability: (1-w)*rule + w*100*p.

    No probability means the rule score alone. Rounded to one decimal, clamped to 0..100.
    """
    if not 0 <= ml_weight <= 1:
        raise ValueError("ml_weight must be between 0 and 1")
    if ml_probability is None:
        return _clamp(rule_score)
    if not 0 <= ml_probability <= 1:
        raise ValueError("ml_probability must be between 0 and 1")
    return _clamp((1 - ml_weight) * rule_score + ml_weight * 100.0 * ml_probability)


def radio_code(value: str | None) -> str:
    """The one-letter radio type (W B E G C D L N) of a code or a name like "BLE"/"WCDMA"."""
    v = (value or "").strip().upper()
    if v in RADIO_ALIASES:
        return RADIO_ALIASES[v]
    return v if v in RADIO_NAMES else "W" if not v else v[:1]


def _clamp(x: float) -> float:
    return round(min(100.0, max(0.0, x)), 1)


def _factor(code: str, points: float, explanation: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "points": round(points, 1), "explanation": explanation,
            "details": details}


def _plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


# ---------------------------------------------------------------- the scorer


@dataclass(slots=True)
class _Fix:
    ts: float  # epoch seconds
    lat: float
    lon: float
    level: float | None
    acc: float
    day: date  # local date in the context's time zone
    sod: int  # local seconds since midnight


def _prepare(sightings: Iterable[Sighting], ctx: ScoringContext, c: ScoringConfig,
             now: datetime) -> tuple[list[_Fix], dict[str, int]]:
    """Usable fixes in time order, and how many were dropped or sampled away, by reason."""
    limit = now.timestamp() + c.future_tolerance_hours * 3600
    dropped = {"no_position": 0, "inaccurate": 0, "future": 0, "sampled_out": 0}
    raw: list[tuple[float, Sighting]] = []
    for s in sightings:
        lat, lon = s.lat, s.lon
        if (lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180)
                or (lat == 0 and lon == 0) or lat != lat or lon != lon):
            dropped["no_position"] += 1
            continue
        if s.accuracy and s.accuracy > c.max_accuracy_m:
            dropped["inaccurate"] += 1
            continue
        t = s.time if s.time.tzinfo else s.time.replace(tzinfo=UTC)
        ts = t.timestamp()
        if ts > limit:
            dropped["future"] += 1
            continue
        raw.append((ts, s))
    raw.sort(key=lambda p: p[0])
    if len(raw) > c.max_sightings:
        # Even stride keeps the time shape (days, legs) of the series; first and last stay.
        stride = math.ceil(len(raw) / c.max_sightings)
        kept = raw[::stride]
        if kept[-1] is not raw[-1]:
            kept.append(raw[-1])
        dropped["sampled_out"] = len(raw) - len(kept)
        raw = kept
    tz = ctx.tz
    fixes = []
    for ts, s in raw:
        local = datetime.fromtimestamp(ts, tz)
        fixes.append(_Fix(ts, s.lat, s.lon, s.level, float(s.accuracy or 0.0), local.date(),
                          local.hour * 3600 + local.minute * 60 + local.second))
    return fixes, dropped


def score_network(sightings: Iterable[Sighting], network: NetworkInfo,
                  context: ScoringContext | None = None,
                  config: ScoringConfig | None = None) -> ScoreResult:
    """Score one radio from its sightings (see the module docstring and the docs)."""
    ctx = context or ScoringContext()
    c = config or ScoringConfig()
    now = ctx.now or datetime.now(UTC)
    rtype = radio_code(network.radio_type)
    factors: list[dict[str, Any]] = []

    if rtype in CELLULAR_TYPES:
        factors.append(_factor(
            "cellular", 0.0,
            f"{RADIO_NAMES[rtype]} cell towers are fixed infrastructure that every phone sees "
            "wherever it goes; they never score (x0)."))
        return _finish(0.0, factors, network, c)

    sightings = list(sightings)
    fixes, dropped = _prepare([s for s in sightings if s.time_known], ctx, c, now)
    # Where, without when: positions only (their time fields are placeholders no factor reads).
    untimed, _ = _prepare([replace(s, time=now) for s in sightings if not s.time_known], ctx, c, now)
    if untimed:
        factors.append(_factor(
            "time_unknown", 0.0,
            f"{_plural(len(untimed), 'sighting')} without a time (the collector had no clock fix): "
            "used for places, home and agency offices, never for time-based factors.",
            sightings=len(untimed)))
    if any(dropped.values()):
        parts = [f"{n} {k.replace('_', ' ')}" for k, n in dropped.items() if n]
        factors.append(_factor(
            "data_quality", 0.0,
            "Sightings set aside before scoring: " + ", ".join(parts)
            + f" (accuracy limit {c.max_accuracy_m:g} m, sample limit {c.max_sightings}).",
            **dropped, used=len(fixes)))
    if not fixes:
        # Only untimed sightings: without any time, the minimums (time tracked) would cap any
        # place-based points anyway, so there is nothing to score.
        factors.append(_factor("no_data", 0.0, "No usable sightings with a time to score."
                               if untimed else "No usable sightings to score."))
        return _finish(0.0, factors, network, c)

    places = PlaceIndex(c.place_radius_m)
    place_of = [places.add(f.lat, f.lon) for f in fixes]
    placed = fixes + untimed
    place_of_placed = place_of + [places.add(f.lat, f.lon) for f in untimed]
    n_places = len(places.places)

    follow = _follow_legs(fixes, rtype, c)
    equipment = _equipment(network, c)
    fleet = _fleet(network, ctx, c)
    mobile = bool(follow["details"]["legs"] or equipment["points"] or fleet["points"])
    parked = _parked(fixes, ctx, c, mobile)
    home = _home_correlation(placed, place_of_placed, ctx, c)
    persistence = _persistence(fixes, c)
    agency = _agency(placed, ctx, c)
    kind = trackers.kind_for(network.mfgr_id) if rtype in "BE" else None
    same_day = same_day_factor(fixes, now.timestamp(), rtype, c, _factor, kind)
    watcher = watcher_factor(fixes, ctx.frequent_places, c, _factor)
    additive = [follow, parked, home, fleet, equipment, persistence, agency, same_day, watcher]
    if kind:
        additive.append(_tracker_kind(kind, network, bool(same_day["points"] or follow["points"]), c))
    factors += additive

    total = sum(f["points"] for f in additive)
    if total > 100:
        factors.append(_factor("clamp", 100 - total,
                               f"Factors add up to {total:.1f}; the score stops at 100."))
        total = 100.0

    strong = _strong_signal(fixes, rtype, c, total)
    if strong:
        factors.append(strong)
        total += strong["points"]

    tracked_min = (fixes[-1].ts - fixes[0].ts) / 60.0
    parked_established = parked["details"].get("established", False)
    followed_today = bool(same_day["points"] or watcher["points"])
    short = []
    if tracked_min < c.min_tracked_minutes:
        short.append(f"tracked for {tracked_min:.0f} min (< {c.min_tracked_minutes:g})")
    if n_places < c.min_places:
        short.append(f"seen at {_plural(n_places, 'distinct place')} (< {c.min_places})")
    if short and followed_today:
        factors.append(_factor(
            "minimums", 0.0,
            "Below the overall minimums (" + "; ".join(short) + ") but not capped: it met "
            "AirGuard's minimums on one day (same_day) or waits at your places (watcher).",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    elif short and parked_established:
        factors.append(_factor(
            "minimums", 0.0,
            "Below the following minimums (" + "; ".join(short) + ") but not capped: a "
            "parked watcher stays in one place by definition and its own minimum "
            f"({c.parked_min_days} days) is met.",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    elif short and total > c.minimums_cap:
        factors.append(_factor(
            "minimums", c.minimums_cap - total,
            "Not enough evidence of following: " + "; ".join(short)
            + f", so the score is capped at {c.minimums_cap:g}.",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=True))
        total = c.minimums_cap
    else:
        factors.append(_factor(
            "minimums", 0.0,
            f"Tracked for {tracked_min:.0f} min at {_plural(n_places, 'distinct place')}"
            + ("; minimums met." if not short else "; below minimums but already low."),
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    return _finish(total, factors, network, c)


def _finish(total: float, factors: list[dict[str, Any]], network: NetworkInfo,
            c: ScoringConfig) -> ScoreResult:
    score = _clamp(total)
    score, factor = apply_tags(score, network.tags, c)
    if factor:
        factors.append(factor)
    return ScoreResult(score=score, level=level_for(score, c), factors=factors)


def apply_tags(score: float, tags: Iterable[str], config: ScoringConfig | None = None
               ) -> tuple[float, dict[str, Any] | None]:
    """The tag overlay, applied last: returns (score, overlay factor or None).

    FALSE_POSITIVE or LEGIT force 0 (level NONE) and win over every other tag, because a
    dismissal is an analyst's decision about this very radio; otherwise THREAT lifts the
    score to at least the HIGH threshold (never lowers it); SUSPECT and INVESTIGATE leave
    the score alone and are only named in the explanation.
    """
    c = config or ScoringConfig()
    tagset = {str(t).strip().upper() for t in tags or () if t}
    if tagset & DISMISS_TAGS:
        which = ", ".join(sorted(tagset & DISMISS_TAGS))
        return 0.0, _factor("tag_overlay", -score,
                            f"Tagged {which}: dismissed by an analyst, score forced to 0.",
                            tags=sorted(tagset))
    if THREAT_TAG in tagset:
        new = max(score, c.level_high)
        return round(new, 1), _factor(
            "tag_overlay", new - score,
            f"Tagged THREAT: never below the HIGH threshold ({c.level_high:g}).",
            tags=sorted(tagset))
    if tagset & NOTE_TAGS:
        which = ", ".join(sorted(tagset & NOTE_TAGS))
        return score, _factor("tag_overlay", 0.0,
                              f"Tagged {which}: noted for review; the score is unchanged.",
                              tags=sorted(tagset))
    return score, None


# ---------------------------------------------------------------- factors


def _follow_legs(fixes: list[_Fix], rtype: str, c: ScoringConfig) -> dict[str, Any]:
    """Consecutive sightings far apart: the radio was here, then there, as the user was."""
    radio_range = c.radio_range_m.get(rtype, 150.0)
    legs = implausible = 0
    km = 0.0
    max_kmh = 0.0
    worst_kmh = 0.0
    days: set[date] = set()
    for a, b in zip(fixes, fixes[1:], strict=False):
        d = haversine_m(a.lat, a.lon, b.lat, b.lon)
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
        text = (f"{_plural(legs, 'leg')} of >= {c.leg_min_distance_m:g} m between consecutive "
                f"sightings, {km:.1f} km in all, on {_plural(len(days), 'day')} "
                f"(fastest {max_kmh:.0f} km/h).")
    else:
        text = "Never seen moving: no two consecutive sightings are far apart."
    if implausible:
        worst = "instant" if math.isinf(worst_kmh) else f"{worst_kmh:.0f} km/h"
        text += (f" {_plural(implausible, 'jump')} would need more than {c.max_speed_kmh:g} "
                 f"km/h for a {RADIO_NAMES.get(rtype, rtype)} radio (worst: {worst}) even "
                 f"allowing for its ~{radio_range:g} m range: likely a reused or spoofed "
                 "address or a bad fix, so not counted.")
    return _factor("follow_legs", points, text, legs=legs, km=round(km, 2),
                   days=len(days), max_kmh=round(max_kmh, 1), implausible=implausible,
                   leg_points=round(p_legs, 1), distance_points=round(p_km, 1),
                   day_points=round(p_days, 1))


def _parked(fixes: list[_Fix], ctx: ScoringContext, c: ScoringConfig, mobile: bool
            ) -> dict[str, Any]:
    """Repeated detections on many days within parked_radius_m of one spot (a stake-out)."""
    spots = PlaceIndex(c.parked_radius_m)
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
        return _factor("parked", 0.0,
                       f"Not parked: at most {_plural(n_days, 'day')} at any one spot "
                       f"(needs {c.parked_min_days}).", days=n_days, established=False)
    base = (min(c.parked_day_points_max, c.parked_day_points_each * n_days)
            + min(c.parked_time_points_max, c.parked_time_points_each * (n_buckets - 1)))
    if ctx.home:
        hlat, hlon, hr = ctx.home
        dist_km = haversine_m(spot.lat, spot.lon, hlat, hlon) / 1000.0
        over = max(0.0, dist_km - hr)
        weight = max(c.parked_far_weight,
                     1.0 - (1.0 - c.parked_far_weight) * over / c.parked_home_decay_km)
        where = (f"{dist_km * 1000:.0f} m from home" if over == 0
                 else f"{dist_km:.1f} km from home")
    else:
        dist_km, weight, where = None, c.parked_far_weight, "no home set"
    text = (f"Seen within {c.parked_radius_m:g} m of one spot ({where}) on "
            f"{_plural(n_days, 'day')} in {_plural(n_buckets, 'time-of-day slot')} of "
            f"{c.parked_time_bucket_hours} h; weight {weight:.2f} for closeness to home.")
    if not mobile:
        weight *= c.parked_fixed_weight
        text += (f" The radio never moved and looks like ordinary fixed equipment (a "
                 f"neighbour's access point), so this counts x{c.parked_fixed_weight:g}.")
    return _factor("parked", base * weight, text, days=n_days, time_slots=n_buckets,
                   home_km=None if dist_km is None else round(dist_km, 3),
                   weight=round(weight, 3), mobile=mobile, established=mobile,
                   lat=round(spot.lat, 6), lon=round(spot.lon, 6))


def _home_correlation(fixes: list[_Fix], place_of: list[int], ctx: ScoringContext,
                      c: ScoringConfig) -> dict[str, Any]:
    """Seen both at home and well away from it: it goes where the user goes."""
    if not ctx.home:
        return _factor("home_correlation", 0.0, "No home location set.", home=0, away=0)
    hlat, hlon, hr = ctx.home
    home_m = hr * 1000.0
    # "Away" must clear the home radius by a place radius, so one noisy fix at the edge of
    # home does not count as a trip.
    away_m = home_m + c.place_radius_m
    at_home = away = 0
    away_places: set[int] = set()
    for f, p in zip(fixes, place_of, strict=True):
        d = haversine_m(f.lat, f.lon, hlat, hlon)
        if d <= home_m:
            at_home += 1
        elif d > away_m:
            away += 1
            away_places.add(p)
    if at_home and away:
        return _factor("home_correlation", c.home_points,
                       f"Seen at home ({_plural(at_home, 'sighting')}) and away from it "
                       f"({_plural(away, 'sighting')} at {_plural(len(away_places), 'place')}).",
                       home=at_home, away=away, away_places=len(away_places))
    where = "only at home" if at_home else "only away from home" if away else "near home"
    return _factor("home_correlation", 0.0, f"Seen {where}; no home-and-away pattern.",
                   home=at_home, away=away, away_places=len(away_places))


def _fleet(network: NetworkInfo, ctx: ScoringContext, c: ScoringConfig) -> dict[str, Any]:
    """Shares a manufacturer or SSID pattern with radios already scoring high."""
    maker = (network.manufacturer or "").strip().lower()
    ssid = (network.ssid or "").lower()

    def others(key: str) -> bool:
        # Without this a HIGH network feeds its own bonus on every rescore (70 became 80).
        members = ctx.fleet_members.get(key)
        return members is None or bool(members - {network.bssid})

    if maker and maker in ctx.fleet_makers() and others(maker):
        return _factor("fleet", c.fleet_points,
                       f"Same manufacturer ({network.manufacturer}) as radios already "
                       "scoring high.", match="manufacturer", value=network.manufacturer)
    for pattern in ctx.fleet_ssid_patterns:
        if ssid and pattern and fnmatchcase(ssid, pattern.lower()) and others(pattern):
            return _factor("fleet", c.fleet_points,
                           f"SSID matches {pattern!r}, a pattern of radios already scoring "
                           "high.", match="ssid", value=pattern)
    return _factor("fleet", 0.0, "No manufacturer or SSID shared with high scorers.")


def _equipment(network: NetworkInfo, c: ScoringConfig) -> dict[str, Any]:
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
    return _factor("equipment", points, text, maker=hit_maker, ssid_pattern=hit_ssid)


def _persistence(fixes: list[_Fix], c: ScoringConfig) -> dict[str, Any]:
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
                kmh = haversine_m(fixes[i].lat, fixes[i].lon, fixes[j].lat, fixes[j].lon) \
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
    text = f"Around on {_plural(persistent, 'day')}"
    if passing:
        text += (f"; {_plural(passing, 'day')} discounted as only passed while travelling "
                 f"(every encounter that day under {c.passing_window_minutes:g} min, a single "
                 f"glimpse or at >= {c.passing_speed_kmh:g} km/h)")
    return _factor("persistence", points, text + ".", days=persistent, passing_days=passing)


def _agency(fixes: list[_Fix], ctx: ScoringContext, c: ScoringConfig) -> dict[str, Any]:
    """Seen near an agency office: stated so the user can weigh it."""
    if not ctx.agency_offices:
        return _factor("agency", 0.0, "No agency offices loaded.", office=None)
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
        return _factor("agency", 0.0,
                       f"Never seen within {c.agency_radius_km:g} km of an agency office.",
                       office=None)
    return _factor("agency", c.agency_points,
                   f"Seen {_plural(hits, 'time')} within {c.agency_radius_km:g} km of the "
                   f"agency office {best[0]!r} (closest {best[1]:.0f} m).",
                   office=best[0], distance_m=round(best[1], 1), sightings=hits)


def _tracker_kind(kind: trackers.TrackerKind, network: NetworkInfo, moves_with_you: bool,
                  c: ScoringConfig) -> dict[str, Any]:
    """A tracker maker's id: the kind, its address habits, and points only when it moves with the person."""
    address = ("a random static address (rotating tags use one)" if trackers.random_address(network.bssid)
               else "a fixed address")
    text = (f"Manufacturer id 0x{kind.company_id:04X}: a {kind.maker} {kind.kind}, with {address}; its address "
            f"changes {kind.rotation}, so each address may be all a file shows of it")
    if not moves_with_you:
        return _factor("tracker_kind", 0.0, text + "; it did not move with you, so no points.",
                       kind=kind.kind, maker=kind.maker)
    return _factor("tracker_kind", c.tracker_kind_points, text + ", and it moved with you.",
                   kind=kind.kind, maker=kind.maker)


def _strong_signal(fixes: list[_Fix], rtype: str, c: ScoringConfig, total: float
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
    return _factor(
        "own_device", new - total,
        f"{share:.0%} of {len(levels)} sightings at >= {c.strong_rssi_dbm:g} dBm: a radio this "
        "close all the time is carried by the user (their phone, watch or earbuds), so the "
        f"score counts x{c.strong_rssi_multiplier:g}.",
        strong_share=round(share, 3), sightings=len(levels))
