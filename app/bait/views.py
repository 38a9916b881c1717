"""Canary token pages: the list, the create wizard, a token's detail, download and revoke."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Response, abort, request
from flask_login import current_user

from app.bait import artifacts, intel_places, kinds, seeding, services
from app.bait.blueprint import bp
from app.bait.forms import TokenForm
from app.htmx import hx_trigger
from app.indicators.matching import appearances
from app.models import BaitToken, db, utcnow
from app.permissions import can, require
from app.rendering import redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id


@bp.get("/")
@require("data.read")
def index():
    """The organization's tokens with status, hits and last hit."""
    wanted = request.args.get("status") or None
    if wanted not in ("active", "triggered", "expired", "revoked"):
        wanted = None
    tokens = services.org_tokens(require_org_id(), wanted)
    return render_page("bait/index.html", block="tokens_table", tokens=tokens, wanted=wanted,
                       levels={t.id: services.token_threat_level(t) for t in tokens},
                       probes=services.probe_count(), kinds=kinds.KINDS)


@bp.get("/new")
@require("threats.manage")
def new():
    """The create wizard: pick a kind, see what it is and where to plant it."""
    form = TokenForm(bait_type=request.args.get("kind") or request.args.get("bait_type") or "url")
    return render_page("bait/new.html", block="kind_advice", form=form, kinds=kinds.KINDS,
                       kind=form.bait_type.data if form.bait_type.data in kinds.KINDS else "url")


@bp.post("/new")
@require("threats.manage")
def create():
    """Create a token (422 with the errors when the form is invalid)."""
    form = TokenForm()
    if form.validate_on_submit():
        expires = utcnow() + timedelta(days=form.expires_days.data) if form.expires_days.data else None
        try:
            token = services.create_token(require_org_id(), form.bait_type.data, form.name.data,
                                          memo=form.memo.data, user=current_user, expires_at=expires)
        except services.BaitError as exc:
            form.bait_type.errors = [*form.bait_type.errors, str(exc)]
        else:
            db.session.commit()
            return redirect_after_post("bait.detail", token_id=token.id)
    kind = form.bait_type.data if form.bait_type.data in kinds.KINDS else "url"
    return render_page("bait/new.html", status=422, form=form, kinds=kinds.KINDS, kind=kind)


def detail_context(token: BaitToken) -> dict:
    """What the token page shows: its bait, alerts, sources and where else their addresses appear.
    The bait itself (its copyable snippet, with any credential in it) only for those who may manage
    tokens; read-only users see what touched it."""
    manager = can("threats.manage")
    sources = services.sources(token)
    own = {str(a.id) for a in token.accesses}
    elsewhere = {s["ip"]: [(place, occ) for place, occ in appearances(token.org_id, "ip", s["ip"], current_user)
                           if not (place.name == intel_places.PLACE and occ.object_id in own)]
                 for s in sources if s["ip"]}
    return {"token": token, "sources": sources, "elsewhere": elsewhere, "snippet": artifacts.snippet(token, services.secret_of(token)) if manager else None,
            "advice": kinds.KINDS[token.bait_type][2], "url": kinds.token_url(token.identifier),
            "level": services.token_threat_level(token), "alerts": services.token_alerts(token),
            "points_json": json.dumps(services.map_points(sources)),
            "providers": seeding.configured(token.org_id), "specs": seeding.SPECS, "seedable": seeding.SEEDABLE,
            "publisher_keys": seeding.PUBLISHERS}


@bp.get("/<int:token_id>")
@require("data.read")
def detail(token_id: int):
    """A token: its bait, timeline of accesses with attribution, sources and cross-Vigil sightings."""
    return render_page("bait/detail.html", block="accesses", **detail_context(get_scoped_or_404(BaitToken, token_id)))


@bp.get("/<int:token_id>/download")
@require("threats.manage")
def download(token_id: int):
    """The token's bait file (?format=svg for a QR code as SVG)."""
    token = get_scoped_or_404(BaitToken, token_id)
    if token.bait_type in ("url", "image", "dns"):
        abort(404)
    name, media, content = artifacts.artifact(token, services.secret_of(token), request.args.get("format"))
    return Response(content, mimetype=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})


@bp.post("/<int:token_id>/revoke")
@require("threats.manage")
def revoke(token_id: int):
    """Revoke a token: later touches are probes, not hits."""
    token = get_scoped_or_404(BaitToken, token_id)
    services.revoke(token, current_user)
    db.session.commit()
    return hx_trigger(redirect_after_post("bait.detail", token_id=token.id), "bait-token-revoked")
