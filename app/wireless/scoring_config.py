"""The scorer's settings: every weight and threshold with its default, and their validation.

Split from app/wireless/scoring.py (which re-exports `ScoringConfig` and `RADIO_NAMES`) so
the scorer module holds the method and this one the knobs; app/wireless/scoring_help.py says
what each knob means, and docs/wireless-scoring.md why it has its default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from app.wireless.scoring_sameday import SENSITIVITY_MINUTES

RADIO_NAMES = {"W": "Wi-Fi", "B": "Bluetooth", "E": "BLE", "G": "GSM", "C": "CDMA",
               "D": "WCDMA", "L": "LTE", "N": "NR (5G)"}

DEFAULT_EQUIPMENT_MAKERS = (
    "Sierra Wireless", "Cradlepoint", "Digi International", "Peplink", "Pepwave", "Inseego",
    "Novatel", "Teltonika", "CalAmp", "Geotab",
)
DEFAULT_EQUIPMENT_SSIDS = (  # substrings, case-insensitive
    "mychevrolet", "mygmc", "mybuick", "mycadillac", "fordpass", "audi_mmi", "vw_wlan",
    "toyota", "tesla", "uconnect", "huawei-e5", "mifi", "jetpack",
)


@dataclass
class ScoringConfig:
    """Every weight and threshold of the scorer, with its default (see the docs for why).

    Settings store `to_mapping()`; `from_mapping()` validates and raises ValueError naming
    every bad key or value.
    """

    # Levels: score >= threshold (checked from the top).
    level_critical: float = 81.0
    level_high: float = 61.0
    level_medium: float = 41.0
    level_low: float = 21.0
    # Hygiene.
    max_accuracy_m: float = 100.0
    max_sightings: int = 20_000
    future_tolerance_hours: float = 24.0
    place_radius_m: float = 400.0
    # AirGuard-style minimums.
    min_tracked_minutes: float = 30.0
    min_places: int = 3
    minimums_cap: float = 20.0
    # Follow legs.
    leg_min_distance_m: float = 500.0
    leg_points_each: float = 1.5
    leg_points_max: float = 15.0
    leg_km_per_point: float = 10.0
    leg_distance_points_max: float = 10.0
    leg_day_points_each: float = 2.5
    leg_day_points_max: float = 10.0
    follow_points_max: float = 35.0
    max_speed_kmh: float = 250.0
    radio_range_m: dict[str, float] = field(
        default_factory=lambda: {"W": 150.0, "B": 100.0, "E": 50.0})
    # Parked surveillance.
    parked_radius_m: float = 100.0
    parked_min_days: int = 3
    parked_day_points_each: float = 4.0
    parked_day_points_max: float = 30.0
    parked_time_bucket_hours: int = 3
    parked_time_points_each: float = 2.5
    parked_time_points_max: float = 10.0
    parked_far_weight: float = 0.3
    parked_home_decay_km: float = 5.0
    parked_fixed_weight: float = 0.3
    # Home correlation.
    home_points: float = 15.0
    # Fleet bonus.
    fleet_points: float = 10.0
    # Equipment profile.
    equipment_maker_points: float = 15.0
    equipment_ssid_points: float = 15.0
    equipment_points_max: float = 20.0
    equipment_makers: list[str] = field(default_factory=lambda: list(DEFAULT_EQUIPMENT_MAKERS))
    equipment_ssid_patterns: list[str] = field(
        default_factory=lambda: list(DEFAULT_EQUIPMENT_SSIDS))
    # Temporal persistence.
    persistence_day_points: float = 1.5
    persistence_points_max: float = 15.0
    passing_window_minutes: float = 10.0
    passing_gap_minutes: float = 30.0
    passing_speed_kmh: float = 20.0
    # Own-gadget signal.
    strong_rssi_dbm: float = -55.0
    strong_rssi_fraction: float = 0.8
    strong_rssi_min_sightings: int = 5
    strong_rssi_multiplier: float = 0.2
    strong_rssi_types: str = "WBE"
    # Agency-office proximity.
    agency_radius_km: float = 1.0
    agency_points: float = 10.0
    # Same-day following (AirGuard's criteria, app/wireless/scoring_sameday.py).
    sameday_sensitivity: str = "MEDIUM"  # HIGH 30 min, MEDIUM 60 min, LOW 90 min
    sameday_min_locations: int = 3
    sameday_window_days: int = 14
    sameday_day_points: float = 45.0
    sameday_repeat_days: int = 2
    sameday_repeat_window_days: int = 5
    sameday_repeat_points: float = 65.0
    # Frequent places learned from the person's own track, and watchers parked at them.
    frequent_stay_radius_m: float = 150.0
    frequent_stay_minutes: float = 20.0
    frequent_place_radius_m: float = 250.0
    frequent_place_min_days: int = 3
    watcher_min_places: int = 2
    watcher_min_share: float = 0.9
    watcher_points: float = 45.0
    watcher_extra_place_points: float = 10.0
    watcher_points_max: float = 60.0
    # Bluetooth trackers by kind (data/wireless/tracker_makers.csv).
    tracker_kind_points: float = 10.0

    def to_mapping(self) -> dict[str, Any]:
        """Plain JSON-able values, one key per field (what settings store)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ScoringConfig:
        """A config from stored settings: missing keys keep defaults, bad ones raise ValueError."""
        data = dict(data or {})
        defaults = cls()
        known = {f.name for f in fields(cls)}
        errors: list[str] = [f"unknown setting {k!r}" for k in sorted(set(data) - known)]
        values: dict[str, Any] = {}
        for name in sorted(set(data) & known):
            value, problem = _coerce(name, data[name], getattr(defaults, name))
            if problem:
                errors.append(f"{name}: {problem}")
            else:
                values[name] = value
        config = cls(**values) if not errors else defaults
        if not errors:
            errors.extend(config.problems())
        if errors:
            raise ValueError("invalid scoring settings: " + "; ".join(errors))
        return config

    def problems(self) -> list[str]:
        """Range and consistency errors of an assembled config (empty when valid)."""
        out: list[str] = []
        lv = (self.level_low, self.level_medium, self.level_high, self.level_critical)
        if not (0 < lv[0] < lv[1] < lv[2] < lv[3] <= 100):
            out.append("levels must rise: 0 < level_low < level_medium < level_high < "
                       "level_critical <= 100")
        for name in ("strong_rssi_fraction", "strong_rssi_multiplier", "parked_far_weight",
                     "parked_fixed_weight", "watcher_min_share"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{name}: must be between 0 and 1")
        for name in ("max_accuracy_m", "place_radius_m", "leg_min_distance_m",
                     "leg_km_per_point", "max_speed_kmh", "parked_radius_m",
                     "parked_home_decay_km", "passing_speed_kmh", "passing_gap_minutes",
                     "agency_radius_km", "frequent_stay_radius_m", "frequent_place_radius_m",
                     "max_sightings", "parked_time_bucket_hours"):
            if getattr(self, name) <= 0:
                out.append(f"{name}: must be greater than 0")
        if not 0 <= self.minimums_cap <= 100:
            out.append("minimums_cap: must be between 0 and 100")
        if 24 % self.parked_time_bucket_hours:
            out.append("parked_time_bucket_hours: must divide 24")
        if self.sameday_sensitivity not in SENSITIVITY_MINUTES:
            out.append("sameday_sensitivity: must be HIGH, MEDIUM or LOW")
        for name in ("sameday_min_locations", "sameday_window_days", "sameday_repeat_days",
                     "sameday_repeat_window_days", "frequent_place_min_days", "watcher_min_places"):
            if getattr(self, name) < 1:
                out.append(f"{name}: must be at least 1")
        bad = set(self.strong_rssi_types) - set(RADIO_NAMES)
        if bad:
            out.append(f"strong_rssi_types: unknown radio types {''.join(sorted(bad))!r}")
        for k in self.radio_range_m:
            if k not in RADIO_NAMES:
                out.append(f"radio_range_m: unknown radio type {k!r}")
        return out


def _coerce(name: str, value: Any, default: Any) -> tuple[Any, str | None]:
    """Check one setting against its default's type; (value, None) or (None, problem)."""
    if isinstance(default, bool):  # pragma: no cover - no boolean settings today
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None, "must be a whole number"
        try:
            number = float(value)
        except ValueError:
            return None, f"must be a whole number, not {value!r}"
        if not number.is_integer() or number < 0:
            return None, f"must be a whole number >= 0, not {value!r}"
        return int(number), None
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None, "must be a number"
        try:
            number = float(value)
        except ValueError:
            return None, f"must be a number, not {value!r}"
        if not math.isfinite(number):
            return None, "must be a finite number"
        if number < 0 and name != "strong_rssi_dbm":
            return None, f"must be >= 0, not {value!r}"
        return number, None
    if isinstance(default, str):
        if not isinstance(value, str):
            return None, "must be text"
        return value.strip().upper(), None
    if isinstance(default, list):
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return None, "must be a list of text"
        return [v for v in value if v.strip()], None
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            return None, "must be a mapping of radio type to metres"
        out: dict[str, float] = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                return None, f"{k!r} must be a number of metres >= 0"
            out[str(k).upper()] = float(v)
        return out, None
    return None, "unsupported setting"  # pragma: no cover
