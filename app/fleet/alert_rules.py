"""The fleet's alert rule types, as a registry of evaluators over app.alerting.

A value rule is evaluated on heartbeat ingest from the numbers the heartbeat carries
(cheap: one query for the device's rules joined to their states, and writes only when
something changes). An absence rule (device_offline, scanner_feed_stale) is evaluated by
the `fleet.evaluate_alerts` job, because silence never arrives as a request.

Scopes: a rule is global (no organization), for an organization, or for one device. For
each rule type the most specific scope that has enabled rules wins for a device, so a
device rule overrides its organization's rule of the same type (several rules of the
same scope all apply, e.g. a warning at 80 and a critical at 95).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.alerting import engine, evaluate, events, registry
from app.alerting.registry import ABSENCE, EVENT, VALUE, RuleType
from app.alerting.rule_cache import rules_cache
from app.alerting.service import Observation, Target, load_states, observe, thresholds
from app.core import linkable
from app.fleet.backups import backup_overdue_hours, latest_backup_status
from app.fleet.queries import latest_stats_id
from app.models import (
    Alert,
    AlertRule,
    AlertRuleState,
    BackupConfig,
    Device,
    ScannerStats,
    db,
    utcnow,
)
from app.notifications.services import app_path

DOWN_SERVICE = ("failed",)
DOWN_CONTAINER = ("exited", "dead", "restarting")

# The fleet's own view of the shared registry (its forms and pages list only these).
RULE_TYPES: dict[str, RuleType] = {}


def device_url(target_key: str) -> str | None:
    """A fleet target ("device:12", "device:12:mount:/var") is shown on its device's page."""
    return app_path("fleet.device_detail", device_id=int(target_key.split(":")[1]))


registry.register_domain("fleet", "Fleet")


def register(rule_type: RuleType) -> RuleType:
    """Register a fleet rule type in the shared registry (domain fleet, targets are devices)."""
    rule_type = replace(rule_type, domain="fleet", target_type="device", target_url=device_url)
    registry.register(rule_type)
    RULE_TYPES[rule_type.name] = rule_type
    return rule_type


@dataclass
class DeviceContext:
    device: Device
    target: Target  # the device itself

    @classmethod
    def of(cls, device: Device) -> DeviceContext:
        return cls(device, Target(f"device:{device.id}", device.label, device.org_id, device.id, device.site_id,
                                  app_path("fleet.device_detail", device_id=device.id)))

    def sub(self, kind: str, name: str) -> Target:
        t = self.target
        return Target(f"{t.key}:{kind}:{name}", f"{t.label} {kind} {name}", t.org_id, t.device_id, t.site_id, t.link)


# ---------------------------------------------------------------- evaluators

