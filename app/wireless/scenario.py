"""A deterministic synthetic ShadowCheck scenario, and WiGLE CSV 1.6 writers.

`generate_scenario(seed=...)` simulates one person's phone logging radios for N weeks
(default 3) while they live between home, work and errands in a city:

- own devices, always with them: a phone hotspot (Wi-Fi) and a smartwatch (BLE), both
  very strong;
- neighbours' access points around home, office access points at work, shop access
  points at errands, roadside access points passed on every drive, cell towers;
- a follower: a car hotspot that is around on most days, parked near home, at work and at
  errands and behind them on the road, but not on every trip;
- a parked device: a vehicle modem parked within 100 m of home on many days, for a few
  hours at differing times;
- a radio at an agency office next to one of their errands;
- issue 20's cases (app/wireless/scenario_cases.py): one-day and address-rotating trackers,
  a follower never seen at home, a watcher parked by work and a shop, a hotspot beside the
  commute, colleagues' phones at work and passers-by.

Each network carries a `role` so tests can check what the scorer makes of it. Times are
UTC and the simulated day runs on UTC hours. The same seed always gives the same scenario.

`DEMO_CITY` is the centre of Denver, Colorado: real coordinates for a map that looks right,
with fictional usage: every person, home, device and office in the scenario is made up.

`write_wigle_csv` streams sightings as a WiGLE CSV 1.6 file (the format of the WiGLE
Android app's exports); `large_wigle_csv` streams a big random file for benchmarks in flat
memory.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from app.wireless.geo import M_PER_DEG, bearing_deg, destination, haversine_m
from app.wireless.scenario_cases import TrackPoint, second_round_cases
from app.wireless.scoring import NetworkInfo, ScoringConfig, ScoringContext, Sighting
from app.wireless.scoring_places import learn_places

DEMO_CITY = (39.7392, -104.9903)  # Denver centre; fictional usage (see module docstring)
DEMO_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
DEVICE = "demo-phone"

WIGLE_HEADER = ("WigleWifi-1.6,appRelease=vigil-scenario-1,model=Vigil synthetic,release=1,"
                "device=vigil-demo,display=none,board=none,brand=Vigil,star=Sol,body=3,"
                "subBody=0")
WIGLE_COLUMNS = ["MAC", "SSID", "AuthMode", "FirstSeen", "Channel", "Frequency", "RSSI",
                 "CurrentLatitude", "CurrentLongitude", "AltitudeMeters", "AccuracyMeters",
                 "RCOIs", "MfgrId", "Type"]
WIGLE_TYPES = {"W": "WIFI", "B": "BT", "E": "BLE", "G": "GSM", "C": "CDMA", "D": "WCDMA",
               "L": "LTE", "N": "NR"}

ALTITUDE_M = 1609.0  # the demo city sits a mile high
STATIC_SCAN_MIN = 15  # minutes between scans while staying somewhere
DRIVE_SCAN_S = 60  # seconds between scans while driving
DRIVE_KMH = 45.0


@dataclass
class Scenario:
    """The generated world: places, networks (with roles) and time-ordered sightings."""

    seed: int
    start: datetime
    end: datetime
    home: tuple[float, float]
    home_radius_km: float
    work: tuple[float, float]
    errands: dict[str, tuple[float, float]]
    agency_offices: list[tuple[str, float, float]]
    networks: list[dict[str, Any]] = field(default_factory=list)
    sightings: list[dict[str, Any]] = field(default_factory=list)
    track: list[TrackPoint] = field(default_factory=list)  # the person's phone at every scan

    def context(self, **overrides: Any) -> ScoringContext:
        """The scoring context the user of this scenario would have set up (places learned from the track)."""
        places = learn_places(((p.time.timestamp(), p.lat, p.lon) for p in self.track), ScoringConfig())
        kw: dict[str, Any] = dict(home=(*self.home, self.home_radius_km),
                                  agency_offices=self.agency_offices, now=self.end, frequent_places=places)
        kw.update(overrides)
        return ScoringContext(**kw)

    def by_role(self, role: str) -> list[dict[str, Any]]:
        """The networks with this role."""
        return [n for n in self.networks if n["role"] == role]

    def sightings_by_bssid(self) -> dict[str, list[Sighting]]:
        """Every network's sightings as scorer inputs, in time order."""
        out: dict[str, list[Sighting]] = {}
        for s in self.sightings:
            out.setdefault(s["bssid"], []).append(Sighting(
                time=s["time"], lat=s["lat"], lon=s["lon"], level=s["level"],
                accuracy=s["accuracy"], ssid=s["ssid"]))
        return out

    @staticmethod
    def network_info(network: dict[str, Any]) -> NetworkInfo:
        """A network dict as the scorer's NetworkInfo."""
        return NetworkInfo(bssid=network["bssid"], ssid=network["ssid"],
                           radio_type=network["radio_type"],
                           manufacturer=network["manufacturer"], tags=list(network["tags"]),
                           mfgr_id=network.get("mfgr_id"))


