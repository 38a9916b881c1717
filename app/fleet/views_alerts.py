"""Alert pages: the list with filters and live refresh, one alert, and acting on it
(acknowledge, resolve with a note, mute until a time)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.alerting import service
from app.alerting.maintenance import is_open
from app.alerts.forms import MuteForm, ResolveForm
from app.fleet import bp
from app.fleet.queries import online_counts, scanner_summary
from app.models import Alert, AuditLog, Device, MaintenanceWindow, db, utcnow
from app.models.alerting import ALERT_SEVERITIES, ALERT_STATUSES
from app.pagination import page_arg
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

STATE_FILTERS = ("active", *ALERT_STATUSES, "all")


def open_windows(now=None) -> list[MaintenanceWindow]:
    """The organization's maintenance windows open right now."""
    now = now or utcnow()
    return [w for w in db.session.scalars(scoped(MaintenanceWindow).where(MaintenanceWindow.enabled.is_(True)))
            if is_open(w, now)]


def covering(windows: list[MaintenanceWindow], device: Device | None) -> MaintenanceWindow | None:
    for w in windows:
        if w.site_id is None and w.device_id is None:
            return w
        if device is not None and (w.device_id == device.id or (w.site_id and w.site_id == device.site_id)):
            return w
    return None


def fleet_summary(org_id: int) -> dict:
    """Online counts (devices_online) and scanner totals (scanner_summary) for the page header."""
    scanners = scanner_summary(org_id)
    return {**online_counts(org_id), "scanners": len(scanners),
            "scans_running": sum(s.scans_running or 0 for s in scanners),
            "scans_queued": sum(s.scans_queued or 0 for s in scanners),
            "vulns_critical": sum(s.vulns_critical or 0 for s in scanners)}


@bp.get("/alerts")
@require("data.read")
def alerts():
    """Alerts of the organization, newest first, filtered by state, severity and device."""
    args = request.args
    state = args.get("state") or "active"
    severity = args.get("severity") or None
    device_id = args.get("device") or None
    if state not in STATE_FILTERS or (severity and severity not in ALERT_SEVERITIES) or (
            device_id and not device_id.isdigit()):
        abort(400, "Unknown filter value.")
    stmt = scoped(Alert).where(Alert.domain == "fleet")  # every domain's alerts: the Alerts page (/alerts)
    if state == "active":
        stmt = stmt.where(Alert.status != "resolved")
    elif state != "all":
        stmt = stmt.where(Alert.status == state)
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    if device_id:
        stmt = stmt.where(Alert.device_id == int(device_id))
    rows = db.paginate(stmt.order_by(Alert.fired_at.desc(), Alert.id.desc()), page=page_arg(args),
                       per_page=50, error_out=False)
    devices = {d.id: d for d in db.session.scalars(scoped(Device).order_by(Device.device_name, Device.id))}
    windows = open_windows()
    quiet = {a.id: covering(windows, devices.get(a.device_id)) for a in rows.items}
    filters = {k: v for k, v in args.items() if k != "page" and v}
    return render_page("fleet/alerts.html", block="alert_rows", rows=rows, filters=filters, devices=devices,
                       states=STATE_FILTERS, severities=ALERT_SEVERITIES, quiet=quiet, windows=windows,
                       summary=fleet_summary(require_org_id()), now=utcnow())


def _detail(alert: Alert, *, resolve_form=None, mute_form=None, status: int = 200):
    device = db.session.get(Device, alert.device_id) if alert.device_id else None
    history = db.session.scalars(sa.select(AuditLog).where(AuditLog.resource_type == "alert",
                                                           AuditLog.resource_id == str(alert.id))
                                 .order_by(AuditLog.id)).all()
    return render_page("fleet/alert_detail.html", status=status, alert=alert, device=device, history=history,
                       window=covering(open_windows(), device), resolve_form=resolve_form or ResolveForm(),
                       mute_form=mute_form or MuteForm())


def fleet_alert_or_404(alert_id: int) -> Alert:
    """One of the organization's fleet alerts; other domains' alerts live on the Alerts page."""
    alert = get_scoped_or_404(Alert, alert_id)
    if alert.domain != "fleet":
        abort(404)
    return alert


def _refuse_unless_active(alert: Alert, form, name: str):
    """The answer when an action cannot go ahead: the alert is resolved, or the form is invalid."""
    if not alert.is_active:
        flash("This alert is already resolved.", "warning")
        return redirect_after_post("fleet.alert_detail", alert_id=alert.id)
    if not form.validate_on_submit():
        return _detail(alert, status=INVALID_FORM_STATUS, **{name: form})
    return None


@bp.get("/alerts/<int:alert_id>")
@require("data.read")
def alert_detail(alert_id: int):
    """One alert: what fired, its history, and the actions on it (another domain's: the Alerts page)."""
    alert = get_scoped_or_404(Alert, alert_id)
    if alert.domain != "fleet":
        return redirect(url_for("alerts.detail", alert_id=alert.id))
    return _detail(alert)


@bp.post("/alerts/<int:alert_id>/ack")
@require("data.write")
def alert_ack(alert_id: int):
    """Acknowledge an alert: someone is on it, so it stops repeating."""
    alert = fleet_alert_or_404(alert_id)
    if service.acknowledge(alert, current_user._get_current_object()):
        db.session.commit()
        flash("Alert acknowledged.", "success")
    else:
        flash("Only an open or muted alert can be acknowledged.", "warning")
    return redirect_after_post("fleet.alert_detail", alert_id=alert.id)


@bp.post("/alerts/<int:alert_id>/resolve")
@require("data.write")
def alert_resolve(alert_id: int):
    """Resolve an alert with a note of what was done."""
    alert = fleet_alert_or_404(alert_id)
    form = ResolveForm()
    refused = _refuse_unless_active(alert, form, "resolve_form")
    if refused is not None:
        return refused
    service.resolve(alert, utcnow(), note=form.note.data.strip(), actor=current_user._get_current_object())
    db.session.commit()
    flash("Alert resolved.", "success")
    return redirect_after_post("fleet.alert_detail", alert_id=alert.id)


@bp.post("/alerts/<int:alert_id>/mute")
@require("data.write")
def alert_mute(alert_id: int):
    """Mute an alert's notifications until a time (it still resolves on recovery)."""
    alert = fleet_alert_or_404(alert_id)
    form = MuteForm()
    refused = _refuse_unless_active(alert, form, "mute_form")
    if refused is not None:
        return refused
    until = utcnow() + timedelta(hours=int(form.hours.data))
    service.mute(alert, until, current_user._get_current_object())
    db.session.commit()
    flash("Alert muted.", "success")
    return redirect_after_post("fleet.alert_detail", alert_id=alert.id)


@bp.get("/devices/<int:device_id>/alerts")
@require("data.read")
def device_alerts(device_id: int):
    """The device page's Alerts section: what is firing on it now, and whether maintenance keeps it quiet."""
    device = get_scoped_or_404(Device, device_id)
    active = db.session.scalars(scoped(Alert).where(Alert.device_id == device.id, Alert.status != "resolved")
                                .order_by(Alert.fired_at.desc())).all()
    return render_page("fleet/device_alerts.html", block="device_alerts", device=device, active=active,
                       window=covering(open_windows(), device))
