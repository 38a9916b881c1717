"""The fleet's alert list (filters by device, fleet summary, live refresh) and a device's
alerts section. One alert's page and the actions on it are the Alerts page's (app/alerts),
where the fleet adds its device and maintenance window as a registered panel."""

from __future__ import annotations

from flask import abort, redirect, request, url_for

from app.alerting import registry
from app.alerting.maintenance import is_open
from app.fleet.blueprint import bp
from app.fleet.queries import online_counts, scanner_summary
from app.models import Alert, Device, MaintenanceWindow, db, utcnow
from app.models.alerting import ALERT_SEVERITIES, ALERT_STATUSES
from app.pagination import page_arg
from app.permissions import require
from app.rendering import render_page
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


def fleet_alert_or_404(alert_id: int) -> Alert:
    """One of the organization's fleet alerts (another tenant's, or another domain's, is a 404)."""
    alert = get_scoped_or_404(Alert, alert_id)
    if alert.domain != "fleet":
        abort(404)
    return alert


# One alert has one page, /alerts/<id> (app/alerts), for every domain; the fleet adds its
# device and maintenance window there as a registered panel (below). The fleet's old
# addresses answer with a redirect, so bookmarks and notification links keep working.

@bp.get("/alerts/<int:alert_id>")
@require("data.read")
def alert_detail(alert_id: int):
    """The alert's page is the Alerts page's (redirect; another tenant's id is a 404)."""
    alert = get_scoped_or_404(Alert, alert_id)
    return redirect(url_for("alerts.detail", alert_id=alert.id))


def _moved(alert_id: int, endpoint: str):
    """A form posted to an old fleet address goes on, method and body kept (307), to the shared action."""
    return redirect(url_for(endpoint, alert_id=fleet_alert_or_404(alert_id).id), code=307)


@bp.post("/alerts/<int:alert_id>/ack")
@require("data.write")
def alert_ack(alert_id: int):
    """Acknowledge: the shared action on the alert's page (307)."""
    return _moved(alert_id, "alerts.ack")


@bp.post("/alerts/<int:alert_id>/resolve")
@require("data.write")
def alert_resolve(alert_id: int):
    """Resolve with a note: the shared action on the alert's page (307)."""
    return _moved(alert_id, "alerts.resolve")


@bp.post("/alerts/<int:alert_id>/mute")
@require("data.write")
def alert_mute(alert_id: int):
    """Mute: the shared action on the alert's page (307)."""
    return _moved(alert_id, "alerts.mute")


def alert_panel(alert: Alert) -> dict | None:
    """The fleet's part of the alert page: the device (linked) and the maintenance window keeping it quiet."""
    device = db.session.scalar(scoped(Device).where(Device.id == alert.device_id)) if alert.device_id else None
    window = covering(open_windows(), device)
    if device is None and window is None:
        return None
    return {"device": device, "window": window}


registry.register_panel("fleet", "fleet/_alert_panel.html", alert_panel)


@bp.get("/devices/<int:device_id>/alerts")
@require("data.read")
def device_alerts(device_id: int):
    """The device page's Alerts section: what is firing on it now, and whether maintenance keeps it quiet."""
    device = get_scoped_or_404(Device, device_id)
    active = db.session.scalars(scoped(Alert).where(Alert.device_id == device.id, Alert.status != "resolved")
                                .order_by(Alert.fired_at.desc())).all()
    return render_page("fleet/device_alerts.html", block="device_alerts", device=device, active=active,
                       window=covering(open_windows(), device))
