"""device_offline: an enrolled, active device whose last heartbeat is older than the online
window is marked offline, and the device_offline alert rules are evaluated for it (the next
heartbeat marks it active again and resolves the alert, see app.fleet.ingest)."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.fleet.alert_rules import evaluate_absence
from app.fleet.services import online_cutoff
from app.models import Device, db


def _newly_offline() -> sa.Select:
    return sa.select(Device).where(Device.deleted_at.is_(None), Device.status == "active",
                                   Device.enrolled_at.is_not(None), Device.last_seen_at < online_cutoff())


def has_newly_offline() -> bool:
    """The periodic job's only_if: any device that went silent since the last run."""
    return db.session.scalar(sa.select(sa.exists(_newly_offline().subquery().select()))) or False


def mark_offline() -> int:
    """Mark silent devices offline (audited), then run the absence rules for them at once.

    The organization hears about it through its device_offline alert rule (one alert per
    outage, with its thresholds, cooldown and maintenance windows), not from here.
    """
    devices = db.session.scalars(_newly_offline().order_by(Device.org_id, Device.id).with_for_update(skip_locked=True)).all()
    for device in devices:
        device.status = "offline"
        audit.record("device.offline", resource_type="device", resource_id=device.id, org_id=device.org_id,
                     actor_type="system", actor_label="fleet.offline",
                     details={"last_seen_at": device.last_seen_at.isoformat()})
    if devices:
        evaluate_absence([d.id for d in devices])
    return len(devices)
