"""Managing alert rules and maintenance windows (audited; the caller commits)."""

from __future__ import annotations

from typing import Any

from app import audit
from app.alerting.service import close_rule_alerts
from app.models import AlertRule, MaintenanceWindow, db
from app.models.base import as_dict

RULE_FIELDS = ["org_id", "device_id", "rule_type", "name", "description", "threshold_value", "recovery_value",
               "direction", "threshold_duration_seconds", "cooldown_seconds", "repeat_interval_seconds", "severity",
               "enabled", "notify", "params"]
WINDOW_FIELDS = ["site_id", "device_id", "name", "reason", "recurrence", "starts_at", "ends_at", "weekdays",
                 "start_time", "cron", "duration_minutes", "timezone", "enabled"]


def save_rule(rule: AlertRule, values: dict[str, Any], actor: Any) -> bool:
    """Create (no id yet) or change a rule. Disabling it, or changing what it watches, resolves
    its active alerts and forgets its states, so nothing stays open that the rule no longer means."""
    before = as_dict(rule, RULE_FIELDS) if rule.id else None
    for key, value in values.items():
        setattr(rule, key, value)
    if before is None:
        rule.created_by_id = getattr(actor, "id", None)
        db.session.add(rule)
        db.session.flush()
        audit.record("alert_rule.created", resource_type="alert_rule", resource_id=rule.id, org_id=rule.org_id,
                     actor=actor, new=as_dict(rule, RULE_FIELDS))
        return True
    old, new = audit.changes(before, as_dict(rule, RULE_FIELDS))
    if not new:
        return False
    audit.record("alert_rule.updated", resource_type="alert_rule", resource_id=rule.id, org_id=rule.org_id,
                 actor=actor, old=old, new=new)
    if not rule.enabled or set(new) & {"rule_type", "device_id", "org_id", "direction", "params"}:
        close_rule_alerts(rule, "The rule was disabled or changed.", actor)
    return True


def delete_rule(rule: AlertRule, actor: Any) -> None:
    close_rule_alerts(rule, "The rule was deleted.", actor)
    audit.record("alert_rule.deleted", resource_type="alert_rule", resource_id=rule.id, org_id=rule.org_id,
                 actor=actor, old=as_dict(rule, RULE_FIELDS))
    db.session.delete(rule)


def save_window(window: MaintenanceWindow, values: dict[str, Any], actor: Any) -> bool:
    before = as_dict(window, WINDOW_FIELDS) if window.id else None
    for key, value in values.items():
        setattr(window, key, value)
    if before is None:
        window.created_by_id = getattr(actor, "id", None)
        db.session.add(window)
        db.session.flush()
        audit.record("maintenance_window.created", resource_type="maintenance_window", resource_id=window.id,
                     org_id=window.org_id, actor=actor, new=as_dict(window, WINDOW_FIELDS))
        return True
    old, new = audit.changes(before, as_dict(window, WINDOW_FIELDS))
    if new:
        audit.record("maintenance_window.updated", resource_type="maintenance_window", resource_id=window.id,
                     org_id=window.org_id, actor=actor, old=old, new=new)
    return bool(new)


def delete_window(window: MaintenanceWindow, actor: Any) -> None:
    audit.record("maintenance_window.deleted", resource_type="maintenance_window", resource_id=window.id,
                 org_id=window.org_id, actor=actor, old=as_dict(window, WINDOW_FIELDS))
    db.session.delete(window)
