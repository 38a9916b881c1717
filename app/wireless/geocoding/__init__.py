"""Reverse geocoding for the wireless domain: a provider interface, an offline default that
needs no network, online providers configured per organization, a per-organization cache
and the batch job's service.

Every provider answers `reverse(lat, lon) -> Place` or raises one of the errors below; the
batch stops on a quota or credential problem and reports it on the job.
"""

from __future__ import annotations

from app.wireless.geocoding import offline, online
from app.wireless.geocoding.base import (
    ONLINE,
    PROVIDER_NAMES,
    AuthFailed,
    GeocoderError,
    NoResult,
    Place,
    Provider,
    QuotaExceeded,
    Unavailable,
)

__all__ = ["ONLINE", "PROVIDER_NAMES", "AuthFailed", "GeocoderError", "NoResult", "Place", "Provider",
           "QuotaExceeded", "Unavailable", "get_provider"]


def get_provider(name: str, org_id: int) -> Provider:
    """The provider `name` set up for `org_id` (online ones need the org's credential row)."""
    if name == "offline":
        return offline.OfflineProvider()
    if name not in ONLINE:
        raise GeocoderError(f"Unknown geocoding provider {name!r}.")
    return online.for_org(name, org_id)
