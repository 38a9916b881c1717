"""Channel management (webhook and e-mail destinations) and the deliveries log. Admins only."""

from __future__ import annotations

from flask import abort, flash, request, session

from app.crypto import DecryptionError, decrypt_text, encrypt_text
from app.models import NotificationChannel, NotificationDelivery, db
from app.models.notifications import CHANNEL_KINDS, DELIVERY_STATUSES
from app.notifications import services
from app.notifications.blueprint import bp
from app.notifications.forms import FORMS, WebhookChannelForm, form_data
from app.pagination import page_arg
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

# A generated webhook secret rides to the next page sealed in the session, then is dropped.
REVEAL_KEY = "channel_secret_once"


@bp.get("/channels")
@require("notifications.channels")
def channels():
    """List the organization's notification channels, with a new secret shown once after saving."""
    rows = db.session.scalars(scoped(NotificationChannel).order_by(NotificationChannel.name,
                                                                  NotificationChannel.id)).all()
    revealed = _pop_revealed_secret()
    if revealed and revealed["channel_id"] not in {c.id for c in rows}:
        revealed = None  # not this organization's channel (a super admin switched meanwhile)
    return render_page("notifications/channels.html", block="channel_table", channels=rows,
                       revealed=revealed, kind_labels=services.KIND_LABELS,
                       severity_labels=services.SEVERITY_LABELS)


@bp.route("/channels/new", methods=["GET", "POST"])
@require("notifications.channels")
def channel_new():
    """Add a webhook or e-mail channel (the kind comes from ?kind=)."""
    kind = request.args.get("kind", "webhook")
    if kind not in CHANNEL_KINDS:
        abort(404)
    form = FORMS[kind]()
    if form.validate_on_submit():
        secrets_in = form.new_secrets()
        generated = None
        if isinstance(form, WebhookChannelForm) and form.wants_generated_secret():
            generated = secrets_in["secret"] = services.new_webhook_secret()
        channel = services.create_channel(require_org_id(), kind, name=form.name.data.strip(),
                                          min_severity=form.min_severity.data, settings=form.settings(),
                                          new_secrets=secrets_in)
        db.session.commit()
        _reveal_secret_once(channel, generated)
        flash(f"Channel '{channel.name}' was added.", "success")
        return redirect_after_post("notifications.channels")
    return _render_form(form, kind=kind, channel=None)


@bp.route("/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@require("notifications.channels")
def channel_edit(channel_id: int):
    """Change a channel's settings; blank secret fields keep the stored secrets."""
    channel = get_scoped_or_404(NotificationChannel, channel_id)
    form_class = FORMS[channel.kind]
    form = form_class(editing=True) if request.method == "POST" else form_class(data=form_data(channel), editing=True)
    if form.validate_on_submit():
        secrets_in = form.new_secrets()
        generated = None
        if isinstance(form, WebhookChannelForm) and form.wants_generated_secret():
            generated = secrets_in["secret"] = services.new_webhook_secret()
        changed = services.update_channel(channel, name=form.name.data.strip(), min_severity=form.min_severity.data,
                                          settings=form.settings(), new_secrets=secrets_in)
        db.session.commit()
        _reveal_secret_once(channel, generated)
        flash(f"Channel '{channel.name}' was saved." if changed else "Nothing changed.",
              "success" if changed else "info")
        return redirect_after_post("notifications.channels")
    return _render_form(form, kind=channel.kind, channel=channel)


@bp.post("/channels/<int:channel_id>/delete")
@require("notifications.channels")
def channel_delete(channel_id: int):
    """Delete a channel and its delivery history."""
    channel = get_scoped_or_404(NotificationChannel, channel_id)
    name = channel.name
    services.delete_channel(channel)
    db.session.commit()
    flash(f"Channel '{name}' was deleted.", "success")
    return redirect_after_post("notifications.channels")


@bp.post("/channels/<int:channel_id>/test")
@require("notifications.channels")
def channel_test(channel_id: int):
    """Send a test notification to the channel now and show whether it got through."""
    channel = get_scoped_or_404(NotificationChannel, channel_id)
    name = channel.name
    error = services.send_test(channel)
    db.session.commit()
    if error is None:
        flash(f"Test notification sent to '{name}'.", "success")
    else:
        flash(f"Test notification to '{name}' failed: {error}", "danger")
    return redirect_after_post("notifications.channels")


@bp.post("/channels/<int:channel_id>/enable")
@require("notifications.channels")
def channel_enable(channel_id: int):
    """Re-enable a disabled channel and reset its failure count."""
    channel = get_scoped_or_404(NotificationChannel, channel_id)
    if services.enable_channel(channel):
        db.session.commit()
        flash(f"Channel '{channel.name}' is enabled again.", "success")
    else:
        flash(f"Channel '{channel.name}' was already enabled.", "info")
    return redirect_after_post("notifications.channels")


@bp.get("/deliveries")
@require("notifications.channels")
def deliveries():
    """Recent deliveries of the organization: status, attempts and last error, paginated."""
    status = request.args.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        abort(400, "Unknown status filter.")
    channel_id = request.args.get("channel", type=int)
    channel = get_scoped_or_404(NotificationChannel, channel_id) if channel_id is not None else None
    stmt = services.filter_deliveries(scoped(NotificationDelivery), status=status, channel_id=channel_id)
    items = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False)
    return render_page("notifications/deliveries.html", block="deliveries_table", items=items, status_filter=status,
                       statuses=DELIVERY_STATUSES, channel=channel)


def _render_form(form, *, kind: str, channel: NotificationChannel | None):
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("notifications/channel_form.html", block="channel_form", status=status, form=form,
                       kind=kind, channel=channel, kinds=CHANNEL_KINDS, kind_labels=services.KIND_LABELS,
                       secrets_set={name: channel is not None and services.has_secret(channel, name)
                                    for name in ("secret", "smtp_password")})


def _reveal_secret_once(channel: NotificationChannel, secret: str | None) -> None:
    # Sealed, because Flask's session cookie is signed but readable.
    if secret:
        session[REVEAL_KEY] = {"channel_id": channel.id, "name": channel.name, "secret": encrypt_text(secret)}


def _pop_revealed_secret() -> dict | None:
    data = session.pop(REVEAL_KEY, None)
    if not data:
        return None
    try:
        return {**data, "secret": decrypt_text(data["secret"])}
    except (DecryptionError, KeyError, TypeError):
        return None
