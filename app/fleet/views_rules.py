"""Alert rules (admins manage them, everyone sees them) and maintenance windows (writers
manage them: an operator puts a device into maintenance before working on it)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash
from flask_login import current_user

from app.alerting import admin
from app.alerting.maintenance import describe, is_open
from app.alerting.registry import RULE_TYPES
from app.fleet import bp
from app.fleet.forms_alerts import AlertRuleForm, MaintenanceWindowForm, split_names
from app.fleet.views import org_sites
from app.models import AlertRule, Device, MaintenanceWindow, db, utcnow
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


def org_devices() -> list[Device]:
    return db.session.scalars(scoped(Device).order_by(Device.device_name, Device.id)).all()


def may_manage_global() -> bool:
    return can("settings.manage")  # global rules reach every organization: super admins only


def rule_or_404(rule_id: int) -> AlertRule:
    """An organization's rule, or a global one for super admins; 404 otherwise."""
    rule = db.session.scalar(scoped(AlertRule).where(AlertRule.id == rule_id))
    if rule is None and may_manage_global():
        rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.id == rule_id, AlertRule.org_id.is_(None)))
    if rule is None:
        abort(404)
    return rule


# ---------------------------------------------------------------- rules

@bp.get("/alert-rules")
@require("data.read")
def alert_rules():
    """The organization's rules and the global ones that also apply to it."""
    org_id = require_org_id()
    rules = db.session.scalars(sa.select(AlertRule).where(sa.or_(AlertRule.org_id == org_id,
                                                                 AlertRule.org_id.is_(None)))
                               .order_by(AlertRule.rule_type, AlertRule.org_id.is_(None).desc(), AlertRule.id)).all()
    devices = {d.id: d for d in org_devices()}
    return render_page("fleet/alert_rules.html", rules=rules, devices=devices, types=RULE_TYPES,
                       manage_global=may_manage_global())


def _rule_values(form: AlertRuleForm) -> dict:
    scope = form.scope.data
    device_id = int(form.device_id.data) if scope == "device" else None
    return {"org_id": None if scope == "global" else require_org_id(), "device_id": device_id,
            "rule_type": form.rule_type.data, "domain": RULE_TYPES[form.rule_type.data].domain,
            "direction": RULE_TYPES[form.rule_type.data].direction, "name": form.name.data.strip(),
            "description": form.description.data or None, "threshold_value": form.threshold_value.data,
            "recovery_value": form.recovery_value.data if form.recovery_value.data is not None
            else form.threshold_value.data,
            "threshold_duration_seconds": form.threshold_duration_seconds.data,
            "cooldown_seconds": form.cooldown_seconds.data,
            "repeat_interval_seconds": form.repeat_interval_seconds.data or None,
            "severity": form.severity.data, "enabled": form.enabled.data, "notify": form.notify.data,
            "params": {"names": split_names(form.names.data)} if split_names(form.names.data) else {}}


def _rule_page(form: AlertRuleForm, rule: AlertRule | None):
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("fleet/alert_rule_form.html", status=status, form=form, rule=rule, types=RULE_TYPES)


