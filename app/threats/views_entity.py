"""The entity page: one IP, domain, URL, e-mail or hash across all of Vigil."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.permissions import require
from app.rendering import render_page
from app.tenancy import require_org_id
from app.threats import entity
from app.threats.blueprint import bp


@bp.get("/entity")
@require("threats.view")
def entity_page():
    """Every place the value `v` appears in this organization, in time order."""
    raw = request.args.get("v", "")[:500]
    detected = entity.detect(raw)
    if detected is None:
        return render_page("threats/entity.html", status=422 if raw else 200, raw=raw, entity=None)
    return render_page("threats/entity.html", raw=raw, entity=entity.build(require_org_id(), *detected, current_user))
