"""Dashboard page."""

from __future__ import annotations

from flask_login import current_user

from app.dashboard import bp, services
from app.permissions import can, require
from app.rendering import render_page
from app.tenancy import current_org_id


@bp.get("/")
@require("dashboard.view")
def index():
    """Counts and recent activity for the current organization."""
    org_id = current_org_id()
    counts = services.summary(org_id, current_user.id) if org_id else {}
    activity = services.recent_activity(org_id) if org_id and can("audit.view") else []
    return render_page("dashboard/index.html", block="counts", counts=counts, activity=activity)
