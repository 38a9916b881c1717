"""The ONE threat scorer of ShadowCheck: does this radio follow the user? Pure, no database.

`score_network(sightings, network, context, config)` turns one network's sightings into a
0..100 score, a level and a list of explained factors (stored as the network's
`threat_factors`). This module is the orchestration; the factor families live in
scoring_movement.py and scoring_identity.py, the shared types in scoring_inputs.py.
Every factor, its points and the reasoning behind them are documented in
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
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.wireless import scoring_identity, scoring_movement, trackers
from app.wireless.geo import PlaceIndex, haversine_m  # noqa: F401 (tests count the scorer's distance checks through it)
from app.wireless.scoring_config import RADIO_NAMES, ScoringConfig
from app.wireless.scoring_inputs import (
    CELLULAR_TYPES,
    DISMISS_TAGS,
    LEVELS,
    NOTE_TAGS,
    RADIO_ALIASES,
    SCORING_VERSION,
    THREAT_TAG,
    Fix,
    NetworkInfo,
    ScoreResult,
    ScoringContext,
    Sighting,
    clamp_score,
    make_factor,
    plural,
)
from app.wireless.scoring_places import watcher_factor
from app.wireless.scoring_sameday import same_day_factor

# The scorer's public names (callers import them from here; the types live in scoring_inputs).
__all__ = [
    "CELLULAR_TYPES",
    "DISMISS_TAGS",
    "LEVELS",
    "NOTE_TAGS",
    "NetworkInfo",
    "RADIO_ALIASES",
    "RADIO_NAMES",
    "SCORING_VERSION",
    "ScoreResult",
    "ScoringConfig",
    "ScoringContext",
    "Sighting",
    "THREAT_TAG",
    "apply_tags",
    "blend",
    "level_for",
    "radio_code",
    "score_network",
]

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
        return clamp_score(rule_score)
    if not 0 <= ml_probability <= 1:
        raise ValueError("ml_probability must be between 0 and 1")
    return clamp_score((1 - ml_weight) * rule_score + ml_weight * 100.0 * ml_probability)


def radio_code(value: str | None) -> str:
    """The one-letter radio type (W B E G C D L N) of a code or a name like "BLE"/"WCDMA"."""
    v = (value or "").strip().upper()
    if v in RADIO_ALIASES:
        return RADIO_ALIASES[v]
    return v if v in RADIO_NAMES else "W" if not v else v[:1]


# ---------------------------------------------------------------- the scorer


def _prepare(sightings: Iterable[Sighting], ctx: ScoringContext, c: ScoringConfig,
             now: datetime) -> tuple[list[Fix], dict[str, int]]:
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
        fixes.append(Fix(ts, s.lat, s.lon, s.level, float(s.accuracy or 0.0), local.date(),
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
        factors.append(make_factor(
            "cellular", 0.0,
            f"{RADIO_NAMES[rtype]} cell towers are fixed infrastructure that every phone sees "
            "wherever it goes; they never score (x0)."))
        return _finish(0.0, factors, network, c)

    sightings = list(sightings)
    fixes, dropped = _prepare([s for s in sightings if s.time_known], ctx, c, now)
    # Where, without when: positions only (their time fields are placeholders no factor reads).
    untimed, _ = _prepare([replace(s, time=now) for s in sightings if not s.time_known], ctx, c, now)
    if untimed:
        factors.append(make_factor(
            "time_unknown", 0.0,
            f"{plural(len(untimed), 'sighting')} without a time (the collector had no clock fix): "
            "used for places, home and agency offices, never for time-based factors.",
            sightings=len(untimed)))
    if any(dropped.values()):
        parts = [f"{n} {k.replace('_', ' ')}" for k, n in dropped.items() if n]
        factors.append(make_factor(
            "data_quality", 0.0,
            "Sightings set aside before scoring: " + ", ".join(parts)
            + f" (accuracy limit {c.max_accuracy_m:g} m, sample limit {c.max_sightings}).",
            **dropped, used=len(fixes)))
    if not fixes:
        # Only untimed sightings: without any time, the minimums (time tracked) would cap any
        # place-based points anyway, so there is nothing to score.
        factors.append(make_factor("no_data", 0.0, "No usable sightings with a time to score."
                               if untimed else "No usable sightings to score."))
        return _finish(0.0, factors, network, c)

    places = PlaceIndex(c.place_radius_m)
    place_of = [places.add(f.lat, f.lon) for f in fixes]
    placed = fixes + untimed
    place_of_placed = place_of + [places.add(f.lat, f.lon) for f in untimed]
    n_places = len(places.places)

    follow = scoring_movement.follow_legs(fixes, rtype, c)
    equipment = scoring_identity.equipment(network, c)
    fleet = scoring_identity.fleet(network, ctx, c)
    mobile = bool(follow["details"]["legs"] or equipment["points"] or fleet["points"])
    parked = scoring_movement.parked(fixes, ctx, c, mobile, PlaceIndex(c.parked_radius_m))
    home = scoring_movement.home_correlation(placed, place_of_placed, ctx, c)
    persistence = scoring_movement.persistence(fixes, c)
    agency = scoring_identity.agency(placed, ctx, c)
    kind = trackers.kind_for(network.mfgr_id) if rtype in "BE" else None
    same_day = same_day_factor(fixes, now.timestamp(), rtype, c, make_factor, kind)
    watcher = watcher_factor(fixes, ctx.frequent_places, c, make_factor)
    additive = [follow, parked, home, fleet, equipment, persistence, agency, same_day, watcher]
    if kind:
        additive.append(scoring_identity.tracker_kind(kind, network, bool(same_day["points"] or follow["points"]), c))
    factors += additive

    total = sum(f["points"] for f in additive)
    if total > 100:
        factors.append(make_factor("clamp", 100 - total,
                                   f"Factors add up to {total:.1f}; the score stops at 100."))
        total = 100.0

    strong = scoring_movement.strong_signal(fixes, rtype, c, total)
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
        short.append(f"seen at {plural(n_places, 'distinct place')} (< {c.min_places})")
    if short and followed_today:
        factors.append(make_factor(
            "minimums", 0.0,
            "Below the overall minimums (" + "; ".join(short) + ") but not capped: it met "
            "AirGuard's minimums on one day (same_day) or waits at your places (watcher).",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    elif short and parked_established:
        factors.append(make_factor(
            "minimums", 0.0,
            "Below the following minimums (" + "; ".join(short) + ") but not capped: a "
            "parked watcher stays in one place by definition and its own minimum "
            f"({c.parked_min_days} days) is met.",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    elif short and total > c.minimums_cap:
        factors.append(make_factor(
            "minimums", c.minimums_cap - total,
            "Not enough evidence of following: " + "; ".join(short)
            + f", so the score is capped at {c.minimums_cap:g}.",
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=True))
        total = c.minimums_cap
    else:
        factors.append(make_factor(
            "minimums", 0.0,
            f"Tracked for {tracked_min:.0f} min at {plural(n_places, 'distinct place')}"
            + ("; minimums met." if not short else "; below minimums but already low."),
            tracked_minutes=round(tracked_min, 1), places=n_places, capped=False))
    return _finish(total, factors, network, c)


def _finish(total: float, factors: list[dict[str, Any]], network: NetworkInfo,
            c: ScoringConfig) -> ScoreResult:
    score = clamp_score(total)
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
        return 0.0, make_factor("tag_overlay", -score,
                                f"Tagged {which}: dismissed by an analyst, score forced to 0.",
                                tags=sorted(tagset))
    if THREAT_TAG in tagset:
        new = max(score, c.level_high)
        return round(new, 1), make_factor(
            "tag_overlay", new - score,
            f"Tagged THREAT: never below the HIGH threshold ({c.level_high:g}).",
            tags=sorted(tagset))
    if tagset & NOTE_TAGS:
        which = ", ".join(sorted(tagset & NOTE_TAGS))
        return score, make_factor("tag_overlay", 0.0,
                                  f"Tagged {which}: noted for review; the score is unchanged.",
                                  tags=sorted(tagset))
    return score, None
