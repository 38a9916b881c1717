"""The device page: a header and tabs (overview, metrics, services, containers, scanner,
facts, commands, backups, audit), each tab an htmx-loaded section of the same page, plus the JSON series the
metrics charts read."""

from __future__ import annotations

from flask import abort, jsonify, request

from app.fleet import device_data, services
from app.fleet.blueprint import bp
from app.models import Device, utcnow
from app.permissions import require
from app.rendering import render_page
from app.tenancy import get_scoped_or_404

TABS = ("overview", "metrics", "services", "containers", "scanner", "facts", "commands", "backups", "audit")


def tab_context(device: Device, tab: str) -> dict:
    """The template values of one tab (only what that tab shows is loaded)."""
    if tab == "overview":
        return {"last": device_data.latest_heartbeat(device), "online": services.is_online(device)}
    if tab == "metrics":
        range_key = request.args.get("range", "24h")
        if range_key not in device_data.RANGES:
            abort(400, "Unknown range: use 1h, 24h or 7d.")
        return {"range_key": range_key, "ranges": list(device_data.RANGES)}
    if tab == "services":
        return {"services": device_data.device_services(device)}
    if tab == "containers":
        return {"containers": device_data.device_containers(device)}
    if tab == "scanner":
        stats = device_data.latest_scanner_stats(device)
        return {"scanner": stats, "cves": device_data.top_cves(stats), "severity_label": device_data.severity_label}
    if tab == "audit":
        return {"audit_rows": device_data.device_audit(device)}
    return {}  # facts, commands, backups: the tab loads its section (views_facts.py, views_ops.py) itself


@bp.get("/devices/<int:device_id>")
@require("data.read")
def device_detail(device_id: int):
    """One device, on its overview tab (the live block refreshes itself every 30 s)."""
    return device_tab(device_id, "overview")


@bp.get("/devices/<int:device_id>/tab/<tab>")
@require("data.read")
def device_tab(device_id: int, tab: str):
    """One tab of the device page: the tab alone for htmx, the whole page with it selected otherwise."""
    device = get_scoped_or_404(Device, device_id)
    if tab not in TABS:
        abort(404)
    return render_page("fleet/device_detail.html", block="tab", device=device, tab=tab, tabs=TABS,
                       now=utcnow(), **tab_context(device, tab))


@bp.get("/devices/<int:device_id>/metrics.json")
@require("data.read")
def device_metrics(device_id: int):
    """The device's rollup series over 1h, 24h or 7d (for the metrics charts)."""
    device = get_scoped_or_404(Device, device_id)
    range_key = request.args.get("range", "24h")
    if range_key not in device_data.RANGES:
        abort(400, "Unknown range: use 1h, 24h or 7d.")
    return jsonify(device_data.metric_series(device, range_key))
