"""An alert as the JSON API shows it, and the page of its object: shared by the Alerts API
(app/alerts/api.py) and every domain API that lists its objects' alerts (the fleet API's
"a device's alerts"), so no domain imports another's API to show an alert.

The schema is a plain dict: each API module registers it on the API's registry under the
name "Alert" (registering it twice is harmless)."""

from __future__ import annotations

from typing import Any

from app.alerting import registry
from app.models import Alert

ALERT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "domain": {"type": "string"}, "type": {"type": "string"},
    "severity": {"type": "string"}, "status": {"type": "string"}, "message": {"type": "string"},
    "target": {"type": "object", "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                                                 "link": {"type": ["string", "null"]}}},
    "metric_value": {"type": ["number", "null"]}, "threshold_value": {"type": ["number", "null"]},
    "fired_at": {"type": "string", "format": "date-time"},
    "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
    "resolved_at": {"type": ["string", "null"], "format": "date-time"},
    "resolution_note": {"type": ["string", "null"]}}}


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(a: Alert) -> dict[str, Any]:
    """One alert for the JSON API (the "Alert" schema)."""
    return {"id": a.id, "domain": a.domain, "type": a.alert_type, "severity": a.severity, "status": a.status,
            "message": a.message, "target": {"key": a.target_key, "label": a.target_label,
                                             "link": registry.link_of(a)},
            "metric_value": a.metric_value, "threshold_value": a.threshold_value, "fired_at": iso(a.fired_at),
            "acknowledged_at": iso(a.acknowledged_at), "resolved_at": iso(a.resolved_at),
            "resolution_note": a.resolution_note}
