"""Inventory rules: editing a device's columns and bulk actions over ticked devices.

Both only ever touch devices of the acting organization (ids of another organization's
devices are silently left out of a bulk action); both audit each device changed. None of
them commits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.models import Device, db
from app.models.base import as_dict

EDIT_FIELDS = ["device_name", "hostname", "device_type", "site_id", "subscription_id", "billing_type", "environment",
               "status", "heartbeat_interval", "manufacturer", "model", "serial_number", "cpu_model", "cpu_cores",
               "ram_mb", "disk_gb", "os_type", "os_version", "kernel_version", "local_ip", "public_ip",
               "mac_addresses", "modules_enabled", "tags", "custom_fields", "notes"]
BULK_ACTIONS = ("assign_site", "tag", "untag")


def update_device(device: Device, values: dict[str, Any], actor) -> dict[str, Any]:
    """Apply the edit form's clean values; audit what changed (returns the new values that changed)."""
    before = as_dict(device, EDIT_FIELDS)
    for key in EDIT_FIELDS:
        if key in values:
            setattr(device, key, values[key])
    old, new = audit.changes(before, as_dict(device, EDIT_FIELDS))
    if new:
        audit.record("device.updated", resource_type="device", resource_id=device.id, org_id=device.org_id,
                     actor=actor, old=old, new=new)
    return new


def bulk_apply(org_id: int, device_ids: list[int], action: str, *, site_id: int | None = None,
               tag: str | None = None, actor=None) -> int:
    """Run a bulk action over those of `device_ids` that belong to `org_id`; returns how many changed."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    devices = db.session.scalars(sa.select(Device).where(Device.org_id == org_id, Device.deleted_at.is_(None),
                                                         Device.id.in_(device_ids))).all()
    changed = 0
    for device in devices:
        if action == "assign_site":
            old, new = {"site_id": device.site_id}, {"site_id": site_id}
            device.site_id = site_id
        else:
            tags = set(device.tags or [])
            tags = tags | {tag} if action == "tag" else tags - {tag}
            old, new = {"tags": device.tags}, {"tags": sorted(tags)}
            device.tags = sorted(tags)
        if old != new:
            changed += 1
            audit.record("device.bulk_updated", resource_type="device", resource_id=device.id, org_id=org_id,
                         actor=actor, old=old, new=new, details={"action": action})
    return changed
