"""Publishing bait through a provider, and the providers' keys."""

from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from app.bait import seeding, services
from app.bait.blueprint import bp
from app.bait.views import detail_context
from app.models import BaitToken, db
from app.permissions import require
from app.rendering import redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id


@bp.post("/<int:token_id>/seed")
@require("threats.manage")
def seed(token_id: int):
    """Publish the token's bait to a Gist or paste service (422 with the reason when it cannot be)."""
    token = get_scoped_or_404(BaitToken, token_id)
    try:
        url = seeding.publish(token, request.form.get("provider", ""), services.secret_of(token), current_user)
    except seeding.SeedError as exc:
        db.session.rollback()
        return render_page("bait/detail.html", status=422, seed_error=str(exc), **detail_context(token))
    db.session.commit()
    flash(f"Published: {url}", "success")
    return redirect_after_post("bait.detail", token_id=token.id)


@bp.get("/providers")
@require("org.edit_own")
def providers():
    """Keys of the services bait can be published to (shown as set or not, never the key)."""
    return render_page("bait/providers.html", specs=seeding.SPECS, configured=seeding.configured(require_org_id()),
                       errors={})


@bp.post("/providers/<provider>")
@require("org.edit_own")
def provider_save(provider: str):
    """Save a provider's base URL and key (sealed); a blank key keeps the stored one."""
    org_id = require_org_id()
    try:
        seeding.set_provider(org_id, provider, request.form.get("base_url", ""), request.form.get("api_key", ""),
                             current_user)
    except seeding.SeedError as exc:
        db.session.rollback()
        return render_page("bait/providers.html", status=422, specs=seeding.SPECS,
                           configured=seeding.configured(org_id), errors={provider: str(exc)})
    db.session.commit()
    flash("Provider saved.", "success")
    return redirect_after_post("bait.providers")
