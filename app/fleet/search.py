"""Global search: fleet devices by name, hostname or IP, and fleet alerts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.alerting.registry import visible_domains
from app.models import Alert, Device, db
from app.permissions import can
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_devices(org_id: int, term: str, limit: int) -> list[Hit]:
    columns = [Device.hostname, Device.device_name, Device.public_ip, Device.local_ip, Device.overlay_ip]
    rows = db.session.execute(
        sa.select(Device.id, Device.hostname, Device.device_name, Device.public_ip, Device.status)
        .where(Device.org_id == org_id, Device.deleted_at.is_(None), any_contains(columns, term))
        .order_by(rank(Device.hostname, term), Device.id).limit(limit)
    ).all()
    return [Hit(row.device_name or row.hostname, url_for("fleet.device_detail", device_id=row.id),
                " · ".join(x for x in (row.hostname, row.public_ip, row.status) if x)) for row in rows]


def search_alerts(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(Alert.id, Alert.target_label, Alert.message, Alert.severity, Alert.status)
        .where(Alert.org_id == org_id, any_contains([Alert.target_label, Alert.message], term),
               Alert.domain.in_(visible_domains(can)))  # an alert one may not open is not a hit
        .order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit)
    ).all()
    return [Hit(f"{row.target_label}: {row.message}"[:160], url_for("alerts.detail", alert_id=row.id),
                f"{row.severity} · {row.status}") for row in rows]


register_provider("devices", "Devices", "data.read", search_devices, order=20)
register_provider("alerts", "Alerts", "data.read", search_alerts, order=15)
