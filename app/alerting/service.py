"""Alerting persistence: run a rule's observations through the state machine, store the
state only when it changes, open and resolve alerts (audited), tell the organization through
the ALERT_NOTIFICATION event (the notification engine subscribes).

A domain supplies `Target`s and `Observation`s; this module knows nothing about devices
beyond the optional device and site ids that maintenance windows scope by. Nothing here
commits: the caller's transaction (an ingest request, a job) carries the changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting import engine, events
from app.alerting.maintenance import open_window
from app.models import Alert, AlertRule, AlertRuleState, db, utcnow

SYSTEM = {"actor_type": "system", "actor_label": "alerting"}


@dataclass(frozen=True)
class Target:
    key: str  # stable per rule: "device:12", "device:12:mount:/var"
    label: str
    org_id: int
    device_id: int | None = None
    site_id: int | None = None
    link: str | None = None


@dataclass(frozen=True)
class Observation:
    target: Target
    value: float
    message: str
    metric_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # An event that knows how bad it is (a critical detection): the alert takes the more severe
    # of this and its rule's severity, so raising a rule's severity works and a critical event
    # is never played down by a rule left at its default.
    severity: str | None = None


SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def severity_of(rule: AlertRule, obs: Observation) -> str:
    if obs.severity in SEVERITY_RANK and SEVERITY_RANK[obs.severity] > SEVERITY_RANK.get(rule.severity, 0):
        return obs.severity
    return rule.severity


def thresholds(rule: AlertRule) -> engine.Thresholds:
    return engine.Thresholds(
        threshold=rule.threshold_value if rule.threshold_value is not None else 0.0,
        recovery=rule.recovery_value, for_seconds=rule.threshold_duration_seconds or 0,
        cooldown_seconds=rule.cooldown_seconds or 0, repeat_seconds=rule.repeat_interval_seconds or None,
        direction=rule.direction or "above")


StateMap = dict[tuple[int, str], AlertRuleState]


def load_states(rule_ids: list[int], *, device_id: int | None = None,
                target_keys: list[str] | None = None) -> StateMap:
    """The stored states of these rules (for one device, or some targets), keyed (rule id, target)."""
    if not rule_ids:
        return {}
    stmt = sa.select(AlertRuleState).where(AlertRuleState.rule_id.in_(rule_ids))
    if device_id is not None:
        stmt = stmt.where(AlertRuleState.device_id == device_id)
    if target_keys is not None:
        stmt = stmt.where(AlertRuleState.target_key.in_(target_keys))
    return {(s.rule_id, s.target_key): s for s in db.session.scalars(stmt)}


def quiet_reason(rule: AlertRule, obs: Observation, alert: Alert | None, t: datetime) -> str | None:
    """Why notifications are held back now (a mute, an acknowledgement, a maintenance window)."""
    if alert is not None:
        if alert.status == "muted" and alert.muted_until and alert.muted_until > t:
            return f"muted until {alert.muted_until:%Y-%m-%d %H:%M} UTC"
        if alert.status == "acknowledged":
            return "acknowledged"
    if not rule.notify:
        return "the rule does not notify"
    window = open_window(obs.target.org_id, t, site_id=obs.target.site_id, device_id=obs.target.device_id)
    return f"maintenance window '{window.name}'" if window is not None else None


def observe(rule: AlertRule, obs: Observation, t: datetime, states: StateMap) -> list[str]:
    """Feed one observation of one target to a rule; returns the decisions taken."""
    th = thresholds(rule)
    row = states.get((rule.id, obs.target.key))
    before = engine.State.from_json(row.state if row else None)
    after, actions = engine.step(th, before, t, obs.value)
    alert = db.session.get(Alert, row.alert_id) if row is not None and row.alert_id else None
    reason = None
    if engine.NOTIFY in actions or engine.REPEAT in actions:
        reason = quiet_reason(rule, obs, alert, t)
        if reason is not None:
            after, actions = engine.step(th, before, t, obs.value, quiet=True)
    elif engine.OPEN in actions:  # opened without a notification: inside the cooldown
        reason = quiet_reason(rule, obs, None, t) or f"cooldown ({th.cooldown_seconds} s since the last notification)"
    if alert is not None and alert.is_active and not actions and obs.message != alert.message:
        # The condition's numbers moved while it fires (disk 91 % -> 97 %): the title says so.
        alert.message, alert.metric_value = obs.message, obs.value
    if replace(after, last_value=None) == replace(before, last_value=None) and not actions:
        return []  # the common case on ingest: nothing changed, nothing written
    if row is None:
        row = AlertRuleState(rule_id=rule.id, org_id=obs.target.org_id, device_id=obs.target.device_id,
                             target_key=obs.target.key)
        db.session.add(row)
        states[(rule.id, obs.target.key)] = row
    if engine.OPEN in actions:
        alert = open_alert(rule, obs, t, quiet=reason)
        row.alert_id = alert.id
    if alert is not None and (engine.NOTIFY in actions or engine.REPEAT in actions):
        deliver(alert, obs, t, repeat=engine.REPEAT in actions)
    if engine.RESOLVE in actions:
        if alert is not None and alert.is_active:
            resolve(alert, t, note=f"Recovered: {obs.value:g} is past the recovery threshold "
                                   f"{th.recovery_value:g}.", system=True)
        row.alert_id = None
    row.phase = after.phase
    row.state = after.to_json()
    return actions


def open_alert(rule: AlertRule, obs: Observation, t: datetime, quiet: str | None = None) -> Alert:
    """A new open alert for `obs` (audited as a state change)."""
    alert = Alert(org_id=obs.target.org_id, device_id=obs.target.device_id, rule_id=rule.id, domain=rule.domain,
                  target_key=obs.target.key, target_label=obs.target.label[:300], alert_type=rule.rule_type,
                  severity=severity_of(rule, obs), message=obs.message,
                  details={**obs.details, "link": obs.target.link},
                  metric_name=obs.metric_name, metric_value=obs.value, threshold_value=rule.threshold_value,
                  status="open", fired_at=t, suppressed_reason=quiet[:300] if quiet else None)
    db.session.add(alert)
    db.session.flush()
    audit.record("alert.opened", resource_type="alert", resource_id=alert.id, org_id=alert.org_id, **SYSTEM,
                 new={"alert_type": alert.alert_type, "severity": alert.severity, "target": alert.target_key,
                      "value": obs.value, "rule_id": rule.id},
                 details={"quiet": quiet} if quiet else None)
    return alert


# What an alert tells its organization goes out as this event; the notification engine
# subscribes (app/notifications/services.py) and delivers it in-app and to the channels, so
# alerting decides without importing what delivers.
ALERT_NOTIFICATION = "alerting.alert_notification"


def payload(alert: Alert, state: str) -> dict[str, Any]:
    """What channels receive besides title and body (the webhook's attributes.details)."""
    return {"alert_id": alert.id, "alert_type": alert.alert_type, "domain": alert.domain, "state": state,
            "target": alert.target_key, "target_label": alert.target_label, "device_id": alert.device_id,
            "rule_id": alert.rule_id,
            "metric_name": alert.metric_name, "metric_value": alert.metric_value,
            "threshold": alert.threshold_value, "fired_at": alert.fired_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None}


def deliver(alert: Alert, obs: Observation, t: datetime, *, repeat: bool = False) -> None:
    """Notify the organization (in-app and its channels) that an alert fired or is still firing."""
    alert.metric_value, alert.message = obs.value, obs.message
    alert.notify_count += 1
    alert.last_notified_at = t
    alert.suppressed_reason = None
    title = ("Still firing: " if repeat else "") + obs.message
    events.publish(ALERT_NOTIFICATION, org_id=alert.org_id, event=alert.alert_type, title=title,
                   body=f"{alert.target_label}: {obs.message}", severity=alert.severity, link=obs.target.link,
                   payload=payload(alert, "firing"))


def resolve(alert: Alert, t: datetime, *, note: str | None, actor: Any = None, system: bool = False) -> None:
    """Close an alert (recovered, or resolved by a person with a note); tells whoever was told it fired."""
    old = {"status": alert.status}
    alert.status, alert.resolved_at, alert.resolution_note = "resolved", t, note
    alert.resolved_by_id = getattr(actor, "id", None)
    audit.record("alert.resolved", resource_type="alert", resource_id=alert.id, org_id=alert.org_id,
                 **(SYSTEM if system else {"actor": actor}), old=old,
                 new={"status": "resolved", "note": note})
    if not system:
        # A person closed it: start the target over, so a condition that still holds fires
        # again after its for-duration (the cooldown still applies to the notification).
        row = db.session.scalar(sa.select(AlertRuleState).where(AlertRuleState.alert_id == alert.id))
        if row is not None:
            kept = engine.State.from_json(row.state)
            row.phase, row.alert_id = "ok", None
            row.state = engine.State(last_notified_at=kept.last_notified_at).to_json()
    if alert.notify_count:
        events.publish(ALERT_NOTIFICATION, org_id=alert.org_id, event=f"{alert.alert_type}.resolved",
                       title=f"Resolved: {alert.message}", body=note, severity=alert.severity,
                       link=alert.details.get("link"), payload=payload(alert, "resolved"))


def acknowledge(alert: Alert, actor: Any) -> bool:
    """Someone is on it: no more repeats. False when it was not open or muted."""
    if alert.status not in ("open", "muted"):
        return False
    old = {"status": alert.status}
    alert.status, alert.acknowledged_at, alert.acknowledged_by_id = "acknowledged", utcnow(), actor.id
    audit.record("alert.acknowledged", resource_type="alert", resource_id=alert.id, org_id=alert.org_id,
                 actor=actor, old=old, new={"status": "acknowledged"})
    return True


def mute(alert: Alert, until: datetime, actor: Any) -> None:
    """No notifications for this alert until `until` (it still resolves on recovery)."""
    old = {"status": alert.status, "muted_until": alert.muted_until.isoformat() if alert.muted_until else None}
    alert.status, alert.muted_until, alert.muted_by_id = "muted", until, actor.id
    audit.record("alert.muted", resource_type="alert", resource_id=alert.id, org_id=alert.org_id, actor=actor,
                 old=old, new={"status": "muted", "muted_until": until.isoformat()})


def end_expired_mutes(org_id: int | None = None) -> int:
    """Muted alerts whose time has passed go back to open (audited); returns how many."""
    now = utcnow()
    stmt = sa.select(Alert).where(Alert.status == "muted", Alert.muted_until <= now)
    if org_id is not None:
        stmt = stmt.where(Alert.org_id == org_id)
    rows = db.session.scalars(stmt).all()
    for alert in rows:
        alert.status = "open"
        audit.record("alert.unmuted", resource_type="alert", resource_id=alert.id, org_id=alert.org_id, **SYSTEM,
                     old={"status": "muted"}, new={"status": "open"})
    return len(rows)


def close_rule_alerts(rule: AlertRule, note: str, actor: Any) -> int:
    """Resolve a rule's active alerts and forget its states (the rule was disabled or deleted)."""
    alerts = db.session.scalars(sa.select(Alert).where(Alert.rule_id == rule.id, Alert.status != "resolved")).all()
    for alert in alerts:
        resolve(alert, utcnow(), note=note, actor=actor)
    db.session.execute(sa.delete(AlertRuleState).where(AlertRuleState.rule_id == rule.id))
    return len(alerts)


def prune_resolved(older_than_days: int) -> int:
    """Delete alerts resolved more than `older_than_days` ago; returns how many."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    return db.session.execute(sa.delete(Alert).where(Alert.status == "resolved", Alert.resolved_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount or 0


def has_old_resolved(older_than_days: int) -> bool:
    cutoff = utcnow() - timedelta(days=older_than_days)
    return db.session.scalar(sa.select(Alert.id).where(Alert.status == "resolved", Alert.resolved_at < cutoff)
                             .limit(1)) is not None
