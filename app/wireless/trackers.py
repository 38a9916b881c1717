"""Bluetooth trackers by kind (issue 20.2): maker from the manufacturer (company) id, and the
random-address bit.

data/wireless/tracker_makers.csv lists the makers whose tags are used to follow people
(Apple Find My, Samsung SmartTag, Tile, Google Find My Device), with the sources of every
number, how often each rotates its address, and AirGuard's per-kind minimums: the minutes a
tag must be tracked (`min_minutes`, AirGuard's minTrackingTime) and the distinct places one
day needs at each sensitivity (`places_high/medium/low`). A WiGLE file carries the company id
of the first manufacturer-data record in its MfgrId column; a Kismet log carries the
advertisement itself (importers/ble_adv.py reads the same id from it). Both are stored as
`observations.mfgrid`.

Pure: the file is read once on first use; no database, no Flask.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SENSITIVITIES = ("HIGH", "MEDIUM", "LOW")
DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "wireless" / "tracker_makers.csv"


@dataclass(frozen=True)
class TrackerKind:
    company_id: int
    services: tuple[int, ...]
    maker: str
    kind: str
    rotation: str
    min_minutes: float
    places: tuple[int, int, int]  # distinct places a day needs at sensitivity HIGH, MEDIUM, LOW

    def min_places(self, sensitivity: str) -> int:
        """AirGuard's number of locations for this kind at a sensitivity (MEDIUM when unknown)."""
        return self.places[SENSITIVITIES.index(sensitivity) if sensitivity in SENSITIVITIES else 1]


@cache
def tracker_kinds() -> dict[int, TrackerKind]:
    """The tracker makers by company id (read once)."""
    with open(DATA_FILE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {int(r["company_id"], 16): TrackerKind(
        int(r["company_id"], 16), tuple(int(u, 16) for u in r["service_uuids"].split()), r["maker"], r["kind"],
        r["rotation"], float(r["min_minutes"]),
        tuple(int(r[f"places_{s.lower()}"]) for s in SENSITIVITIES)) for r in rows}


def kind_for(company_id: int | None) -> TrackerKind | None:
    """The tracker kind of a manufacturer id (None: not a known tracker maker)."""
    return tracker_kinds().get(company_id) if company_id else None


def kind_for_service(uuid16: int) -> TrackerKind | None:
    """The tracker kind advertising this 16-bit service UUID (Tile's 0xFEED, ...)."""
    return next((k for k in tracker_kinds().values() if uuid16 in k.services), None)


def random_address(bssid: str) -> bool:
    """A BLE random static address: the two top bits of the first byte set (what rotating tags use)."""
    try:
        return int(bssid.split(":")[0], 16) & 0xC0 == 0xC0
    except (ValueError, IndexError):
        return False
