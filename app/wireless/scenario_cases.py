"""Second-round cases of the synthetic scenario (issue 20.7), laid on the person's track.

`generate_scenario` records where the person's phone was at every scan (time, position,
accuracy, moving or not); `second_round_cases` adds radios seen along that track, drawn from
their own random stream so every first-round case keeps its exact sightings:

| role | what | expected |
|---|---|---|
| `one_day_tracker` | a Find My (Apple, MfgrId 0x004C) BLE tag with the person for one whole day | >= MEDIUM |
| `rotating_tracker` | a tag whose random address changes daily: three addresses, one day each | each >= MEDIUM |
| `follower_away` | a phone hotspot with the person on the road, at work and at errands, never at home | >= HIGH |
| `watcher_work_shop` | a radio parked by work and by the shop used most, only while the person is there | >= MEDIUM, `watcher` |
| `commute_hotspot` | a mobile-hotspot SSID at a fixed spot beside the commute, passed every weekday | <= LOW |
| `colleague_phone` | colleagues' phones at work, every weekday, all day | <= LOW |
| `passer_by` | strangers' phones, one short encounter each | <= LOW |
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.wireless.geo import destination, haversine_m

APPLE_FIND_MY = 0x004C  # Bluetooth SIG company id (data/wireless/tracker_makers.csv)


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Where the person's phone was at one scan."""

    time: datetime
    lat: float
    lon: float
    acc: float
    moving: bool


def _mac(rng: random.Random, random_static: bool = False) -> str:
    # A BLE random static address has its two top bits set; others are unicast, global.
    first = (rng.randrange(256) | 0xC0) if random_static else rng.randrange(256) & 0xFC
    return ":".join(f"{b:02X}" for b in [first] + [rng.randrange(256) for _ in range(5)])


def _level(distance_m: float, rng: random.Random, tx: float = -45.0) -> int:
    return round(tx - 25.0 * math.log10(max(distance_m, 3.0) / 3.0) + rng.gauss(0, 2.5))


class _Cases:
    def __init__(self, seed: int, altitude_m: float, device: str):
        self.rng = random.Random(f"{seed}:second-round")
        self.altitude_m, self.device = altitude_m, device
        self.networks: list[dict[str, Any]] = []
        self.sightings: list[dict[str, Any]] = []

    def add(self, role: str, ssid: str, rtype: str = "W", maker: str | None = None, freq: int = 2437,
            caps: str = "[WPA2-PSK-CCMP][ESS]", mfgr_id: int | None = None) -> dict[str, Any]:
        n = dict(bssid=_mac(self.rng, random_static=rtype == "E"), ssid=ssid, radio_type=rtype,
                 manufacturer=maker, tags=[], role=role, frequency=freq, capabilities=caps, mfgr_id=mfgr_id)
        self.networks.append(n)
        return n

    def see(self, n: dict[str, Any], p: TrackPoint, level: int, at: tuple[float, float] | None = None) -> None:
        lat, lon = at or (p.lat, p.lon)
        self.sightings.append(dict(
            bssid=n["bssid"], ssid=n["ssid"], radio_type=n["radio_type"], time=p.time, lat=lat, lon=lon,
            level=level, accuracy=p.acc, frequency=n["frequency"], capabilities=n["capabilities"],
            altitude=self.altitude_m, device=self.device, mfgr_id=n["mfgr_id"]))


def second_round_cases(track: list[TrackPoint], seed: int, home: tuple[float, float],
                       work: tuple[float, float], errands: dict[str, tuple[float, float]],
                       altitude_m: float, device: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(networks, sightings) of the second-round cases along the person's track."""
    w = _Cases(seed, altitude_m, device)
    rng = w.rng
    days = sorted({p.time.date() for p in track})
    by_day: dict[Any, list[TrackPoint]] = {}
    for p in track:
        by_day.setdefault(p.time.date(), []).append(p)

    def with_person(n: dict[str, Any], day: Any, share: float = 0.85) -> None:
        for p in by_day[day]:
            if 7 <= p.time.hour < 21 and rng.random() < share:
                w.see(n, p, round(rng.uniform(-86, -64)))

    # A tag in the bag for one day (the second-to-last, inside every relevance window).
    with_person(w.add("one_day_tracker", "", "E", "Apple", 0, "Misc [BLE]", APPLE_FIND_MY), days[-2])
    # A tag whose address changes every day: each address is a one-day tracker of its own.
    for day in days[-5:-2]:
        with_person(w.add("rotating_tracker", "", "E", "Apple", 0, "Misc [BLE]", APPLE_FIND_MY), day)
    # A follower that keeps away from home: on the road, at work and at errands, last ten days.
    away = w.add("follower_away", "AndroidAP_5C1E", freq=2462)
    for day in days[-10:]:
        if rng.random() < 0.8:
            for p in by_day[day]:
                if haversine_m(p.lat, p.lon, *home) > 1000 and rng.random() < (0.6 if p.moving else 0.5):
                    w.see(away, p, _level(rng.uniform(30, 200), rng))
    # A watcher parked by work and by the shop the person uses most, there only while they are.
    watcher = w.add("watcher_work_shop", "", maker="Sierra Wireless", freq=2412)
    shop = max(("grocery", "gym"), key=lambda name: sum(
        1 for p in track if not p.moving and haversine_m(p.lat, p.lon, *errands[name]) < 100))
    spots = [destination(*work, rng.uniform(0, 360), rng.uniform(40, 80)),
             destination(*errands[shop], rng.uniform(0, 360), rng.uniform(40, 80))]
    for p in track:
        if not p.moving:
            for spot in spots:
                d = haversine_m(p.lat, p.lon, *spot)
                if d <= 150 and rng.random() < 0.6:
                    w.see(watcher, p, _level(d, rng))
    # A mobile hotspot in a shop beside the commute: fixed, passed twice every weekday.
    hotspot = w.add("commute_hotspot", "Jetpack-7741", maker="Inseego")
    commute = [p for p in track if p.moving and p.time.weekday() < 5]
    spot = (commute[len(commute) // 3].lat, commute[len(commute) // 3].lon) if commute else home
    for p in commute:
        d = haversine_m(p.lat, p.lon, *spot)
        if d <= 150 and rng.random() < 0.8:
            w.see(hotspot, p, _level(d, rng))
    # Colleagues' phones at work.
    for i in range(3):
        phone = w.add("colleague_phone", f"Colleague iPhone {i + 1}" if i else "", "E" if i else "W")
        for p in track:
            if not p.moving and haversine_m(p.lat, p.lon, *work) < 100 and rng.random() < 0.7:
                w.see(phone, p, round(rng.uniform(-82, -60)))
    # Passers-by: one short encounter each, anywhere.
    for _ in range(10):
        stranger = w.add("passer_by", "", "E")
        i = rng.randrange(len(track) - 2)
        for p in track[i:i + rng.randrange(1, 3)]:
            w.see(stranger, p, round(rng.uniform(-90, -70)))
    return w.networks, w.sightings
