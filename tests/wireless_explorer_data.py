"""Small builders of networks, sightings and reference rows for the explorer and map tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.models import db
from app.models.wireless import AgencyOffice, DeviceSource, Network, NetworkTag, Observation
from app.wireless.geo import destination

HOME = (40.7128, -74.0060)
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
_seq = itertools.count(1)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def source(org_id: int) -> DeviceSource:
    src = DeviceSource(org_id=org_id, code=f"phone-{next(_seq)}", name="Phone")
    db.session.add(src)
    db.session.flush()
    return src


def network(org_id: int, src: DeviceSource, *, bssid: str | None = None, ssid: str = "net", radio: str = "W",
            level: str | None = None, score: float | None = None, encryption: str = "wpa2",
            manufacturer: str | None = None, first: datetime = T0, last: datetime | None = None,
            best: int = -70, points: list[tuple[float, float]] | None = None, tags: tuple[str, ...] = ()
            ) -> Network:
    """A network with one sighting per point (default: one at HOME), best position the first point."""
    n = next(_seq)
    bssid = bssid or f"02:00:00:{(n >> 16) & 255:02X}:{(n >> 8) & 255:02X}:{n & 255:02X}"
    points = points if points is not None else [HOME]
    last = last or first
    net = Network(org_id=org_id, bssid=bssid, ssid=ssid, type=radio, encryption=encryption,
                  manufacturer=manufacturer, firsttime_ms=ms(first), lasttime_ms=ms(last),
                  lastlat=points[-1][0] if points else 0, lastlon=points[-1][1] if points else 0,
                  bestlat=points[0][0] if points else 0, bestlon=points[0][1] if points else 0,
                  bestlevel=best, observation_count=len(points), threat_level=level,
                  threat_score_v2=Decimal(str(score)) if score is not None else None)
    db.session.add(net)
    db.session.flush()
    for i, (lat, lon) in enumerate(points):
        when = first + timedelta(minutes=i)
        db.session.add(Observation(org_id=org_id, network_id=net.id, source_id=src.id, bssid=bssid, ssid=ssid,
                                   level=best, lat=lat, lon=lon, accuracy=5, time=when, observed_at_ms=ms(when),
                                   time_ms=ms(when), source_pk=str(i)))
    for tag in tags:
        db.session.add(NetworkTag(org_id=org_id, network_id=net.id, tag=tag))
    db.session.flush()
    return net


def north_of(point: tuple[float, float], metres: float, bearing: float = 0.0) -> tuple[float, float]:
    return destination(point[0], point[1], bearing, metres)


def office(name: str, lat: float, lon: float) -> AgencyOffice:
    row = AgencyOffice(name=name, office_type="field_office", lat=lat, lon=lon, address="1 Main St",
                       city="Somewhere", state="NY", postal_code="10001", phone="555-0100")
    db.session.add(row)
    db.session.flush()
    return row
