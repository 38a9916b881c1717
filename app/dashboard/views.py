"""The home page."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.dashboard import services
from app.dashboard.blueprint import bp
from app.permissions import can, require
from app.rendering import render_page
from app.tenancy import current_org_id

# The blocks the page polls on its own (hx-get "?block=<name>").
LIVE_BLOCKS = ("posture", "attention", "timeline", "counts")


@bp.get("/")
@require("dashboard.view")
def index():
    """Posture per domain, what needs attention now, recent activity; one block when polled."""
    org_id = current_org_id()
    wanted = request.args.get("block")
    block = wanted if wanted in LIVE_BLOCKS else "counts"
    context = {"counts": {}, "posture": [], "attention": [], "timeline": [], "org_columns": [], "orgs": []}
    if org_id:
        if block in ("counts",) or not wanted:
            context["counts"] = services.summary(org_id, current_user.id)
        if block == "posture" or not wanted:
            context["posture"] = services.posture(org_id, current_user)
        if block == "attention" or not wanted:
            context["attention"] = services.attention(org_id, current_user)
        if block == "timeline" or not wanted:
            context["timeline"] = services.timeline(org_id, current_user)
    if not wanted and can("org.switch"):
        context["org_columns"], context["orgs"] = services.org_table()
    return render_page("dashboard/index.html", block=block, **context)