# ---------------------------------------------------------------- generation


def _mac(rng: random.Random) -> str:
    first = rng.randrange(256) & 0xFC  # unicast, globally administered
    return ":".join(f"{b:02X}" for b in [first] + [rng.randrange(256) for _ in range(5)])


def _level(distance_m: float, rng: random.Random, tx: float = -38.0) -> int:
    """A log-distance path-loss RSSI with a little noise (tx is the level at 3 m)."""
    return round(tx - 25.0 * math.log10(max(distance_m, 3.0) / 3.0) + rng.gauss(0, 2.5))


class _World:
    """Mutable state of one generation run."""

    def __init__(self, seed: int, home, work, errands, offices):
        self.rng = random.Random(seed)
        self.seed = seed
        self.home, self.work, self.errands = home, work, errands
        self.networks: dict[str, dict[str, Any]] = {}
        self.sightings: list[dict[str, Any]] = []
        self.fixed: list[tuple[str, float, float, float]] = []  # bssid, lat, lon, range_m
        self.track: list[TrackPoint] = []  # where the person was at every scan
        rng = self.rng

        def add(role, ssid, rtype="W", maker=None, freq=2437, caps="[WPA2-PSK-CCMP][ESS]",
                bssid=None):
            b = bssid or _mac(rng)
            self.networks[b] = dict(bssid=b, ssid=ssid, radio_type=rtype, manufacturer=maker,
                                    tags=[], role=role, frequency=freq, capabilities=caps)
            return b

        self.add = add
        self.phone = add("own_phone", "Pixel-7 5821", freq=5180)
        self.watch = add("own_watch", "Galaxy Watch5 (3F2A)", "E", "Samsung", 0, "Misc [BLE]")
        for i, (ssid, maker) in enumerate([("NETGEAR47", "Netgear"), ("TP-Link_8A2C", "TP-Link"),
                                           ("Smith Family", "Arris"), ("ATTx7Qp2", "Nokia"),
                                           ("Linksys00412", "Linksys")]):
            lat, lon = destination(*home, 72.0 * i + rng.uniform(0, 40), rng.uniform(20, 80))
            self.fixed.append((add("neighbour_ap", ssid, maker=maker), lat, lon, 120.0))
        for ssid in ("Initech-Corp", "Initech-Guest", "Initech-IoT", "PrinterDirect-4F"):
            lat, lon = destination(*work, rng.uniform(0, 360), rng.uniform(5, 60))
            self.fixed.append((add("work_ap", ssid, maker="Cisco Meraki"), lat, lon, 120.0))
        for name, (plat, plon) in errands.items():
            for k in range(2):
                lat, lon = destination(plat, plon, rng.uniform(0, 360), rng.uniform(5, 50))
                self.fixed.append((add("errand_ap", f"{name.title()}-WiFi{k or ''}",
                                       maker="Aruba"), lat, lon, 120.0))
        for _name, olat, olon in offices:
            self.fixed.append((add("agency", "", maker="Cisco Systems", caps="[WPA2-EAP-CCMP]"),
                               olat, olon, 250.0))
        self.follower = add("follower", "myChevrolet 7F3C", freq=2462)
        self.parked = add("parked", "", maker="Sierra Wireless", freq=2412)
        self.operators = [("310260", "T-Mobile", "L", 2145), ("310410", "AT&T", "L", 739),
                          ("310410", "AT&T", "G", 1945)]

    # ---- sightings

    def see(self, bssid: str, t: datetime, lat: float, lon: float, acc: float, level: int):
        n = self.networks[bssid]
        self.sightings.append(dict(
            bssid=bssid, ssid=n["ssid"], radio_type=n["radio_type"], time=t, lat=lat, lon=lon,
            level=level, accuracy=acc, frequency=n["frequency"],
            capabilities=n["capabilities"], altitude=ALTITUDE_M + round(self.rng.uniform(-3, 3),
                                                                        1),
            device=DEVICE))

    def cells(self, t, lat, lon, acc):
        # Towers on a 3 km grid; the phone logs the two nearest (serving and a neighbour).
        step = 3000.0 / M_PER_DEG
        cy, cx = round(lat / step), round(lon / step)
        cands = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                tlat, tlon = (cy + dy) * step, (cx + dx) * step
                cands.append((haversine_m(lat, lon, tlat, tlon), cy + dy, cx + dx))
        cands.sort()
        for d, y, x in cands[:2]:
            mccmnc, op, rtype, freq = self.operators[(y * 7 + x) % len(self.operators)]
            bssid = f"{mccmnc}_{(y * 31 + x) % 60000 + 1000}_{abs(y * 100003 + x) % 10**7}"
            if bssid not in self.networks:
                caps = f"{WIGLE_TYPES[rtype]};{mccmnc}"
                self.add("cell", op, rtype, None, freq, caps, bssid=bssid)
            self.see(bssid, t, lat, lon, acc, _level(d, self.rng, tx=-45.0))

    def roadside(self, t, lat, lon, acc):
        # Access points along the road: fixed per 250 m cell, so every commute passes the
        # same ones (seen daily, but only ever in passing).
        step = 250.0 / M_PER_DEG
        cell = (round(lat / step), round(lon / step))
        crng = random.Random(f"{self.seed}:{cell[0]}:{cell[1]}")
        for _ in range(crng.randrange(1, 3)):
            bssid = _mac(crng)
            ssid = crng.choice(["HOME-{:04X}", "DIRECT-{:02X}-HP", "Spectrum{:04d}",
                                "CenturyLink{:04d}"]).format(crng.randrange(9999))
            if bssid not in self.networks:
                self.add("roadside_ap", ssid, maker=None, bssid=bssid)
            if self.rng.random() < 0.7:
                self.see(bssid, t, lat, lon, acc, round(self.rng.uniform(-91, -72)))

    def scan(self, t, lat, lon, moving: bool, follower_at=None, parked_at=None):
        rng = self.rng
        acc = round(rng.uniform(3, 16), 1) if moving or rng.random() > 0.03 else 150.0
        self.track.append(TrackPoint(t, lat, lon, acc, moving))
        if rng.random() < 0.97:
            self.see(self.phone, t, lat, lon, acc, round(rng.uniform(-42, -28)))
        if rng.random() < 0.95:
            self.see(self.watch, t, lat, lon, acc, round(rng.uniform(-53, -36)))
        self.cells(t, lat, lon, acc)
        if moving:
            self.roadside(t, lat, lon, acc)
            if follower_at == "road" and rng.random() < 0.6:
                self.see(self.follower, t, lat, lon, acc, _level(rng.uniform(30, 220), rng))
            return
        for bssid, flat, flon, reach in self.fixed:
            d = haversine_m(lat, lon, flat, flon)
            if d <= reach and rng.random() < 0.9:
                self.see(bssid, t, lat, lon, acc, _level(d, rng))
        for bssid, spot, prob in ((self.follower, follower_at, 0.5),
                                  (self.parked, parked_at, 0.7)):
            if spot and spot != "road":
                d = haversine_m(lat, lon, *spot)
                if d <= 150 and rng.random() < prob:
                    self.see(bssid, t, lat, lon, acc, _level(d, rng))

    def stay(self, place, t0, t1, follower_spot=None, parked=None):
        """Scans every STATIC_SCAN_MIN minutes at a place (GPS jitter indoors)."""
        t = t0
        while t < t1:
            lat, lon = destination(*place, self.rng.uniform(0, 360), self.rng.uniform(0, 12))
            parked_at = parked[0] if parked and parked[1] <= t < parked[2] else None
            self.scan(t, lat, lon, False, follower_spot, parked_at)
            t += timedelta(minutes=STATIC_SCAN_MIN, seconds=self.rng.uniform(-60, 60))
        return t1

    def drive(self, a, b, t0, follower: bool) -> datetime:
        """Scans every DRIVE_SCAN_S seconds along a bent line from a to b; returns arrival."""
        dist = haversine_m(*a, *b)
        side = self.rng.choice((-1, 1))
        mid = destination(*destination(*a, _bearing(a, b), dist / 2),
                          _bearing(a, b) + 90 * side, dist * 0.12)
        legs = [(a, mid), (mid, b)]
        speed = DRIVE_KMH / 3.6 * self.rng.uniform(0.85, 1.15)
        t = t0
        for p, q in legs:
            d = haversine_m(*p, *q)
            steps = max(1, int(d / (speed * DRIVE_SCAN_S)))
            for k in range(1, steps + 1):
                frac = k / steps
                lat = p[0] + (q[0] - p[0]) * frac
                lon = p[1] + (q[1] - p[1]) * frac
                t += timedelta(seconds=DRIVE_SCAN_S)
                self.scan(t, lat, lon, True, "road" if follower else None)
        return t + timedelta(minutes=2)


