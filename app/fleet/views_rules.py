"""Maintenance windows (writers manage them: an operator puts a device into maintenance
before working on it), the devices a rule may be set for, and the old rules addresses
(the rules of every domain live on /alerts/rules)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.alerting import admin, registry
from app.alerting.maintenance import describe, is_open
from app.fleet.blueprint import bp
from app.fleet.forms_alerts import MaintenanceWindowForm
from app.fleet.views import org_sites
from app.models import Device, MaintenanceWindow, db, utcnow
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


def org_devices() -> list[Device]:
    return db.session.scalars(scoped(Device).order_by(Device.device_name, Device.id)).all()


def device_choices(org_id: int) -> list[tuple[int, str]]:
    """The organization's devices a device rule may be set for (the rules page's device scope)."""
    return [(d.id, d.label) for d in db.session.scalars(
        sa.select(Device).where(Device.org_id == org_id, Device.deleted_at.is_(None))
        .order_by(Device.device_name, Device.id))]


registry.register_device_choices(device_choices)


# ---------------------------------------------------------------- rules: moved to /alerts/rules

# The rules of every domain are managed on one page (app/alerts/views_rules.py); the fleet's old
# addresses redirect there (a GET permanently, a posted form with its method and body kept).

@bp.get("/alert-rules")
@require("data.read")
def alert_rules():
    """The rules page moved to /alerts/rules (301)."""
    return redirect(url_for("alerts.rules"), code=301)


@bp.route("/alert-rules/new", methods=["GET", "POST"])
@require("data.read")
def alert_rule_new():
    """Adding a rule moved to /alerts/rules/new (301, or 308 for a posted form)."""
    return redirect(url_for("alerts.rule_new"), code=301 if request.method == "GET" else 308)


@bp.route("/alert-rules/<int:rule_id>/edit", methods=["GET", "POST"])
@require("data.read")
def alert_rule_edit(rule_id: int):
    """Changing a rule moved to /alerts/rules/<id>/edit (301, or 308 for a posted form)."""
    return redirect(url_for("alerts.rule_edit", rule_id=rule_id), code=301 if request.method == "GET" else 308)


@bp.post("/alert-rules/<int:rule_id>/delete")
@require("data.read")
def alert_rule_delete(rule_id: int):
    """Deleting a rule moved to /alerts/rules/<id>/delete (308)."""
    return redirect(url_for("alerts.rule_delete", rule_id=rule_id), code=308)


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
