"""Managing alert rules and maintenance windows (audited; the caller commits)."""

from __future__ import annotations

from typing import Any

from app import audit
from app.alerting.service import close_rule_alerts
from app.models import AlertRule, MaintenanceWindow, db
from app.models.base import as_dict

RULE_FIELDS = ["org_id", "device_id", "domain", "rule_type", "name", "description", "threshold_value", "recovery_value",
               "direction", "threshold_duration_seconds", "cooldown_seconds", "repeat_interval_seconds", "severity",
               "enabled", "notify", "params"]
WINDOW_FIELDS = ["site_id", "device_id", "name", "reason", "recurrence", "starts_at", "ends_at", "weekdays",
                 "start_time", "cron", "duration_minutes", "timezone", "enabled"]


def _save(row: Any, values: dict[str, Any], fields: list[str], kind: str, actor: Any) -> dict[str, Any] | None:
    """Create (no id yet) or change a row, audited as `<kind>.created|updated`; returns the changed values."""
    before = as_dict(row, fields) if row.id else None
    for key, value in values.items():
        setattr(row, key, value)
    if before is None:
        row.created_by_id = getattr(actor, "id", None)
        db.session.add(row)
        db.session.flush()
        new = as_dict(row, fields)
        audit.record(f"{kind}.created", resource_type=kind, resource_id=row.id, org_id=row.org_id, actor=actor,
                     new=new)
        return new
    old, new = audit.changes(before, as_dict(row, fields))
    if new:
        audit.record(f"{kind}.updated", resource_type=kind, resource_id=row.id, org_id=row.org_id, actor=actor,
                     old=old, new=new)
    return new or None


def _delete(row: Any, fields: list[str], kind: str, actor: Any) -> None:
    audit.record(f"{kind}.deleted", resource_type=kind, resource_id=row.id, org_id=row.org_id, actor=actor,
                 old=as_dict(row, fields))
    db.session.delete(row)


def save_rule(rule: AlertRule, values: dict[str, Any], actor: Any) -> bool:
    """Create or change a rule. Disabling it, or changing what it watches, resolves its
    active alerts and forgets its states, so nothing stays open that the rule no longer means."""
    existed = rule.id is not None
    changed = _save(rule, values, RULE_FIELDS, "alert_rule", actor)
    if existed and changed and (not rule.enabled or set(changed) & {"rule_type", "domain", "device_id", "org_id",
                                                                     "direction", "params"}):
        close_rule_alerts(rule, "The rule was disabled or changed.", actor)
    return changed is not None


def delete_rule(rule: AlertRule, actor: Any) -> None:
    close_rule_alerts(rule, "The rule was deleted.", actor)
    _delete(rule, RULE_FIELDS, "alert_rule", actor)


def save_window(window: MaintenanceWindow, values: dict[str, Any], actor: Any) -> bool:
    return _save(window, values, WINDOW_FIELDS, "maintenance_window", actor) is not None


def delete_window(window: MaintenanceWindow, actor: Any) -> None:
    _delete(window, WINDOW_FIELDS, "maintenance_window", actor)