def _percent(metric: str, label: str) -> Callable[..., list[Observation]]:
    def evaluate(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
        value = data.get(metric)
        if value is None:
            return []
        return [Observation(ctx.target, float(value), f"{label} {value:.0f} % on {ctx.device.label} "
                            f"(threshold {rule.threshold_value:g} %)", metric_name=metric)]
    return evaluate


def _disk(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    return [Observation(ctx.sub("mount", fs["mount"]), float(fs["used_percent"]),
                        f"Disk {fs['mount']} {fs['used_percent']:.0f} % full on {ctx.device.label}",
                        metric_name=f"disk:{fs['mount']}", details={"mount": fs["mount"]})
            for fs in data.get("filesystems") or [] if fs.get("used_percent") is not None]


def _services(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    wanted = set((rule.params or {}).get("names") or [])
    return [Observation(ctx.sub("service", s["name"]), 1.0 if s["status"] in DOWN_SERVICE else 0.0,
                        f"Service {s['name']} is {s['status']} on {ctx.device.label}", metric_name="service",
                        details={"service": s["name"], "status": s["status"]})
            for s in data.get("services") or [] if not wanted or s["name"] in wanted]


def _containers(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    wanted = set((rule.params or {}).get("names") or [])
    return [Observation(ctx.sub("container", c["name"]), 1.0 if c["status"] in DOWN_CONTAINER else 0.0,
                        f"Container {c['name']} is {c['status']} on {ctx.device.label} "
                        f"({c.get('restart_count', 0)} restarts)", metric_name="container",
                        details={"container": c["name"], "status": c["status"],
                                 "restarts": c.get("restart_count", 0)})
            for c in data.get("containers") or [] if not wanted or c["name"] in wanted]


def _vulns(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    stats = data.get("scanner_stats")
    if not stats or stats.get("vulns_critical") is None:
        return []
    n = stats["vulns_critical"]
    return [Observation(ctx.target, float(n), f"{n} critical vulnerabilities found by {ctx.device.label}",
                        metric_name="vulns_critical")]


def _offline(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    seen = ctx.device.last_seen_at or ctx.device.enrolled_at
    if seen is None:
        return []
    minutes = (data["now"] - seen).total_seconds() / 60
    return [Observation(ctx.target, minutes, f"{ctx.device.label} has sent no heartbeat for {minutes:.0f} min",
                        metric_name="minutes_since_heartbeat",
                        details={"last_seen_at": seen.isoformat(), "overlay_ip": ctx.device.overlay_ip,
                                 "hostname": ctx.device.hostname})]


def _feed(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    updated = data.get("feed_updated_at")
    if updated is None:
        return []
    hours = (data["now"] - updated).total_seconds() / 3600
    return [Observation(ctx.target, hours, f"Vulnerability feed on {ctx.device.label} is {hours:.0f} h old",
                        metric_name="feed_age_hours", details={"feed_updated_at": updated.isoformat()})]


register(RuleType("cpu_high", "CPU high", VALUE, "%", "CPU use at or above the threshold.",
                  90, 80, 300, evaluate=_percent("cpu", "CPU")))
register(RuleType("ram_high", "Memory high", VALUE, "%", "Memory use at or above the threshold.",
                  90, 85, 300, evaluate=_percent("ram", "Memory")))
register(RuleType("disk_full", "Disk full", VALUE, "%", "Any mounted filesystem at or above the threshold.",
                  90, 85, 0, "critical", evaluate=_disk))
register(RuleType("service_down", "Service down", VALUE, "", "A systemd service reports failed "
                  "(params.names limits it to some services).", for_seconds=120, severity="critical",
                  fixed=True, evaluate=_services))
register(RuleType("container_down", "Container down or restarting", VALUE, "",
                  "A Docker container is exited, dead or restarting.", for_seconds=120, fixed=True,
                  evaluate=_containers))
register(RuleType("scanner_vulns_critical", "Critical vulnerabilities", VALUE, "findings",
                  "A scanner reports at least this many critical vulnerabilities.", 1, 1, 0,
                  cooldown_seconds=86400, evaluate=_vulns))
register(RuleType("device_offline", "Device offline", ABSENCE, "min",
                  "No heartbeat for at least this many minutes.", 5, 5, 0, "critical", evaluate=_offline))
register(RuleType("scanner_feed_stale", "Scanner feed stale", ABSENCE, "h",
                  "A scanner's vulnerability feed is at least this many hours old.", 48, 24, 0,
                  cooldown_seconds=86400, evaluate=_feed))
def _backup_failed(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    last = data.get("backup")
    if last is None:
        return []
    failed = last["status"] == "failed"
    text = (f"Backup {last['snapshot_id']} failed on {ctx.device.label}: {last.get('error') or 'no error given'}"
            if failed else f"Backup {last['snapshot_id']} completed on {ctx.device.label}")
    return [Observation(ctx.sub("backup", "last"), 1.0 if failed else 0.0, text, metric_name="backup_failed",
                        details={"snapshot_id": last["snapshot_id"], "error": last.get("error")})]


def _backup_missing(ctx: DeviceContext, data: dict[str, Any], rule: AlertRule) -> list[Observation]:
    hours = (data.get("backup_overdue") or {}).get(ctx.device.id)
    if hours is None:
        return []  # no scheduled backups on this device
    text = (f"The scheduled backup of {ctx.device.label} is {hours:.1f} h overdue" if hours
            else f"The last scheduled backup of {ctx.device.label} completed")
    return [Observation(ctx.sub("backup", "missing"), hours, text, metric_name="backup_overdue_hours")]


# Backups report into backups_catalog (app/fleet/backups.py): a failed report is an event
# evaluated when it arrives; a missing one is an absence the scheduled job looks for.
register(RuleType("backup_failed", "Backup failed", EVENT, "", "The last backup run failed.",
                  severity="critical", fixed=True, evaluate=_backup_failed))
register(RuleType("backup_missing", "Backup missing", ABSENCE, "h",
                  "A scheduled backup has had no completed snapshot for at least this many hours after its "
                  "run was due and its 2-hour grace (backups.devices_missing_backups).", 0.5, 0.5, 0,
                  "critical", evaluate=_backup_missing))


def types_of(kind: str) -> list[str]:
    return [name for name, t in RULE_TYPES.items() if t.kind == kind and t.available]


# ---------------------------------------------------------------- rule selection

def _scope_filter(device: Device) -> Any:
    return sa.or_(sa.and_(AlertRule.org_id.is_(None), AlertRule.device_id.is_(None)),
                  sa.and_(AlertRule.org_id == device.org_id, AlertRule.device_id.is_(None)),
                  AlertRule.device_id == device.id)


def most_specific(rules: list[AlertRule], device: Device) -> list[AlertRule]:
    """Per rule type, only the rules of the most specific scope present (device > organization > global)."""
    def rank(rule: AlertRule) -> int:
        return 2 if rule.device_id == device.id else 1 if rule.org_id == device.org_id else 0

    best: dict[str, int] = {}
    for rule in rules:
        best[rule.rule_type] = max(best.get(rule.rule_type, -1), rank(rule))
    return [r for r in rules if rank(r) == best[r.rule_type]
            and (r.device_id is None or r.device_id == device.id) and r.org_id in (None, device.org_id)]


def rules_for(device: Device, kind: str) -> list[AlertRule]:
    names = types_of(kind)
    rules = db.session.scalars(sa.select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.rule_type.in_(names),
                                                          _scope_filter(device)).order_by(AlertRule.id)).all()
    return most_specific(list(rules), device)


def rules_with_states(device: Device, kinds: tuple[str, ...]) -> tuple[dict[str, list[AlertRule]], Any]:
    """The device's rules of these kinds (most specific scope per type, as rules_for) and
    their stored states for the device, in one query (rules outer-joined to their states)."""
    names = [name for kind in kinds for name in types_of(kind)]
    rows = db.session.execute(
        sa.select(AlertRule, AlertRuleState)
        .outerjoin(AlertRuleState, sa.and_(AlertRuleState.rule_id == AlertRule.id,
                                           AlertRuleState.device_id == device.id))
        .where(AlertRule.enabled.is_(True), AlertRule.rule_type.in_(names), _scope_filter(device))
        .order_by(AlertRule.id, AlertRuleState.id)).all()
    rules: dict[int, AlertRule] = {}
    states = {}
    for rule, state in rows:
        rules.setdefault(rule.id, rule)
        if state is not None:
            states[(state.rule_id, state.target_key)] = state
    chosen = most_specific(list(rules.values()), device)
    return {kind: [r for r in chosen if RULE_TYPES[r.rule_type].kind == kind] for kind in kinds}, states


def run(rules: list[AlertRule], ctx: DeviceContext, data: dict[str, Any], now: datetime, states) -> int:
    decisions = 0
    for rule in rules:
        for obs in RULE_TYPES[rule.rule_type].evaluate(ctx, data, rule):
            decisions += len(observe(rule, obs, now, states))
    return decisions


def on_heartbeat(device: Device, clean: dict[str, Any], now: datetime, *, came_back: bool = False) -> int:
    """Evaluate the device's value rules on one heartbeat (and its absence rules when it came back).

    Value rules run on the heartbeat's own timestamp (when the numbers were measured, at
    most 5 minutes ahead of the server), absence rules on the server's clock.
    """
    by_kind, states = rules_with_states(device, (VALUE, ABSENCE) if came_back else (VALUE,))
    rules, absence = by_kind[VALUE], by_kind.get(ABSENCE, [])
    if not rules and not absence:
        return 0
    ctx = DeviceContext.of(device)
    feed = (clean.get("scanner_stats") or {}).get("feed_updated_at")
    data = {**clean, "now": now, "feed_updated_at": feed}
    return run(rules, ctx, data, clean.get("timestamp") or now, states) + run(absence, ctx, data, now, states)


@dataclass(frozen=True)
class DeviceView:
    """What the value evaluators read of a device, without loading it (the heartbeat's fast path)."""

    id: int
    org_id: int
    site_id: int | None
    label: str


def cached_value_rules(device: DeviceView, version: int) -> list[Any]:
    """The device's enabled value rules (most specific scope per type, as rules_with_states),
    from the per-process cache of its organization's rules as of `version`."""
    names = set(types_of(VALUE))
    mine = [r for r in rules_cache.rules(device.org_id, version)
            if r.rule_type in names and r.device_id in (None, device.id)]
    return most_specific(mine, device)  # type: ignore[arg-type]


def heartbeat_changes_nothing(device: DeviceView, clean: dict[str, Any], now: datetime, version: int,
                              states: dict[tuple[int, str], dict[str, Any]]) -> bool:
    """True when the device's value rules, run on this heartbeat against its stored states,
    would take no decision, change no state and retitle no active alert: on_heartbeat would
    write nothing, so it need not run. `states` are the device's rule states as read in the
    heartbeat's own statement ((rule id, target) -> state, alert_id, alert_status, alert_message).

    Anything else (a threshold crossed or recovered, a pending condition, a firing alert's
    numbers moving) returns False and the caller runs on_heartbeat, which decides and
    writes exactly as it always has."""
    rules = cached_value_rules(device, version)
    if not rules:
        return True
    ctx = DeviceContext(device, Target(f"device:{device.id}", device.label, device.org_id, device.id,  # type: ignore[arg-type]
                                       device.site_id))
    data = {**clean, "now": now, "feed_updated_at": (clean.get("scanner_stats") or {}).get("feed_updated_at")}
    t = clean.get("timestamp") or now
    for rule in rules:
        th = thresholds(rule)  # type: ignore[arg-type]
        for obs in RULE_TYPES[rule.rule_type].evaluate(ctx, data, rule):
            row = states.get((rule.id, obs.target.key))
            before = engine.State.from_json(row["state"] if row else None)
            after, actions = engine.step(th, before, t, obs.value)
            if actions or replace(after, last_value=None) != replace(before, last_value=None):
                return False
            if row and row.get("alert_id") and row.get("alert_status") not in (None, "resolved") \
                    and obs.message != row.get("alert_message"):
                return False
    return True


def on_backup_report(device: Device, now: datetime | None = None) -> int:
    """Evaluate backup_failed for the device after its agent reported a finished backup."""
    rules = rules_for(device, EVENT)
    if not rules:
        return 0
    now = now or utcnow()
    states = load_states([r.id for r in rules], device_id=device.id)
    return run(rules, DeviceContext.of(device), {"now": now, "backup": latest_backup_status(device.id)}, now, states)


# ---------------------------------------------------------------- absence rules (scheduled)

def _absence_rules() -> list[AlertRule]:
    return list(db.session.scalars(sa.select(AlertRule).where(
        AlertRule.enabled.is_(True), AlertRule.rule_type.in_(types_of(ABSENCE))).order_by(AlertRule.id)))


def _watched_devices(device_ids: list[int] | None) -> sa.Select:
    stmt = sa.select(Device).where(Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
                                   Device.status.in_(("active", "offline")))
    return stmt.where(Device.id.in_(device_ids)) if device_ids is not None else stmt


def latest_feed_dates(device_ids: list[int]) -> dict[int, datetime]:
    """Each scanner's feed_updated_at from its newest scanner_stats row."""
    if not device_ids:
        return {}
    rows = db.session.execute(sa.select(Device.id, ScannerStats.feed_updated_at)
                              .join(ScannerStats, ScannerStats.id == latest_stats_id(Device.id))
                              .where(Device.id.in_(device_ids)))
    return {device_id: feed for device_id, feed in rows if feed is not None}


def evaluate_absence(device_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Evaluate device_offline and scanner_feed_stale for every watched device; returns decisions taken."""
    now = now or utcnow()
    rules = _absence_rules()
    if not rules:
        return 0
    devices = db.session.scalars(_watched_devices(device_ids).order_by(Device.id)).all()
    states = load_states([r.id for r in rules])
    feeds = latest_feed_dates([d.id for d in devices if d.device_type == "scanner"])
    overdue = (backup_overdue_hours([d.id for d in devices], now)
               if any(r.rule_type == "backup_missing" for r in rules) else {})
    decisions = 0
    for device in devices:
        mine = most_specific([r for r in rules if r.org_id in (None, device.org_id)
                              and r.device_id in (None, device.id)], device)
        if device.device_type != "scanner":
            mine = [r for r in mine if r.rule_type != "scanner_feed_stale"]
        if mine:
            decisions += run(mine, DeviceContext.of(device), {"now": now, "feed_updated_at": feeds.get(device.id),
                                                              "backup_overdue": overdue}, now, states)
    return decisions


def _backups_on() -> sa.Select:
    return _watched_devices(None).join(BackupConfig, BackupConfig.device_id == Device.id).where(
        BackupConfig.enabled.is_(True), BackupConfig.backup_mode != "off",
        BackupConfig.schedule_cron.is_not(None)).with_only_columns(Device.id)


def has_absence_work() -> bool:
    """The job's only_if: a mute has run out, or an absence rule is enabled and some enrolled
    device could be silent or stale."""
    if db.session.scalar(sa.select(Alert.id).where(Alert.status == "muted", Alert.muted_until <= utcnow()).limit(1)):
        return True
    rules = _absence_rules()
    if not rules:
        return False
    if db.session.scalar(sa.select(AlertRuleState.id).where(AlertRuleState.rule_id.in_([r.id for r in rules]),
                                                            AlertRuleState.phase != "ok").limit(1)):
        return True  # something pending or firing: it needs its next look (recovery, repeat)
    now = utcnow()
    offline = [r.threshold_value or 0 for r in rules if r.rule_type == "device_offline"]
    if offline:
        cutoff = now - timedelta(minutes=min(offline))
        silent = _watched_devices(None).where(Device.last_seen_at < cutoff).with_only_columns(Device.id).limit(1)
        if db.session.scalar(silent) is not None:
            return True
    if any(r.rule_type == "backup_missing" for r in rules) and db.session.scalar(
            _backups_on().limit(1)) is not None:
        return True
    return any(r.rule_type == "scanner_feed_stale" for r in rules) and db.session.scalar(
        _watched_devices(None).where(Device.device_type == "scanner").with_only_columns(Device.id).limit(1)) is not None


# ---------------------------------------------------------------- default rules

def default_rules(org_id: int | None) -> list[AlertRule]:
    return evaluate.default_rules(org_id, "fleet")


def ensure_default_rules(org_id: int, actor: Any = None) -> int:
    """Give an organization without any fleet alert rule the default set (audited); returns how many."""
    return evaluate.ensure_defaults(org_id, "fleet", actor)


# Fleet's services publish what happened; the rules react here (no import back into them).
events.subscribe("fleet.heartbeat_stored", on_heartbeat)
events.subscribe("fleet.backup_reported", on_backup_report)
events.subscribe("fleet.device_created", ensure_default_rules)


def _device(org_id: int, object_id: str) -> Device | None:
    return db.session.scalar(sa.select(Device).where(Device.org_id == org_id, Device.id == int(object_id),
                                                     Device.deleted_at.is_(None)))


def _device_events(device: Device) -> list[tuple[datetime, str]]:
    """The device's latest alerts, opened and resolved."""
    out = []
    for alert in db.session.scalars(sa.select(Alert).where(Alert.device_id == device.id)
                                    .order_by(Alert.id.desc()).limit(20)):
        out.append((alert.fired_at, f"{device.label}: {alert.message}"))
        if alert.resolved_at:
            out.append((alert.resolved_at, f"{device.label}: resolved {alert.message}"))
    return sorted(out, key=lambda e: e[0])


linkable.register(linkable.LinkableType("device", "Device", _device, lambda d: d.label,
                                        lambda d: device_url(f"device:{d.id}"), _device_events))
