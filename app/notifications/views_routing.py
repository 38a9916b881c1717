"""Routing rules (which domains and severities go to which channel), quiet hours and the
daily digest of one organization. Admins only, like the channels."""

from __future__ import annotations

from flask import abort, flash, request

from app.models import NotificationChannel, NotificationRoute, db
from app.notifications import routing
from app.notifications.blueprint import bp
from app.notifications.forms import PolicyForm, RouteForm
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


def _channels() -> list[NotificationChannel]:
    return db.session.scalars(scoped(NotificationChannel).order_by(NotificationChannel.name)).all()


def _page(route_form: RouteForm | None = None, policy_form: PolicyForm | None = None, status: int = 200):
    org_id = require_org_id()
    policy = routing.policy_of(org_id)
    routes = db.session.scalars(scoped(NotificationRoute).order_by(NotificationRoute.id)).all()
    channels = _channels()
    if policy_form is None:
        policy_form = PolicyForm(data={f: getattr(policy, f) for f in routing.POLICY_FIELDS} if policy else None)
    return render_page("notifications/routing.html", status=status, routes=routes, policy=policy,
                       route_form=route_form or RouteForm(channels=channels, sources=routing.source_choices()),
                       policy_form=policy_form, quiet_text=routing.describe(policy),
                       sources=dict(routing.source_choices()))


@bp.get("/routing")
@require("notifications.channels")
def routing_page():
    """The organization's routing rules, quiet hours and daily digest."""
    return _page()


@bp.post("/routing/routes")
@require("notifications.channels")
def route_add():
    """Add a routing rule: these domains at or above a severity go to a channel."""
    form = RouteForm(channels=_channels(), sources=routing.source_choices())
    if not form.validate_on_submit():
        return _page(route_form=form, status=INVALID_FORM_STATUS)
    channel = get_scoped_or_404(NotificationChannel, int(form.channel_id.data))
    routing.add_route(require_org_id(), channel, form.domains.data or [], form.min_severity.data,
                      is_enabled=bool(form.is_enabled.data))
    db.session.commit()
    flash("Routing rule added: channels without a rule now get nothing.", "success")
    return redirect_after_post("notifications.routing_page")


@bp.route("/routing/routes/<int:route_id>/edit", methods=["GET", "POST"])
@require("notifications.channels")
def route_edit(route_id: int):
    """Change a routing rule: its channel, domains, severity, or switch it off."""
    route = get_scoped_or_404(NotificationRoute, route_id)
    form = RouteForm(channels=_channels(), sources=_sources(route), obj=route)
    if form.validate_on_submit():
        channel = get_scoped_or_404(NotificationChannel, int(form.channel_id.data))
        changed = routing.save_route(route, channel, form.domains.data or [], form.min_severity.data,
                                     bool(form.is_enabled.data))
        db.session.commit()
        flash("Routing rule saved." if changed else "Nothing changed.", "success" if changed else "info")
        return redirect_after_post("notifications.routing_page")
    return render_page("notifications/route_form.html", status=INVALID_FORM_STATUS if form.errors else 200,
                       form=form, route=route)


def _sources(route: NotificationRoute) -> list[tuple[str, str]]:
    """The sources a route may take, plus any it already names that is no longer registered (so it can be removed)."""
    sources = routing.source_choices()
    known = {key for key, _ in sources}
    return [*sources, *((d, f"{d} (no longer a source)") for d in route.domains or [] if d not in known)]


@bp.post("/routing/routes/<int:route_id>/delete")
@require("notifications.channels")
def route_delete(route_id: int):
    """Remove a routing rule."""
    routing.delete_route(get_scoped_or_404(NotificationRoute, route_id))
    db.session.commit()
    flash("Routing rule removed.", "success")
    return redirect_after_post("notifications.routing_page")


@bp.post("/routing/policy")
@require("notifications.channels")
def policy_save():
    """Save the quiet hours and the daily digest settings."""
    form = PolicyForm()
    if not form.validate_on_submit():
        return _page(policy_form=form, status=INVALID_FORM_STATUS)
    if request.form.get("org_id"):
        abort(400)  # the organization is the one acted for, never a form field
    changed = routing.save_policy(require_org_id(), form.values())
    db.session.commit()
    flash("Quiet hours and digest saved." if changed else "Nothing changed.", "success" if changed else "info")
    return redirect_after_post("notifications.routing_page")
