"""What the threat scorer (app/wireless/scoring.py) reads and returns, and the small pieces
every factor family shares: the sightings, the network, the context, the result, a time-
ordered fix and the factor record. Split from scoring.py (issue 21), which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from app.wireless.geo import PointIndex
from app.wireless.scoring_places import FrequentPlace

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


def clamp_score(x: float) -> float:
    """Round to one decimal inside 0..100."""
    return round(min(100.0, max(0.0, x)), 1)


def make_factor(code: str, points: float, explanation: str, **details: Any) -> dict[str, Any]:
    """One explained factor as stored in threat_factors."""
    return {"code": code, "points": round(points, 1), "explanation": explanation,
            "details": details}


def plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


@dataclass(slots=True)
class Fix:
    """One usable sighting, its local day and second of day in the context's time zone."""

    ts: float  # epoch seconds
    lat: float
    lon: float
    level: float | None
    acc: float
    day: date  # local date in the context's time zone
    sod: int  # local seconds since midnight
