"""What every geocoding provider shares: the Place it answers with, the errors it raises and the
Provider protocol. Below the providers (offline, online), the cache and the batch, which all
import it; the package's __init__ picks a provider and imports the providers in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Place:
    address: str | None
    venue_name: str | None = None
    venue_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class GeocoderError(Exception):
    """A lookup that gave no place. `stops_batch`: no point asking this provider again now."""

    stops_batch = True


class NoResult(GeocoderError):
    stops_batch = False


class QuotaExceeded(GeocoderError):
    """The provider's rate or daily quota is used up (429, 402, or its documented body)."""


class AuthFailed(GeocoderError):
    """The organization's key was refused."""


class Unavailable(GeocoderError):
    """Network errors or 5xx on every attempt (already backed off)."""


class Provider(Protocol):
    name: str

    def reverse(self, lat: float, lon: float) -> Place: ...


ONLINE = ("nominatim", "opencage", "locationiq", "overpass")
PROVIDER_NAMES = ("offline", *ONLINE)
