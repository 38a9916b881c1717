"""The fleet dashboard (the seed's eight KPIs and what needs attention) and the scanner
operations page across the organization's fleet."""

from __future__ import annotations

from app.fleet import dashboard as service
from app.fleet.blueprint import bp
from app.fleet.queries import scanner_summary
from app.permissions import require
from app.rendering import render_page
from app.tenancy import require_org_id


@bp.get("/")
@require("data.read")
def dashboard():
    """Fleet dashboard; the `live` block refreshes itself every 30 s."""
    return render_page("fleet/dashboard.html", block="live", **service.dashboard(require_org_id()))


@bp.get("/scanners")
@require("data.read")
def scanners():
    """Every scanner's feed age, running and queued tasks, last scan and findings by severity."""
    org_id = require_org_id()
    rows = service.scanner_health(scanner_summary(org_id))
    stats = service.latest_scanner_details([h.row.device_id for h in rows])
    return render_page("fleet/scanners.html", block="live", scanners=rows, stats=stats)
