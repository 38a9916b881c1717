"""Search page and the top bar's dropdown (a named block of the same template)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.permissions import require
from app.rendering import render_page
from app.search import services, text
from app.search.blueprint import bp
from app.tenancy import current_org_id


@bp.get("/")
@require("dashboard.view")
def index():
    """Results for `q`, grouped by type; an htmx request gets only the dropdown block."""
    term = text.clean(request.args.get("q"))
    org_id = current_org_id()
    dropdown = request.args.get("dropdown") == "1"
    limit = services.PER_TYPE_DROPDOWN if dropdown else services.PER_TYPE_PAGE
    groups = services.search(org_id, term, current_user, limit) if term and org_id else []
    return render_page("search/index.html", block="dropdown" if dropdown else "results", q=request.args.get("q", ""),
                       term=term, groups=groups, min_term=text.MIN_TERM)
