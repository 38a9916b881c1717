"""Reverse geocoding for the wireless domain: a provider interface, an offline default that
needs no network, online providers configured per organization, a per-organization cache
and the batch job's service.

Every provider answers `reverse(lat, lon) -> Place` or raises one of the errors below; the
batch stops on a quota or credential problem and reports it on the job.
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


def get_provider(name: str, org_id: int) -> Provider:
    """The provider `name` set up for `org_id` (online ones need the org's credential row)."""
    from app.wireless.geocoding import offline, online

    if name == "offline":
        return offline.OfflineProvider()
    if name not in ONLINE:
        raise GeocoderError(f"Unknown geocoding provider {name!r}.")
    return online.for_org(name, org_id)