def _bearing(a, b) -> float:
    return bearing_deg(a[0], a[1], b[0], b[1])


def generate_scenario(seed: int = 7, weeks: int = 3, city: tuple[float, float] = DEMO_CITY,
                      start: datetime = DEMO_START,
                      agency_office: tuple[str, float, float] | None = None) -> Scenario:
    """Simulate `weeks` of one person's radio log around `city` (see the module docstring).

    agency_office: (name, lat, lon) of an office; by default a fictional office is placed
    near the city centre. One of the person's errands (the library) is 180 m from it.
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    home = destination(*city, 45.0, 5000.0)
    work = destination(*city, 225.0, 4000.0)
    office = agency_office or ("Demo Field Office (fictional)",
                               *destination(*city, 170.0, 2600.0))
    errands = {"grocery": destination(*city, 90.0, 3000.0),
               "gym": destination(*city, 330.0, 4500.0),
               "library": destination(office[1], office[2], 300.0, 180.0)}
    w = _World(seed, home, work, errands, [office])
    rng = w.rng
    days = weeks * 7
    # The follower is around on about three days in four; the parked modem on about two in
    # three, for a few hours when the person tends to be home.
    follower_days = {d for d in range(days) if rng.random() < 0.75}
    parked_days = {d for d in range(days) if rng.random() < 0.65}

    for d in range(days):
        day = start + timedelta(days=d)
        weekday = day.weekday() < 5
        follows = d in follower_days
        spot = destination(*home, rng.uniform(0, 360), rng.uniform(70, 130)) if follows else None
        parked = None
        if d in parked_days:
            begin_h = (rng.uniform(5.0, 6.5) if rng.random() < 0.4 else rng.uniform(17.5, 20.5)) \
                if weekday else rng.uniform(7.0, 19.0)
            parked = (destination(*home, rng.uniform(0, 360), rng.uniform(40, 90)),
                      day + timedelta(hours=begin_h),
                      day + timedelta(hours=begin_h + rng.uniform(2.0, 5.0)))

        def follow(follows: bool = follows) -> bool:
            return follows and rng.random() < 0.8  # around that day, but not on every trip

        def near(p: tuple[float, float]) -> tuple[float, float]:
            return destination(*p, rng.uniform(0, 360), rng.uniform(40, 90))

        if weekday:
            leave = day + timedelta(hours=7.5, minutes=rng.uniform(-20, 20))
            w.stay(home, day, leave, spot, parked)
            f = follow()
            t = w.drive(home, work, leave, f)
            end_work = day + timedelta(hours=17, minutes=rng.uniform(-30, 30))
            w.stay(work, t, end_work, near(work) if f else None)
            if rng.random() < 0.5:
                name = rng.choice(sorted(errands))
                f = follow()
                t = w.drive(work, errands[name], end_work, f)
                t = w.stay(errands[name], t, t + timedelta(minutes=rng.uniform(30, 60)),
                           near(errands[name]) if f else None)
                t = w.drive(errands[name], home, t, f)
            else:
                t = w.drive(work, home, end_work, follow())
        else:
            t = w.stay(home, day, day + timedelta(hours=10, minutes=rng.uniform(-60, 60)),
                       spot, parked)
            trip = ["library", rng.choice(["grocery", "gym"])] if day.weekday() == 5 \
                else [rng.choice(sorted(errands))]
            here = home
            for name in trip:
                f = follow()
                t = w.drive(here, errands[name], t, f)
                t = w.stay(errands[name], t, t + timedelta(minutes=rng.uniform(40, 90)),
                           near(errands[name]) if f else None)
                here = errands[name]
            t = w.drive(here, home, t, follow())
        w.stay(home, t, day + timedelta(days=1), spot, parked)

    # Issue 20's cases, on their own random stream so the cases above keep their sightings.
    networks, sightings = second_round_cases(w.track, seed, home, work, errands, ALTITUDE_M, DEVICE)
    w.networks.update((n["bssid"], n) for n in networks)
    w.sightings += sightings
    w.sightings.sort(key=lambda s: s["time"])
    return Scenario(seed=seed, start=start, end=start + timedelta(days=days), home=home,
                    home_radius_km=0.5, work=work, errands=errands, agency_offices=[office],
                    networks=list(w.networks.values()), sightings=w.sightings, track=w.track)


# ---------------------------------------------------------------- WiGLE CSV


def wifi_channel(frequency: int | None) -> int:
    """The Wi-Fi channel of a frequency in MHz (0 when not Wi-Fi)."""
    f = frequency or 0
    if f == 2484:
        return 14
    if 2412 <= f < 2484:
        return (f - 2407) // 5
    if 5950 <= f <= 7125:
        return (f - 5950) // 5
    if 5000 <= f < 5950:
        return (f - 5000) // 5
    return 0


def wigle_row(s: dict[str, Any]) -> list[Any]:
    """One sighting dict as a WiGLE CSV 1.6 row (FirstSeen in UTC)."""
    rtype = s["radio_type"]
    freq = s.get("frequency") or 0
    if rtype == "W":
        channel, frequency = wifi_channel(freq), freq
    elif rtype in ("B", "E"):
        channel, frequency = 0, ""
    else:
        channel, frequency = freq, ""  # cells: WiGLE puts the (E/U)ARFCN in Channel
    t = s["time"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [s["bssid"], s["ssid"], s.get("capabilities") or "", t, channel, frequency,
            s["level"], f"{s['lat']:.7f}", f"{s['lon']:.7f}", f"{s.get('altitude', 0.0):.1f}",
            f"{s['accuracy']:.1f}", "", s.get("mfgr_id") or "", WIGLE_TYPES[rtype]]


def write_wigle_csv(sightings: Iterable[dict[str, Any]], out: str | Path | IO[str],
                    header: str = WIGLE_HEADER) -> int:
    """Stream sightings into a WiGLE CSV 1.6 file (path or text stream); returns rows written."""
    if isinstance(out, (str, Path)):
        with open(out, "w", newline="", encoding="utf-8") as fh:
            return write_wigle_csv(sightings, fh, header)
    out.write(header + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WIGLE_COLUMNS)
    n = 0
    for s in sightings:
        writer.writerow(wigle_row(s))
        n += 1
    return n


def _large_rows(rows: int, seed: int, networks: int, city: tuple[float, float]
                ) -> Iterator[list[Any]]:
    rng = random.Random(seed)
    rand, randrange = rng.random, rng.randrange
    lat, lon = city
    t = DEMO_START
    mask = (1 << 40) - 1
    kinds = ("WIFI",) * 14 + ("BLE",) * 3 + ("BT", "LTE", "GSM")
    stamp = slat = slon = ""
    for i in range(rows):
        if i % 20 == 0:  # the sensor moves a little between scans of ~20 radios
            lat += rng.uniform(-0.0015, 0.0015)
            lon += rng.uniform(-0.0015, 0.0015)
            t += timedelta(seconds=15)
            stamp = t.strftime("%Y-%m-%d %H:%M:%S")
            slat, slon = f"{lat:.7f}", f"{lon:.7f}"
        # Popular radios are seen more often: a skewed pick over the network pool.
        k = int(networks * rand() ** 2)
        kind = kinds[k % len(kinds)]
        level = -35 - randrange(60)
        acc = f"{2 + 28 * rand():.1f}"
        if kind in ("LTE", "GSM"):
            yield [f"310260_{k % 60000}_{k}", "T-Mobile", f"{kind};310260", stamp, 2145, "",
                   level, slat, slon, "1609.0", acc, "", "", kind]
            continue
        # A bijection of k onto 40 bits (odd multiplier), behind a locally administered
        # first octet: distinct, stable, and not sequential like real MACs.
        h = f"{((k + seed * 1_000_003) * 0x9E3779B97F4B) & mask:010X}"
        mac = f"02:{h[0:2]}:{h[2:4]}:{h[4:6]}:{h[6:8]}:{h[8:10]}"
        if kind == "WIFI":
            freq = 2412 + 5 * (k % 11) if k % 3 else 5180 + 20 * (k % 8)
            yield [mac, f"Net-{k:06d}", "[WPA2-PSK-CCMP][ESS]", stamp, wifi_channel(freq),
                   freq, level, slat, slon, "1609.0", acc, "", "", kind]
        else:
            yield [mac, "", f"Misc [{kind}]", stamp, 0, "", level, slat, slon, "1609.0", acc,
                   "", "", kind]


def large_wigle_csv(path: str | Path, rows: int = 1_000_000, seed: int = 0,
                    networks: int = 100_000, city: tuple[float, float] = DEMO_CITY) -> int:
    """Write a big synthetic WiGLE CSV 1.6 file for benchmarks, streamed in flat memory.

    `networks` radios (mostly Wi-Fi, some BLE/BT/cells) are drawn with a skew so some are
    seen often and most rarely, by a sensor wandering around `city`. Returns rows written.
    """
    if rows < 0 or networks < 1:
        raise ValueError("rows must be >= 0 and networks >= 1")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(WIGLE_HEADER + "\n")
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(WIGLE_COLUMNS)
        batch: list[list[Any]] = []
        for row in _large_rows(rows, seed, networks, city):
            batch.append(row)
            if len(batch) >= 2_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    return rows
