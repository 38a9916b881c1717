"""The bell, the notification list and marking read."""

from __future__ import annotations

from flask import make_response
from flask_login import current_user

from app import htmx
from app.models import db
from app.notifications import services
from app.notifications.blueprint import bp
from app.pagination import page_arg
from app.permissions import require
from app.rendering import redirect_after_post, render_page


@bp.get("/")
@require("dashboard.view")
def index():
    """The signed-in user's notifications, newest first."""
    page = page_arg()
    items = db.paginate(services.for_user(current_user.id), page=page, per_page=30, error_out=False)
    return render_page("notifications/index.html", block="notification_list", items=items)


@bp.get("/bell")
@require("dashboard.view")
def bell():
    """The bell icon with the unread count (polled by the top bar)."""
    return render_page("notifications/_bell.html", unread=services.unread_count(current_user.id))


@bp.post("/<int:notification_id>/read")
@require("dashboard.view")
def mark_read(notification_id: int):
    """Mark one of the user's notifications read."""
    services.mark_read(current_user.id, notification_id)
    db.session.commit()
    return _after_change()


@bp.post("/read-all")
@require("dashboard.view")
def mark_all_read():
    """Mark all of the user's notifications read."""
    services.mark_read(current_user.id)
    db.session.commit()
    return _after_change()


def _after_change():
    if htmx.is_htmx():
        page = page_arg()
        items = db.paginate(services.for_user(current_user.id), page=page, per_page=30, error_out=False)
        html, status = render_page("notifications/index.html", block="notification_list", items=items)
        return htmx.hx_trigger(make_response(html, status), "notifications-changed")
    return redirect_after_post("notifications.index")