@bp.route("/alert-rules/new", methods=["GET", "POST"])
@require("alert_rules.manage")
def alert_rule_new():
    """Add an alert rule for the organization, one device, or (super admins) every organization."""
    form = AlertRuleForm(devices=org_devices(), allow_global=may_manage_global())
    if form.validate_on_submit():
        rule = AlertRule(domain="fleet", direction="above")
        admin.save_rule(rule, _rule_values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Rule '{rule.name}' added.", "success")
        return redirect_after_post("fleet.alert_rules")
    return _rule_page(form, None)


@bp.route("/alert-rules/<int:rule_id>/edit", methods=["GET", "POST"])
@require("alert_rules.manage")
def alert_rule_edit(rule_id: int):
    """Change an alert rule; disabling it resolves its open alerts."""
    rule = rule_or_404(rule_id)
    names = ", ".join((rule.params or {}).get("names") or [])
    form = AlertRuleForm(obj=rule, names=names, devices=org_devices(), allow_global=may_manage_global())
    if form.validate_on_submit():
        admin.save_rule(rule, _rule_values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Rule '{rule.name}' saved.", "success")
        return redirect_after_post("fleet.alert_rules")
    return _rule_page(form, rule)


@bp.post("/alert-rules/<int:rule_id>/delete")
@require("alert_rules.manage")
def alert_rule_delete(rule_id: int):
    """Delete an alert rule and resolve its open alerts."""
    rule = rule_or_404(rule_id)
    admin.delete_rule(rule, current_user._get_current_object())
    db.session.commit()
    flash("Rule deleted.", "success")
    return redirect_after_post("fleet.alert_rules")


# ---------------------------------------------------------------- maintenance windows

@bp.get("/maintenance")
@require("data.read")
def maintenance_windows():
    """The organization's maintenance windows, with the ones open now marked."""
    rows = db.session.scalars(scoped(MaintenanceWindow).order_by(MaintenanceWindow.name, MaintenanceWindow.id)).all()
    now = utcnow()
    return render_page("fleet/maintenance_windows.html", rows=rows, open_now={w.id for w in rows if is_open(w, now)},
                       describe=describe, devices={d.id: d for d in org_devices()},
                       sites={s.id: s for s in org_sites()})


def _window_data(window: MaintenanceWindow) -> dict:
    tz = ZoneInfo(window.timezone)
    local = {k: getattr(window, k).astimezone(tz).replace(tzinfo=None) if getattr(window, k) else None
             for k in ("starts_at", "ends_at")}
    return {"name": window.name, "reason": window.reason, "scope": window.scope,
            "site_id": str(window.site_id or ""), "device_id": str(window.device_id or ""),
            "recurrence": window.recurrence, "timezone": window.timezone, "weekdays": window.weekdays,
            "start_time": window.start_time, "cron": window.cron, "duration_minutes": window.duration_minutes,
            "enabled": window.enabled, **local}


def _window_values(form: MaintenanceWindowForm) -> dict:
    once = form.recurrence.data == "once"
    return {"name": form.name.data.strip(), "reason": form.reason.data or None,
            "site_id": int(form.site_id.data) if form.scope.data == "site" else None,
            "device_id": int(form.device_id.data) if form.scope.data == "device" else None,
            "recurrence": form.recurrence.data, "timezone": form.timezone.data.strip(),
            "starts_at": form.utc(form.starts_at.data) if once else None,
            "ends_at": form.utc(form.ends_at.data) if once else None,
            "weekdays": sorted(form.weekdays.data or []) if form.recurrence.data == "weekly" else [],
            "start_time": form.start_time.data if form.recurrence.data == "weekly" else None,
            "cron": form.cron.data.strip() if form.recurrence.data == "cron" else None,
            "duration_minutes": None if once else form.duration_minutes.data, "enabled": form.enabled.data}


def _window_form(window: MaintenanceWindow | None) -> MaintenanceWindowForm:
    extra = {"data": _window_data(window)} if window is not None else {}
    return MaintenanceWindowForm(sites=org_sites(), devices=org_devices(), **extra)


def _window_page(form: MaintenanceWindowForm, window: MaintenanceWindow | None):
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("fleet/maintenance_form.html", status=status, form=form, window=window)


@bp.route("/maintenance/new", methods=["GET", "POST"])
@require("data.write")
def maintenance_new():
    """Schedule a maintenance window (one-off, weekly or cron) for the organization, a site or a device."""
    form = _window_form(None)
    if form.validate_on_submit():
        window = MaintenanceWindow(org_id=require_org_id())
        admin.save_window(window, _window_values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Maintenance window '{window.name}' saved.", "success")
        return redirect_after_post("fleet.maintenance_windows")
    return _window_page(form, None)


@bp.route("/maintenance/<int:window_id>/edit", methods=["GET", "POST"])
@require("data.write")
def maintenance_edit(window_id: int):
    """Change a maintenance window."""
    window = get_scoped_or_404(MaintenanceWindow, window_id)
    form = _window_form(window)
    if form.validate_on_submit():
        admin.save_window(window, _window_values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Maintenance window '{window.name}' saved.", "success")
        return redirect_after_post("fleet.maintenance_windows")
    return _window_page(form, window)


@bp.post("/maintenance/<int:window_id>/delete")
@require("data.write")
def maintenance_delete(window_id: int):
    """Delete a maintenance window."""
    window = get_scoped_or_404(MaintenanceWindow, window_id)
    admin.delete_window(window, current_user._get_current_object())
    db.session.commit()
    flash("Maintenance window deleted.", "success")
    return redirect_after_post("fleet.maintenance_windows")
