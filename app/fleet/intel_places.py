"""Where IPs, host names and hashes appear in fleet data, registered for indicator matching
(app/indicators/matching.py): each device's public IP (the address its heartbeats come from)
and the device facts agents send (host names, DNS servers and search domains, file hashes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for

from app.indicators.matching import Occurrence, Place, canonical, register_place
from app.models import Device, DeviceFacts, db, utcnow

FIND_LIMIT = 50_000  # a safety valve: devices and their kept fact snapshots stay well under it
# Fact keys whose values are host names or DNS names (or resolver addresses).
NAME_KEYS = ("hostname", "fqdn", "domain", "dns", "nameserver", "resolver", "search")
HASH_KEYS = ("hash", "sha256", "sha1", "md5", "digest", "checksum")


# Device public IPs and heartbeat sources ------------------------------------------------------

def _device_occurrences(device: Device) -> list[Occurrence]:
    value = canonical("ip", device.public_ip)
    if not value or device.deleted_at is not None:
        return []
    return [Occurrence(device.org_id, "ip", value, str(device.id), f"device {device.device_name or device.hostname}",
                       device.last_seen_at or device.updated_at or utcnow())]


def find_devices(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(Device).where(Device.org_id == org_id, Device.deleted_at.is_(None), Device.public_ip.is_not(None))
    if value is not None:
        stmt = stmt.where(Device.public_ip == value)
    return [o for d in db.session.scalars(stmt.limit(FIND_LIMIT)) for o in _device_occurrences(d)]


# Device facts: host names, DNS, hashes ----------------------------------------------------------

def fact_values(facts: Any, key: str = "") -> list[tuple[str, str]]:
    """(kind, value) pairs found in a facts document: strings under name-like keys are
    domains (or IPs, for resolvers), strings under hash-like keys are hashes."""
    out: list[tuple[str, str]] = []
    if isinstance(facts, dict):
        for k, v in facts.items():
            out += fact_values(v, str(k).lower())
    elif isinstance(facts, list):
        for item in facts:
            out += fact_values(item, key)
    elif isinstance(facts, str):
        if any(word in key for word in NAME_KEYS):
            for kind in ("ip", "domain"):
                value = canonical(kind, facts)
                if value:
                    out.append((kind, value))
                    break
        elif any(word in key for word in HASH_KEYS):
            value = canonical("hash", facts)
            if value:
                out.append(("hash", value))
    return out


def _facts_occurrences(row: DeviceFacts) -> list[Occurrence]:
    device = db.session.get(Device, row.device_id)
    if device is None:
        return []
    label = f"facts of {device.device_name or device.hostname}"
    # The object is the device: a later snapshot with the same value is the same sighting.
    return [Occurrence(device.org_id, kind, value, str(device.id), label, row.collected_at or utcnow())
            for kind, value in dict.fromkeys(fact_values(row.facts))]


def find_facts(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    rows = db.session.scalars(
        sa.select(DeviceFacts).join(Device, Device.id == DeviceFacts.device_id)
        .where(Device.org_id == org_id, Device.deleted_at.is_(None), DeviceFacts.collected_at >= since)
        .order_by(DeviceFacts.collected_at.desc()).limit(FIND_LIMIT))
    return [o for row in rows for o in _facts_occurrences(row)
            if (kind is None or o.kind == kind) and (value is None or o.value == value)]


register_place(Place("device_public_ip", "Device public IPs", ("ip",), "data.read", find_devices,
                     lambda object_id, value: url_for("fleet.device_detail", device_id=int(object_id)),
                     model=Device, watch=("public_ip",), extract=_device_occurrences))
register_place(Place("device_facts", "Device facts", ("ip", "domain", "hash"), "data.read", find_facts,
                     lambda object_id, value: url_for("fleet.device_facts", device_id=int(object_id)),
                     model=DeviceFacts, watch=("facts",), extract=_facts_occurrences))
