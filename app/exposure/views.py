"""The exposure overview: exposed accounts, leaked passwords in use, shared passwords and files."""

from __future__ import annotations

from app.exposure import bp, services
from app.permissions import require
from app.rendering import render_page
from app.tenancy import require_org_id


@bp.get("/")
@require("exposure.view")
def overview():
    """Counts of the organization's exposure; details only for admins and analysts."""
    org_id = require_org_id()
    return render_page("exposure/overview.html", counts=services.counts(org_id))
